import { sleep } from './pool';
import { openRawClient } from './raw';
import { openShareDbClient } from './sharedb';
import { loginContext, openTributaryClient, type Identity } from './tributary';
import type { PeerClient, SystemName } from './types';
import { openYjsClient } from './yjs';

/**
 * The bystander of the offline-merge phase, in a child process of its own (so a stall it sees is
 * the server's, not the event loop it would share with the merging clients). It opens its own
 * room and makes round trips back to back (one change, wait for the server's acknowledgement,
 * 5 ms pause) until told to stop, then sends every sample: [start time (epoch ms), round trip ms]
 * and exits.
 */
export interface BystanderConfig {
  system: SystemName;
  port: number;
  /** Tributary: the bystander's own user and a directory for its replica. */
  identity?: Identity;
  clientDir?: string;
}

async function openClient(config: BystanderConfig): Promise<PeerClient> {
  const options = { user: 0, shared: false };
  switch (config.system) {
    case 'tributary':
      return openTributaryClient(await loginContext(config.port, [config.identity!], config.identity!.identity, config.clientDir!), 'bystander', options);
    case 'sharedb':
      return openShareDbClient(config.port, 'bystander', options);
    case 'yjs':
      return openYjsClient(config.port, 'bystander', options);
    case 'raw ws':
      return openRawClient(config.port, 'bystander', options);
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.BYSTANDER_CONFIG ?? '{}') as BystanderConfig;
  const client = await openClient(config);
  const samples: Array<[number, number]> = [];
  let openSince: number | undefined;
  process.on('message', (m) => {
    if (m !== 'stop') return;
    // A round trip still open counts with the time it has taken so far (a lower bound).
    if (openSince !== undefined) samples.push([performance.timeOrigin + openSince, performance.now() - openSince]);
    process.send!({ samples }, () => process.exit(0));
  });
  process.send!('ready');
  for (let k = 0; ; k++) {
    openSince = performance.now();
    client.write(`b${k}`, openSince);
    await client.whenUnackedBelow(1);
    samples.push([performance.timeOrigin + openSince, performance.now() - openSince]);
    openSince = undefined;
    await sleep(5);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
