import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { User } from '../../src/client';
import { FunctionLog, STATUS_FILE, STATUS_INTERVAL_MS, type FunctionInfo } from '../../src/functions';
import { Realm } from '../../src/realm';
import { Server, readAdminToken, silentLogger } from '../../src/server';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'tributary.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running `tributary` child. */
interface Child {
  readonly stdout: string;
  /** Resolves once stdout matches `pattern`; rejects when the child exits first or after `timeoutMs`. */
  output(pattern: RegExp, what: string, timeoutMs?: number): Promise<void>;
  /** Sends SIGTERM and waits for the exit. */
  stop(): Promise<Run>;
  readonly done: Promise<Run>;
}

/** Starts `tributary <args>` (no TRIBUTARY_* variables from this environment); killed after `timeoutMs`. */
function launch(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Child {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('TRIBUTARY_')) delete env[k];
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? os.tmpdir(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited = false;
  const watchers = new Set<() => void>();
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const w of [...watchers]) w();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve) =>
    child.once('exit', (code) => {
      exited = true;
      clearTimeout(killer);
      for (const w of [...watchers]) w();
      resolve({ code, stdout, stderr });
    }),
  );
  return {
    get stdout() {
      return stdout;
    },
    done,
    output(pattern, what, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what} from tributary ${args.join(' ')}\n${stdout}\n${stderr}`)), timeoutMs);
        const check = () => {
          if (pattern.test(stdout)) finish();
          else if (exited) finish(new Error(`tributary ${args.join(' ')} exited before ${what}\n${stdout}\n${stderr}`));
        };
        const finish = (error?: Error) => {
          clearTimeout(timer);
          watchers.delete(check);
          if (error) reject(error);
          else resolve();
        };
        watchers.add(check);
        check();
      });
    },
    stop() {
      if (!exited) child.kill('SIGTERM');
      return done;
    },
  };
}

/** Runs `tributary <args>` to its end; with `until`, sends SIGTERM once stdout matches it. */
async function tributary(args: string[], options: { cwd?: string; until?: RegExp; timeoutMs?: number } = {}): Promise<Run> {
  const child = launch(args, options);
  if (options.until) {
    await child.output(options.until, String(options.until), options.timeoutMs ?? 30_000);
    return child.stop();
  }
  const run = await child.done;
  if (run.code === null) throw new Error(`tributary ${args.join(' ')} did not finish\n${run.stdout}\n${run.stderr}`);
  return run;
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

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('while the runtime runs, functions list shows its calls within a second of them, and syntax errors with their position', async () => {
  const dataPath = path.join(work, 'status-data');
  const server = new Server({ dataPath, port: 0, address: '127.0.0.1', logger: silentLogger });
  await server.start();
  const dir = path.join(work, 'status-fns');
  const logs = path.join(work, 'status-logs');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'counter.js'), "module.exports = { pathRegex: '/counted$', onchange(e) { console.log('call', e.realm.objects('Item').length); } };");
  fs.writeFileSync(path.join(dir, 'broken.js'), 'module.exports = {\n  onchange(e) {\n    return (\n  }\n};\n');
  const badTs = 'export default { onchange(e: unknown) { const n: number = ; } };';
  fs.writeFileSync(path.join(dir, 'broken-types.ts'), `const ok: number = 1;\n${badTs}\n`);
  const runtime = launch(['functions', dir, '--server', server.url, '--admin-token-file', path.join(dataPath, 'keys', 'admin.json'), '--logs', logs, '--listener-dir', path.join(work, 'status-listener')], { timeoutMs: 90_000 });
  let user: User | undefined;
  let realm: Realm | undefined;
  try {
    await runtime.output(/"msg":"functions runtime started"/, 'the runtime to start', 30_000);
    const failures = runtime.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.msg === 'function failed to load');
    const tsColumn = badTs.indexOf('= ;') + 3;
    expect(failures.sort((a, b) => String(a.function).localeCompare(String(b.function)))).toEqual([
      expect.objectContaining({ level: 'error', function: 'broken', error: "broken.js:4:3: SyntaxError: Unexpected token '}'", position: 'broken.js:4:3', sourceLine: '  }' }),
      expect.objectContaining({ level: 'error', function: 'broken-types', error: `broken-types.ts:2:${tsColumn}: TypeScript: Unexpected ";"`, position: `broken-types.ts:2:${tsColumn}`, sourceLine: badTs }),
    ]);

    const statusFile = path.join(logs, STATUS_FILE);
    const counterLog = path.join(logs, 'counter.log');
    const callLines = () => (fs.existsSync(counterLog) ? fs.readFileSync(counterLog, 'utf8').split('\n').filter((l) => / log +call /.test(l)) : []);
    /** The first status that accounts for every call logged so far, all of them finished. */
    const settled = (atLeast: number) =>
      waitFor(`functions.json to count ${atLeast}+ finished calls of counter`, () => {
        if (!fs.existsSync(statusFile)) return false;
        const status = JSON.parse(fs.readFileSync(statusFile, 'utf8')) as { state: string; updatedAt: string; functions: FunctionInfo[] };
        const counts = status.functions.find((f) => f.name === 'counter')?.counts;
        const calls = callLines();
        return counts && counts.calls >= atLeast && counts.calls === calls.length && counts.running === 0 ? { status, lastCall: calls[calls.length - 1]! } : false;
      });

    user = await User.register(server.url, 'counting', 'secret', { connection: { backoff: { initialMs: 20, maxMs: 200 } } });
    realm = await Realm.open({ schema: [{ name: 'Item', properties: { n: 'int' } }], sync: { user, url: `realm://127.0.0.1:${server.port}/~/counted` }, path: path.join(work, 'counting.db') } as any);
    for (const round of [1, 2]) {
      realm.write(() => realm!.create('Item', { n: round }));
      await waitFor(`the call that sees item ${round}`, () => callLines().some((l) => l.endsWith(`call ${round}`)));
      const { status, lastCall } = await settled(round);
      expect(status.state).toBe('running');
      // Written when the call ended or at most one interval after the previous write; the rest is
      // timer lateness on a busy machine.
      expect(Date.parse(status.updatedAt) - Date.parse(lastCall.split(' ')[0]!)).toBeLessThan(STATUS_INTERVAL_MS + 1500);
    }

    const calls = callLines().length;
    const listed = await tributary(['functions', 'list', '--logs', logs, '--json']);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const functions = JSON.parse(listed.stdout) as FunctionInfo[];
    expect(functions.find((f) => f.name === 'counter')).toMatchObject({ status: 'loaded', counts: { calls, errors: 0, running: 0 } });
    expect(functions.find((f) => f.name === 'broken')).toMatchObject({
      status: 'failed',
      lastError: { during: 'load', message: "broken.js:4:3: SyntaxError: Unexpected token '}'", location: { file: 'broken.js', line: 4, column: 3, lineText: '  }' } },
    });
    expect(functions.find((f) => f.name === 'broken-types')).toMatchObject({ status: 'failed', lastError: { location: { file: 'broken-types.ts', line: 2, column: tsColumn, lineText: badTs } } });
    const table = await tributary(['functions', 'list', '--logs', logs]);
    expect(table.stdout).toMatch(new RegExp(`\\ncounter +loaded +change +${calls} +0 +0 +- `));
    expect(table.stdout).toMatch(/\nbroken +failed +- +0 +0 +0 +\S+Z broken\.js:4:3: SyntaxError: Unexpected token '\}' /);
    expect(table.stdout).toMatch(/\(runtime pid \d+, status of /);
  } finally {
    realm?.close();
    user?.logout();
    const run = await runtime.stop();
    await server.stop();
    expect(run.code).toBe(0);
  }
  expect(JSON.parse(fs.readFileSync(path.join(logs, STATUS_FILE), 'utf8'))).toMatchObject({ state: 'stopped' });
});

test('functions logs --follow prints the lines written after it started', async () => {
  const logs = path.join(work, 'follow-logs');
  const log = new FunctionLog(logs, 'chatty');
  log.write('log', 'before');
  const child = launch(['functions', 'logs', 'chatty', '--logs', logs, '--lines', '1', '--follow']);
  try {
    // The command takes the file's size once: the last lines end there and following starts
    // there, so whatever is appended after that (even before `before` reaches us) is printed
    // once, by following.
    await child.output(/log +before\n/, 'the last line');
    log.write('log', 'after 1');
    log.write('log', 'after 2');
    await child.output(/log +after 2\n/, 'the followed lines');
  } finally {
    log.close();
  }
  const run = await child.stop();
  expect(run).toMatchObject({ code: 0, stderr: '' });
  expect(run.stdout).toMatch(/^\S+Z log +before\n\S+Z log +after 1\n\S+Z log +after 2\n$/);
});
