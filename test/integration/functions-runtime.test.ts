import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FunctionLoadError, FunctionLog, FunctionsRuntime, STATUS_INTERVAL_MS, functionsOptionsMarkdownTable, lastLines, loadFunctionFile, parseMilliseconds, resolveFunctionsOptions, type FunctionInfo, type NotifierLike } from '../../src/functions';
import { JsonLogger } from '../../src/shared/logger';

const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'functions');

type Listener = { regex: RegExp; event: string; handler: (arg: any) => unknown };

/** Stands in for src/notifier: same contract (per call, waits for every matching handler). */
class FakeNotifier implements NotifierLike {
  listeners: Listener[] = [];
  closed = false;
  async addListener(regex: RegExp | string, event: any, handler: (arg: any) => unknown): Promise<void> {
    this.listeners.push({ regex: typeof regex === 'string' ? new RegExp(regex) : regex, event, handler });
  }
  async removeListener(regex: RegExp | string, event: any, handler: (arg: any) => unknown): Promise<void> {
    this.listeners = this.listeners.filter((l) => !(l.event === event && l.handler === handler && String(l.regex) === String(regex)));
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  async deliver(event: string, realmPath: string, arg?: unknown): Promise<void> {
    const matching = this.listeners.filter((l) => l.event === event && l.regex.test(realmPath));
    await Promise.all(matching.map((l) => l.handler(arg ?? realmPath)));
  }
}

const tmpDirs: string[] = [];
function tmp(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

function quietConsole(): Console {
  return new FunctionLog(tmp('trib-fn-log-'), 'x').console();
}

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('function files', () => {
  test('an object export with handlers, name, regex string and timeout', () => {
    const def = loadFunctionFile(path.join(FIXTURES, 'object-export.js'), { console: quietConsole() });
    expect(def.name).toBe('object-example');
    expect(def.pathRegex.test('/abc/orders')).toBe(true);
    expect(def.pathRegex.test('/abc/private')).toBe(false);
    expect(Object.keys(def.handlers).sort()).toEqual(['available', 'change', 'delete']);
    expect(def.timeoutMs).toBe(1234);
  });

  test('a bare function is the change handler (ROS 1.x Realm Functions), regex from its property or all non-system realms', () => {
    const bare = loadFunctionFile(path.join(FIXTURES, 'bare-function.js'), { console: quietConsole() });
    expect(bare.name).toBe('bare-function');
    expect(Object.keys(bare.handlers)).toEqual(['change']);
    expect(bare.pathRegex.test('/0123abcd/realmtasks')).toBe(true);
    expect(bare.pathRegex.test('/0123abcd/other')).toBe(false);

    const dir = tmp('trib-fn-');
    fs.writeFileSync(path.join(dir, 'anything.js'), 'module.exports = function (event) {};');
    const all = loadFunctionFile(path.join(dir, 'anything.js'), { console: quietConsole() });
    expect(all.pathRegex.test('/u/x')).toBe(true);
    expect(all.pathRegex.test('/__admin')).toBe(false);
  });

  test('TypeScript files are transpiled (types, export default, import of tributary)', async () => {
    const def = loadFunctionFile(path.join(FIXTURES, 'typed.ts'), { console: quietConsole(), modules: { tributary: () => require('../../src') } });
    expect(def.name).toBe('typed');
    expect(def.pathRegex.source).toBe('^\\/shop\\/');
    await expect(Promise.resolve(def.handlers.available!.call(def.receiver, '/shop/x'))).resolves.toBe('function:/shop/x');
  });

  test('bad files fail with a reason', () => {
    const dir = tmp('trib-fn-bad-');
    const cases: [string, string, RegExp][] = [
      ['syntax.js', 'module.exports = { onchange(e) { return ( } };', /SyntaxError|Unexpected/],
      ['nothing.js', 'module.exports = 42;', /exports nothing usable/],
      ['nohandler.js', 'module.exports = { pathRegex: /x/ };', /no handler/],
      ['regex.js', "module.exports = { pathRegex: '(', onchange() {} };", /not a valid regular expression/],
      ['throws.js', "throw new Error('boom at load');", /evaluating the file threw: Error: boom at load/],
      ['name.js', "module.exports = { name: '../etc', onchange() {} };", /name must be/],
      ['types.ts', 'const x: number = ;\nexport default { onchange() {} };', /^types\.ts:1:19: TypeScript: Unexpected ";"\n/],
      ['timeout.js', 'module.exports = { timeoutMs: -1, onchange() {} };', /timeoutMs must be/],
    ];
    for (const [file, text, reason] of cases) {
      fs.writeFileSync(path.join(dir, file), text);
      expect(() => loadFunctionFile(path.join(dir, file), { console: quietConsole() })).toThrow(reason);
    }
  });

  test('syntax errors name the file, line and column, and show the source line with a caret', () => {
    const dir = tmp('trib-fn-syntax-');
    fs.mkdirSync(path.join(dir, 'lib'));
    const cases: [string, string, string, { line: number; column: number; lineText: string }][] = [
      ['broken.js', 'module.exports = {\n  onchange(e) {\n    return (\n  }\n};\n', "broken.js:4:3: SyntaxError: Unexpected token '}'", { line: 4, column: 3, lineText: '  }' }],
      ['tabs.cjs', '#!/usr/bin/env node\nmodule.exports = {\n\tonchange(e) { let let = 1; },\n};\n', "tabs.cjs:3:20: SyntaxError: let is disallowed as a lexically bound name", { line: 3, column: 20, lineText: '\tonchange(e) { let let = 1; },' }],
      ['typed.ts', 'const price: number = 1;\nconst label = "é€"; const x: number = ;\nexport default { onchange() {} };\n', 'typed.ts:2:39: TypeScript: Unexpected ";"', { line: 2, column: 39, lineText: 'const label = "é€"; const x: number = ;' }],
      ['uses-helper.js', "require('./lib/helper'); module.exports = { onchange() {} };", "lib/helper.js:1:13: SyntaxError: Unexpected end of input", { line: 1, column: 13, lineText: 'exports.x = ' }],
    ];
    fs.writeFileSync(path.join(dir, 'lib', 'helper.js'), 'exports.x = ');
    for (const [file, text, headline, where] of cases) {
      fs.writeFileSync(path.join(dir, file), text);
      let error: unknown;
      try {
        loadFunctionFile(path.join(dir, file), { console: quietConsole(), functionsDir: dir });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(FunctionLoadError);
      const { message, location } = error as FunctionLoadError;
      const caret = where.lineText.slice(0, where.column - 1).replace(/[^\t]/g, ' ') + '^';
      expect({ file, message, location }).toEqual({ file, message: `${headline}\n${where.lineText}\n${caret}`, location: { file: headline.split(':')[0], ...where } });
    }
  });

  test('each load reads the current text of the file and of helpers in the folder', () => {
    const dir = tmp('trib-fn-helper-');
    fs.writeFileSync(path.join(dir, '_helper.js'), 'module.exports = 1;');
    fs.writeFileSync(path.join(dir, 'f.js'), "const h = require('./_helper'); module.exports = { onchange() { return h; } };");
    const first = loadFunctionFile(path.join(dir, 'f.js'), { console: quietConsole() });
    expect(first.handlers.change!({})).toBe(1);
    fs.writeFileSync(path.join(dir, '_helper.js'), 'module.exports = 2;');
    const second = loadFunctionFile(path.join(dir, 'f.js'), { console: quietConsole() });
    expect(second.handlers.change!({})).toBe(2);
    expect(first.handlers.change!({})).toBe(1);
  });
});

describe('function logs', () => {
  test('console output of a function goes to its own file with timestamps, and to the tap', () => {
    const dir = tmp('trib-fn-logs-');
    const tapped: string[] = [];
    const log = new FunctionLog(dir, 'fn', (level, text) => tapped.push(`${level}:${text}`));
    const c = log.console();
    c.log('hello %s', 'world', { a: 1 });
    c.error(new Error('bad thing'));
    c.warn('two\nlines');
    log.close();
    const lines = fs.readFileSync(path.join(dir, 'fn.log'), 'utf8').trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z log +hello world \{ a: 1 \}$/);
    expect(lines[1]).toMatch(/ error +Error: bad thing$/);
    expect(lines.some((l) => /^  at /.test(l.trimStart()) || l.startsWith('      at '))).toBe(true);
    expect(tapped[0]).toBe('log:hello world { a: 1 }');
    expect(tapped[2]).toBe('warn:two\n  lines');
    expect(lastLines(path.join(dir, 'fn.log'), 2)).toEqual(lines.slice(-2));
  });

  test('a log is rotated past its size limit', () => {
    const dir = tmp('trib-fn-rot-');
    const log = new FunctionLog(dir, 'big', undefined, 200);
    for (let i = 0; i < 10; i++) log.write('log', `line ${i} ${'x'.repeat(40)}`);
    log.close();
    expect(fs.existsSync(path.join(dir, 'big.log.1'))).toBe(true);
    expect(fs.statSync(path.join(dir, 'big.log')).size).toBeLessThanOrEqual(200);
    expect(lastLines(path.join(dir, 'big.log'), 1)[0]).toContain('line 9');
  });
});

describe('options', () => {
  test('docs/functions.md has the current options table', () => {
    const doc = fs.readFileSync(path.resolve(__dirname, '..', '..', 'docs', 'functions.md'), 'utf8');
    const between = /<!-- options:begin[^>]*-->\n([\s\S]*?)\n<!-- options:end -->/.exec(doc);
    expect(between?.[1]).toBe(functionsOptionsMarkdownTable());
  });

  test('defaults, environment and flags; durations in ms', () => {
    expect(resolveFunctionsOptions().functionTimeout).toBe(30_000);
    expect(resolveFunctionsOptions({}, { TRIBUTARY_FUNCTION_TIMEOUT: '2s' }).functionTimeout).toBe(2000);
    expect(resolveFunctionsOptions({ functionTimeout: '250ms' }, { TRIBUTARY_FUNCTION_TIMEOUT: '2s' }).functionTimeout).toBe(250);
    expect(parseMilliseconds('1.5m')).toBe(90_000);
    expect(() => resolveFunctionsOptions({ functionTimeout: 'soon' })).toThrow(/functionTimeout.*--function-timeout/);
    expect(() => resolveFunctionsOptions({ nope: 1 })).toThrow(/unknown functions option/);
  });
});

describe('FunctionsRuntime (fake notifier, real folder watcher)', () => {
  let dir: string;
  let logDir: string;
  let notifier: FakeNotifier;
  let runtime: FunctionsRuntime;
  let logLines: string[];

  beforeEach(async () => {
    dir = tmp('trib-fn-dir-');
    logDir = tmp('trib-fn-logdir-');
    notifier = new FakeNotifier();
    logLines = [];
  });
  afterEach(async () => {
    await runtime?.stop();
  });

  async function start(timeoutMs = 30_000, statusIntervalMs?: number): Promise<void> {
    runtime = new FunctionsRuntime({ dir, serverUrl: 'http://127.0.0.1:1', notifier, logDir, timeoutMs, statusIntervalMs, log: new JsonLogger('debug', {}, (l) => logLines.push(l)) });
    await runtime.start();
  }
  const info = (name: string) => runtime.list().find((f) => f.name === name);
  const logOf = (name: string) => (fs.existsSync(path.join(logDir, `${name}.log`)) ? fs.readFileSync(path.join(logDir, `${name}.log`), 'utf8') : '');
  const msgs = () => logLines.map((l) => JSON.parse(l) as { msg: string; function?: string });

  test('add, edit, broken edit, delete take effect without a restart', async () => {
    const file = path.join(dir, 'counter.js');
    fs.writeFileSync(file, "module.exports = { pathRegex: /^\\/shop$/, onchange(e) { console.log('v1 saw', e.path); e.seen.push('v1'); } };");
    await start();
    expect(info('counter')).toMatchObject({ status: 'loaded', events: ['change'], pathRegex: '/^\\/shop$/' });
    let seen: string[] = [];
    await notifier.deliver('change', '/shop', { path: '/shop', seen });
    expect(seen).toEqual(['v1']);

    fs.writeFileSync(file, "module.exports = { pathRegex: /^\\/shop$/, onchange(e) { console.log('v2 saw', e.path); e.seen.push('v2'); } };");
    await waitFor('reload', () => info('counter')?.reloads === 1);
    const wrappersAfterInPlaceSwap = notifier.listeners.length;
    seen = [];
    await notifier.deliver('change', '/shop', { path: '/shop', seen });
    expect(seen).toEqual(['v2']);
    expect(wrappersAfterInPlaceSwap).toBe(1);

    fs.writeFileSync(file, 'module.exports = { onchange(e) { e.seen.push( } };');
    await waitFor('failed reload', () => info('counter')?.lastError?.during === 'load');
    expect(info('counter')!.status).toBe('loaded');
    seen = [];
    await notifier.deliver('change', '/shop', { path: '/shop', seen });
    expect(seen).toEqual(['v2']);
    expect(logOf('counter')).toMatch(/failed to load: [\s\S]*SyntaxError[\s\S]*the previous version keeps running/);

    fs.writeFileSync(file, "module.exports = { pathRegex: '^/other$', onchange(e) { e.seen.push('v3'); } };");
    await waitFor('reload with a new regex', () => info('counter')?.reloads === 2);
    seen = [];
    await notifier.deliver('change', '/shop', { path: '/shop', seen });
    await notifier.deliver('change', '/other', { path: '/other', seen });
    expect(seen).toEqual(['v3']);
    expect(notifier.listeners).toHaveLength(1);

    fs.unlinkSync(file);
    await waitFor('unload', () => info('counter')?.status === 'unloaded');
    expect(notifier.listeners).toHaveLength(0);

    const log = logOf('counter');
    expect(log).toMatch(/Z log +v1 saw \/shop\n/);
    expect(log).toMatch(/Z log +v2 saw \/shop\n/);
    expect(log).toMatch(/runtime +unloaded\n$/);
    const lifecycle = msgs().filter((m) => m.function === 'counter').map((m) => m.msg).filter((m) => m.startsWith('function ') && m !== 'function output');
    expect(lifecycle).toEqual(['function loaded', 'function reloaded', 'function failed to load', 'function reloaded', 'function unloaded']);
    expect(msgs().some((m) => m.msg === 'function output' && (m as any).text === 'v1 saw /shop')).toBe(true);
  });

  test('a file that never loaded is reported failed, and loads once fixed', async () => {
    fs.writeFileSync(path.join(dir, 'late.ts'), 'export default { onchange(e: any) { e.seen.push("late" }; }');
    await start();
    expect(info('late')).toMatchObject({ status: 'failed', events: [] });
    fs.writeFileSync(path.join(dir, 'late.ts'), 'export default { onchange(e: { seen: string[] }) { e.seen.push("late"); } };');
    await waitFor('load', () => info('late')?.status === 'loaded');
    const seen: string[] = [];
    await notifier.deliver('change', '/u/x', { path: '/u/x', seen });
    expect(seen).toEqual(['late']);
  });

  test('a throwing and a slow function do not hold up another one; the timeout lets the queue move on', async () => {
    fs.writeFileSync(path.join(dir, 'fast.js'), "module.exports = { onchange(e) { e.stamps.push(['fast', e.slowTimeouts()]); console.log('fast ok'); } };");
    fs.writeFileSync(path.join(dir, 'thrower.js'), "module.exports = { onchange(e) { throw new Error('thrower broke on ' + e.path); } };");
    // The slow function finishes when the test releases it, well after its 300 ms timeout.
    fs.writeFileSync(path.join(dir, 'slow.js'), "module.exports = { async onchange(e) { await e.release; e.stamps.push(['slow', 0]); throw new Error('late failure'); } };");
    await start(300);
    const stamps: [string, number][] = [];
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const t0 = Date.now();
    // What the fast function sees of the slow one's timeouts when it runs: 0 unless it was held
    // up until the slow one timed out. No wall-clock bound, which a loaded machine can stretch.
    const slowTimeouts = () => info('slow')!.counts.timeouts;
    await notifier.deliver('change', '/u/x', { path: '/u/x', stamps, slowTimeouts, release: released });
    const waited = Date.now() - t0;
    // The delivery waited for the timeout (timers never fire early) and not for the slow call,
    // which had not finished when it returned.
    expect(waited).toBeGreaterThanOrEqual(280);
    expect(stamps).toEqual([['fast', 0]]);

    expect(info('thrower')).toMatchObject({ counts: { calls: 1, errors: 1, timeouts: 0 } });
    expect(info('thrower')!.lastError!.message).toBe('thrower broke on /u/x');
    expect(logOf('thrower')).toMatch(/error +onchange\(\/u\/x\) failed: Error: thrower broke on \/u\/x/);
    expect(info('slow')).toMatchObject({ counts: { calls: 1, timeouts: 1, running: 1 } });
    expect(logOf('slow')).toMatch(/has not finished after 300 ms/);

    release();
    await waitFor('the abandoned call to finish and be logged', () => /failed after its timeout: Error: late failure/.test(logOf('slow')), 4000);
    expect(info('slow')).toMatchObject({ counts: { running: 0, errors: 1 } });
    expect(info('fast')).toMatchObject({ counts: { calls: 1, errors: 0, timeouts: 0 } });
    expect(logOf('fast')).toMatch(/log +fast ok/);
  });

  test('a per-function timeoutMs overrides the runtime default', async () => {
    // It finishes only when the test releases it: the delivery must return on its own 100 ms timeout.
    fs.writeFileSync(path.join(dir, 'patient.js'), 'module.exports = { timeoutMs: 100, onchange(e) { return e.release.then(() => { e.finished = true; }); } };');
    await start(10_000);
    let release!: () => void;
    const t0 = Date.now();
    const event: { path: string; finished?: boolean; release: Promise<void> } = { path: '/u/x', release: new Promise<void>((r) => (release = r)) };
    await notifier.deliver('change', '/u/x', event);
    // Returned on the function's own 100 ms timeout, before its call finished (the runtime's
    // default of 10 s would have waited for it).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(95);
    expect(event.finished).toBeUndefined();
    expect(info('patient')).toMatchObject({ timeoutMs: 100, counts: { timeouts: 1 } });
    release();
    await waitFor('the call to finish', () => event.finished === true, 5000);
  });

  test('names must be unique; the status file lists every function', async () => {
    fs.writeFileSync(path.join(dir, 'a.js'), "module.exports = { name: 'same', onavailable() {} };");
    await start();
    fs.writeFileSync(path.join(dir, 'b.js'), "module.exports = { name: 'same', ondelete() {} };");
    await waitFor('b to fail', () => runtime.list().some((f) => f.file.endsWith('b.js') && f.status === 'failed'));
    expect(runtime.list().find((f) => f.file.endsWith('b.js'))!.lastError!.message).toMatch(/already used by .*a\.js/);
    const status = await waitFor('status file', () => {
      const f = path.join(logDir, 'functions.json');
      if (!fs.existsSync(f)) return false;
      const s = JSON.parse(fs.readFileSync(f, 'utf8'));
      return s.functions.length === 2 ? s : false;
    });
    expect(status.state).toBe('running');
    expect(status.functions.map((f: { name: string; status: string }) => `${f.name}:${f.status}`).sort()).toEqual(['b:failed', 'same:loaded']);
  });

  test('the status file follows the calls: at most one write per interval while they go on, the final counts within one interval, and a write on stop', async () => {
    type Status = { state: string; functions: FunctionInfo[] };
    const interval = 250;
    fs.writeFileSync(path.join(dir, 'tick.js'), 'module.exports = { onchange() {} };');
    const writes: { at: number; status: Status }[] = [];
    await start(30_000, interval);
    expect(new FunctionsRuntime({ dir, serverUrl: 'http://127.0.0.1:1', notifier, logDir }).statusIntervalMs).toBe(STATUS_INTERVAL_MS);
    // Every other write is made slow, as a loaded disk makes an fsync: the spacing is counted from
    // the end of a write, so a slow write must not shorten the wait before the next one.
    let slow = false;
    runtime.on('status', () => {
      slow = !slow;
      const until = performance.now() + (slow ? 40 : 0);
      while (performance.now() < until);
    });
    runtime.on('status', (status: Status) => writes.push({ at: performance.now(), status }));
    const calls = (w: { status: Status }) => w.status.functions.find((f) => f.name === 'tick')!.counts;

    const from = performance.now();
    let delivered = 0;
    while (performance.now() - from < 6 * interval) {
      await notifier.deliver('change', '/u/x', { path: '/u/x' });
      delivered++;
      await new Promise((r) => setTimeout(r, 10));
    }
    const lastCallEnded = performance.now();
    const final = await waitFor('a status with every call', () => writes.find((w) => calls(w).calls === delivered && calls(w).running === 0), 5000);
    const during = writes.filter((w) => w.at <= lastCallEnded);
    expect(delivered).toBeGreaterThan(20);
    // Leading write right after the first call, then one per interval at most.
    expect(during.length).toBeGreaterThanOrEqual(2);
    expect(during.length).toBeLessThanOrEqual(Math.floor((lastCallEnded - from) / interval) + 1);
    for (let i = 1; i < writes.length; i++) expect(writes[i]!.at - writes[i - 1]!.at).toBeGreaterThanOrEqual(interval - 20);
    expect(during.map((w) => calls(w).calls)).toEqual([...during.map((w) => calls(w).calls)].sort((a, b) => a - b));
    // Within the interval, give or take a loaded machine's timer lag (without the trailing write the wait above times out).
    expect(final.at - lastCallEnded).toBeLessThanOrEqual(interval + 1000);
    const onDisk = JSON.parse(fs.readFileSync(path.join(logDir, 'functions.json'), 'utf8')) as Status;
    expect({ state: onDisk.state, counts: onDisk.functions[0]!.counts }).toEqual({ state: 'running', counts: { calls: delivered, errors: 0, timeouts: 0, running: 0 } });

    const before = writes.length;
    await runtime.stop();
    expect(writes.slice(before).map((w) => w.status.state)).toEqual(['stopped']);
  });

  test('stop() unregisters everything and leaves an injected notifier open', async () => {
    fs.writeFileSync(path.join(dir, 'a.js'), 'module.exports = { onchange() {}, onavailable() {} };');
    await start();
    expect(notifier.listeners).toHaveLength(2);
    await runtime.stop();
    expect(notifier.listeners).toHaveLength(0);
    expect(notifier.closed).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(logDir, 'functions.json'), 'utf8')).state).toBe('stopped');
  });

  test('a missing folder is an error', async () => {
    runtime = new FunctionsRuntime({ dir: path.join(dir, 'nope'), serverUrl: 'http://127.0.0.1:1', notifier, logDir });
    await expect(runtime.start()).rejects.toThrow(/functions folder .*nope does not exist/);
  });
});
