import { describeConformance } from './conformance';
import { mongodbDriver, mongoTargetName } from './drivers/mongodb';

// eslint-disable-next-line no-console
console.log(`mongodb connector conformance against ${mongoTargetName}`);
describeConformance(mongodbDriver);
