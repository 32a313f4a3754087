import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FunctionLog } from '../../src/functions';
import { Server, readAdminToken, silentLogger } from '../../src/server';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'tributary.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tributary <args>`; with `until`, sends SIGTERM once stdout matches it. */
function tributary(args: string[], options: { cwd?: string; until?: RegExp; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('TRIBUTARY_')) delete env[k];
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? os.tmpdir(), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tributary ${args.join(' ')} did not finish\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (options.until?.test(stdout)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-cli-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('--help of every command exits 0 and lists its options', async () => {
  const cases: [string[], string[]][] = [
    [['--help'], ['serve', 'start', 'token', 'functions']],
    [['serve', '--help'], ['--data-path', '--port', '--address', '--log-level', 'TRIBUTARY_PORT']],
    [['start', '--help'], ['--port', '--data-path', '--functions-dir', '--functions', '--logs', '--listener-dir', '--timeout', 'TRIBUTARY_FUNCTIONS_DIR']],
    [['token', '--help'], ['--data']],
    [['functions', '--help'], ['functions logs <name>', 'functions list [dir]', '--server', '--admin-token', '--admin-token-file', '--logs', '--listener-dir', '--timeout']],
    [['functions', 'run', '--help'], ['--server', '--admin-token-file', '--timeout', 'dir']],
    [['functions', 'logs', '--help'], ['--follow', '--lines', '--logs', 'name']],
    [['functions', 'list', '--help'], ['--logs', '--json', 'dir']],
  ];
  const runs = await Promise.all(cases.map(([args]) => tributary(args)));
  runs.forEach((run, i) => {
    const [args, expected] = cases[i]!;
    expect({ args, code: run.code, stderr: run.stderr }).toEqual({ args, code: 0, stderr: '' });
    for (const word of expected) expect({ args, has: word, ok: run.stdout.includes(word) }).toEqual({ args, has: word, ok: true });
  });
  // Options of `functions run` are not offered by `functions logs`.
  expect(runs[6]!.stdout).not.toContain('--server');
});

test('bad input exits non-zero with one line', async () => {
  const emptyData = path.join(work, 'empty-data');
  fs.mkdirSync(emptyData);
  const cases: [string[], RegExp][] = [
    [['bogus'], /Unknown argument: bogus/],
    [[], /name a command/],
    [['serve', '--port', 'abc'], /option port .*expected an integer, got "abc"/],
    [['serve', '--log-level', 'loud'], /Invalid values/],
    [['start', '--functions', path.join(work, 'nope'), '--port', '0', '--data', path.join(work, 'd1')], /functions folder .*nope does not exist/],
    [['token', '--data', emptyData], /admin token file .*not found/],
    [['functions', path.join(work, 'nope')], /functions folder .*nope does not exist/],
    [['functions', work, '--timeout', 'soon'], /functionTimeout .*expected a positive duration/],
    [['functions', work, '--admin-token-file', path.join(work, 'none.json')], /admin token file .*none\.json not found/],
    [['functions', 'logs'], /Not enough non-option arguments/],
    [['functions', 'logs', 'ghost', '--logs', work], /no log for function 'ghost'/],
    [['functions', 'logs', 'x', '--lines', 'many', '--logs', work], /--lines must be a whole number/],
    [['functions', 'list', path.join(work, 'nope'), '--logs', path.join(work, 'no-logs')], /functions folder .*nope does not exist/],
  ];
  const runs = await Promise.all(cases.map(([args]) => tributary(args)));
  runs.forEach((run, i) => {
    const [args, reason] = cases[i]!;
    const lines = run.stderr.split('\n').filter((l) => l !== '');
    expect({ args, code: run.code, lines: lines.length }).toEqual({ args, code: 1, lines: 1 });
    expect(lines[0]).toMatch(/^tributary: /);
    expect(lines[0]).toMatch(reason);
  });
});

test('tributary token prints the admin token; functions runs against the server and functions logs/list show its work', async () => {
  const dataPath = path.join(work, 'data');
  const server = new Server({ dataPath, port: 0, address: '127.0.0.1', logger: silentLogger });
  await server.start();
  try {
    const token = await tributary(['token', '--data', dataPath]);
    expect(token).toEqual({ code: 0, stdout: readAdminToken(dataPath) + '\n', stderr: '' });

    const dir = path.join(work, 'fns');
    const logs = path.join(work, 'logs');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'hello.js'), "console.log('hello from load'); module.exports = { onavailable(p) { console.log('available', p); } };");
    fs.writeFileSync(path.join(dir, 'typed.ts'), 'const n: number = 1;\nexport default { pathRegex: /^\\/nothing$/, onchange(): void { console.log(n); } };');
    const run = await tributary(['functions', dir, '--server', server.url, '--admin-token-file', path.join(dataPath, 'keys', 'admin.json'), '--logs', logs, '--listener-dir', path.join(work, 'listener'), '--timeout', '2s'], {
      until: /"msg":"functions runtime started"/,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const msgs = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; function?: string });
    expect(msgs.filter((m) => m.msg === 'function loaded').map((m) => m.function).sort()).toEqual(['hello', 'typed']);
    expect(msgs.map((m) => m.msg)).toContain('functions runtime stopped');

    const helloLog = await tributary(['functions', 'logs', 'hello', '--logs', logs]);
    expect(helloLog.code).toBe(0);
    expect(helloLog.stdout).toMatch(/^\S+Z log +hello from load\n\S+Z runtime +loaded \(events: available; pathRegex: \/\^\\\/\(\?!__\)\/\)\n/);
    const last = await tributary(['functions', 'logs', 'hello', '--logs', logs, '--lines', '1']);
    expect(last.stdout.trim().split('\n')).toHaveLength(1);
    expect(last.stdout).toMatch(/runtime +stopped with the runtime\n$/);

    const list = await tributary(['functions', 'list', '--logs', logs, '--json']);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { name: string; status: string }[]).map((f) => `${f.name}:${f.status}`)).toEqual(['hello:loaded', 'typed:loaded']);
    const table = await tributary(['functions', 'list', '--logs', logs]);
    expect(table.stdout).toMatch(/^NAME +STATUS +EVENTS/);
    expect(table.stdout).toContain('runtime not running');
  } finally {
    await server.stop();
  }
});

test('functions logs --follow prints lines as they are written', async () => {
  const logs = path.join(work, 'follow-logs');
  const log = new FunctionLog(logs, 'chatty');
  log.write('log', 'before');
  const child = tributary(['functions', 'logs', 'chatty', '--logs', logs, '--follow'], { until: /after 2/ });
  await new Promise((r) => setTimeout(r, 1500));
  log.write('log', 'after 1');
  log.write('log', 'after 2');
  const run = await child;
  log.close();
  expect(run.stdout).toMatch(/log +before\n.*log +after 1\n.*log +after 2\n/);
});
