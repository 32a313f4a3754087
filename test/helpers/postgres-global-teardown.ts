import { stopTestCluster, type TestCluster } from './postgres-cluster';

export default async function postgresGlobalTeardown(): Promise<void> {
  const g = globalThis as { __tributaryPgCluster?: TestCluster };
  const cluster = g.__tributaryPgCluster;
  if (!cluster) return;
  g.__tributaryPgCluster = undefined;
  stopTestCluster(cluster);
}
