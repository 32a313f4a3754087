import type { OfflineScenario } from './offline';
import { shareDbOffline } from './offline-sharedb';
import { tributaryOffline } from './offline-tributary';
import { yjsOffline } from './offline-yjs';
import { loginContext, type Identity } from './tributary';
import type { SystemName } from './types';

/**
 * The two merging clients of the offline-merge phase (A online, B offline), in a child process
 * of their own, so the benchmark can time out and kill a merge that blocks its event loop.
 * Messages: → `{prepared: {offlineWriteMs, serverWriteMs}}`; ← `'reconnect'`;
 * → `{converged: {equal}}` or `{failed: message}`.
 */
export interface OfflineClientsConfig {
  system: SystemName;
  port: number;
  objects: number;
  changes: number;
  /** Tributary: users A and B (B has write access to A's realm) and where replicas go. */
  identities?: Identity[];
  clientDir?: string;
}

async function scenarioFor(config: OfflineClientsConfig): Promise<OfflineScenario> {
  switch (config.system) {
    case 'tributary':
      return tributaryOffline(await loginContext(config.port, config.identities!, config.identities![0]!.identity, config.clientDir!));
    case 'yjs':
      return yjsOffline(config.port);
    case 'sharedb':
      return shareDbOffline(config.port);
    default:
      throw new Error(`no offline scenario for ${config.system}`);
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.OFFLINE_CLIENTS_CONFIG ?? '{}') as OfflineClientsConfig;
  const scenario = await scenarioFor(config);
  const prepared = await scenario.prepare(config.objects, config.changes);
  const reconnect = new Promise<void>((resolve) => process.on('message', (m) => m === 'reconnect' && resolve()));
  process.send!({ prepared });
  await reconnect;
  await scenario.reconnect();
  const equal = scenario.equal();
  await new Promise<void>((resolve) => process.send!({ converged: { equal } }, () => resolve()));
  await scenario.close();
  process.exit(0);
}

main().catch((e) => {
  process.send?.({ failed: (e as Error).stack ?? String(e) }, () => process.exit(1));
});
