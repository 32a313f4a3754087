import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Realm } from '../../src/realm';
import { adminFixture, type AdminFixture } from '../helpers/admin-runtime';

/**
 * A synced client whose process dies while downloaded changes wait for their commit
 * (`downloadCommitDelayMs`): the next session finds the file as it was before them, asks the
 * server again from that cursor, and ends with every object once, its own unsent change included.
 */

const Dog = { name: 'Dog', primaryKey: 'id', properties: { id: 'int', name: 'string' } };

let fx: AdminFixture;
beforeEach(async () => {
  fx = await adminFixture();
});
afterEach(async () => {
  await fx.dispose();
});

test('kill -9 with downloads waiting for their commit: reopened, the client downloads them again and converges', async () => {
  const realmPath = fx.userPath('dogs');
  const writer = fx.open(realmPath, [Dog]);
  writer.write(() => {
    for (let i = 1; i <= 50; i++) writer.create('Dog', { id: i, name: `first ${i}` });
  });
  await fx.upload(writer);
  const file = path.join(fx.dir, 'killed.db');
  const url = fx.realmUrl + realmPath;

  // The child downloads the first 50 and commits them (a local write commits what waits before
  // it), then downloads 50 more that wait for their commit, and dies.
  const child = `
    const { Realm } = require(${JSON.stringify(path.resolve(__dirname, '../../src/realm'))});
    const { User } = require(${JSON.stringify(path.resolve(__dirname, '../../src/client'))});
    (async () => {
      const user = User.adminUser(${JSON.stringify(fx.adminToken)}, ${JSON.stringify(fx.server.url)});
      const realm = new Realm({ schema: [${JSON.stringify(Dog)}], sync: { user, url: ${JSON.stringify(url)} }, path: ${JSON.stringify(file)}, downloadCommitDelayMs: 60000 });
      await realm.syncSession.downloadAllServerChanges(20000);
      realm.write(() => realm.create('Dog', { id: 1000, name: 'made by the child' }));
      realm.syncSession.pause();
      process.send('paused');
      process.on('message', async () => {
        realm.syncSession.resume();
        await realm.syncSession.downloadAllServerChanges(20000);
        process.send(String(realm.objects('Dog').length));
        process.kill(process.pid, 'SIGKILL');
      });
    })().catch((e) => { console.error(e); process.exit(1); });
  `;
  const proc = spawn(process.execPath, ['--import', 'tsx', '-e', child], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const messages: string[] = [];
  const next = () => new Promise<string>((resolve, reject) => {
    proc.once('message', (m) => resolve(String(m)));
    proc.once('exit', (code, signal) => reject(new Error(`child exited (${code ?? signal}) before answering`)));
  });
  messages.push(await next());
  // While the child is cut off, 50 more dogs reach the server.
  writer.write(() => {
    for (let i = 51; i <= 100; i++) writer.create('Dog', { id: i, name: `second ${i}` });
  });
  await fx.upload(writer);
  const seen = next();
  proc.send('go');
  messages.push(await seen);
  const exit = await new Promise<NodeJS.Signals | null>((resolve) => (proc.exitCode !== null || proc.signalCode !== null ? resolve(proc.signalCode) : proc.once('exit', (_c, s) => resolve(s))));
  expect({ messages, exit }).toEqual({ messages: ['paused', '101'], exit: 'SIGKILL' });

  // Reopened: the second 50 were not committed, and neither was their cursor.
  const again = new Realm({ schema: [Dog as never], path: file, sync: { user: fx.admin, url } });
  try {
    const ids = () => again.objects<{ id: number }>('Dog').map((d) => d.id);
    expect(ids().sort((a, b) => a - b)).toEqual([...Array.from({ length: 50 }, (_, i) => i + 1), 1000]);
    await again.syncSession!.downloadAllServerChanges(20_000);
    await again.syncSession!.uploadAllLocalChanges(20_000);
    expect(ids().sort((a, b) => a - b)).toEqual([...Array.from({ length: 100 }, (_, i) => i + 1), 1000]);
    await writer.syncSession!.downloadAllServerChanges(20_000);
    expect(writer.objectForPrimaryKey<{ name: string }>('Dog', 1000)?.name).toBe('made by the child');
  } finally {
    again.close();
  }
});
