import { describeConformance } from './conformance';
import { MSSQL_TARGET, mssqlDriver } from './drivers/mssql';

// eslint-disable-next-line no-console
console.log(`SQL Server connector conformance against ${MSSQL_TARGET}`);
describeConformance(mssqlDriver);
