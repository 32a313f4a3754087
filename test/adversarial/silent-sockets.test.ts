import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { User } from '../../src/client';
import { Realm } from '../../src/realm';

// 1,100 TCP connections that never say anything, against a server allowed 400 file descriptors:
// before, they used up its descriptors until Node's header time-out (a minute), and real clients
// could not connect. Now at most maxPendingHandshakes wait (the oldest is closed), so a real client
// still registers, opens a realm and syncs within seconds while the silent sockets keep coming.

const REPO = path.resolve(__dirname, '..', '..');
const bash = fs.existsSync('/bin/bash') ? '/bin/bash' : null;
const maybe = bash ? test : test.skip;
if (!bash) console.log('silent-sockets: skipped, no /bin/bash to lower the descriptor limit with ulimit');

let child: ChildProcess | null = null;
let dataPath: string;
const silent: net.Socket[] = [];

afterEach(async () => {
  for (const s of silent.splice(0)) s.destroy();
  for (const u of Object.values(User.all)) u.logout();
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
  }
  fs.rmSync(dataPath, { recursive: true, force: true });
});

maybe('a real client connects and syncs while 1,100 silent sockets press on a 400-descriptor server', async () => {
  dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-silent-'));
  const args = ['--import', 'tsx', path.join(REPO, 'src/cli/main.ts'), 'serve', '--port', '0', '--address', '127.0.0.1', '--data', dataPath, '--max-pending-handshakes', '128', '--handshake-timeout', '60'];
  child = spawn(bash!, ['-c', 'ulimit -n 400 && exec "$0" "$@"', process.execPath, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child!.stdout! }).on('line', (line) => {
      try {
        const rec = JSON.parse(line) as { msg?: string; port?: number };
        if (rec.msg === 'listening' && rec.port) resolve(rec.port);
      } catch {
        // not a log record
      }
    });
    child!.once('exit', (code) => reject(new Error(`server exited with ${code}\n${stderr}`)));
  });

  // The silent crowd: connect and say nothing.
  await Promise.all(
    Array.from(
      { length: 1100 },
      () =>
        new Promise<void>((resolve) => {
          const s = net.connect(port, '127.0.0.1');
          s.on('error', () => undefined);
          s.once('connect', () => resolve());
          s.once('close', () => resolve());
          silent.push(s);
        }),
    ),
  );

  const started = Date.now();
  const user = await User.register(`http://127.0.0.1:${port}`, 'patient', 'pw-patient-1', { connection: { backoff: { initialMs: 50, maxMs: 500 } } });
  const realm = await Realm.open({
    schema: [{ name: 'Note', primaryKey: 'id', properties: { id: 'int', text: 'string' } }],
    sync: { user, url: `realm://127.0.0.1:${port}/~/notes` },
    path: path.join(dataPath, 'client.db'),
  } as never);
  realm.write(() => realm.create('Note', { id: 1, text: 'through the crowd' }));
  await realm.syncSession!.uploadAllLocalChanges(20_000);
  realm.close();
  expect(Date.now() - started).toBeLessThan(20_000);
  const health = await fetch(`http://127.0.0.1:${port}/health`);
  expect(health.status).toBe(200);
  expect(child.exitCode).toBeNull();
}, 60_000);
