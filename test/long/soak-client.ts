import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { canonicalState } from '../../src/changeset';
import { User } from '../../src/client';
import { Realm } from '../../src/realm';

/**
 * One soak client process (test/long/soak.ts starts three): writes to a shared realm for a while,
 * querying as it goes, then uploads, waits for the parent's "settle" line, downloads everything and
 * prints a digest of its replica. Usage: soak-client <server url> <admin token> <dir> <index> <seconds>
 */
export const SOAK_SCHEMA = [
  { name: 'Item', primaryKey: 'id', properties: { id: 'string', writer: 'int', n: 'int', label: 'string', tags: 'string[]' } },
  { name: 'Counter', primaryKey: 'id', properties: { id: 'string', total: 'int' } },
];

async function main(): Promise<void> {
  const [url, token, dir, indexText, secondsText] = process.argv.slice(2);
  const index = Number(indexText);
  const deadline = Date.now() + Number(secondsText) * 1000;
  const user = User.adminUser(token!, url!, { connection: { backoff: { initialMs: 50, maxMs: 1000 } } });
  const realm = new Realm({
    schema: SOAK_SCHEMA as never,
    sync: { user, url: url!.replace(/^http/, 'realm') + '/soak/shared' },
    path: path.join(dir!, `client-${index}.db`),
  });
  let writes = 0;
  let increments = 0;
  let queried = 0;
  const lines = createInterface({ input: process.stdin });
  const settle = new Promise<void>((resolve) => lines.on('line', (l) => l.trim() === 'settle' && resolve()));

  while (Date.now() < deadline) {
    const n = writes++;
    realm.write(() => {
      realm.create('Item', { id: `${index}-${n}`, writer: index, n, label: `item ${n}`, tags: [`w${index}`] });
      // Each writer creates only its own counter (concurrent creates of one key would be
      // last-writer-wins and drop increments by design) and increments every counter it has seen.
      if (n === 0) realm.create('Counter', { id: `c${index}`, total: 0 });
      for (const counter of realm.objects<any>('Counter')) {
        realm.increment(counter, 'total', 1);
        increments++;
      }
      // Edit an older item of any writer, so concurrent changes to the same objects merge.
      const older = realm.objectForPrimaryKey<any>('Item', `${(index + n) % 3}-${Math.floor(n / 2)}`);
      if (older) {
        older.label = `edited by ${index} at ${n}`;
        older.tags.push(`e${index}`);
        if (older.tags.length > 4) older.tags.splice(0, 1);
      }
    });
    if (n % 25 === 0) {
      // Fresh query text each time: statements and iterators come and go under ordinary GC.
      for (const item of realm.objects<any>('Item').filtered(`writer == $0 AND n > ${n - 40}`, index).sorted('n')) queried += item.n >= 0 ? 1 : 0;
    }
    // A short wait between writes, yielding so the session uploads and downloads in between.
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  }
  await realm.syncSession!.uploadAllLocalChanges(60_000);
  process.stdout.write(JSON.stringify({ phase: 'uploaded', index, writes }) + '\n');
  await settle;
  await realm.syncSession!.downloadAllServerChanges(60_000);
  const digest = createHash('sha256').update(JSON.stringify(canonicalState((realm as any)._replica))).digest('hex');
  const total = realm.objects<any>('Counter').reduce((sum: number, c: any) => sum + c.total, 0);
  const items = realm.objects('Item').length;
  realm.close();
  user.logout();
  process.stdout.write(JSON.stringify({ phase: 'done', index, writes, increments, queried, items, total, digest, node: process.versions.node }) + '\n');
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`soak client failed: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
