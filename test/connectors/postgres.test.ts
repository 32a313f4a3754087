import { describeConformance } from './conformance';
import { postgresDriver } from './drivers/postgres';

describeConformance(postgresDriver);
