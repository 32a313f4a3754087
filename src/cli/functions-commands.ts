import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Argv, CommandModule, Options } from 'yargs';
import { FUNCTIONS_OPTIONS, FunctionsRuntime, STATUS_FILE, describeFunctionsDefault, isFunctionFile, lastLines, resolveFunctionsOptions, type FunctionInfo, type FunctionsOptionName, type FunctionsOptions } from '../functions';
import { readAdminTokenFile } from '../shared/admin-token';
import { PACKAGE_MODULES } from './package-modules';
import { UsageError } from '../shared/usage-error';
import { JsonLogger, type Logger, type LogLevel } from '../shared/logger';
import { SERVER_OPTIONS, envName, flagName } from '../server/options';

/**
 * `tributary functions [dir]`, `tributary functions logs <name>`, `tributary functions list`, and
 * the functions flags of `tributary start`. Flags come from FUNCTIONS_OPTIONS (src/functions/options.ts).
 */

/** A one-line failure for the user: printed as `tributary: <message>`, exit status 1. */
export { UsageError };

export function functionsFlags<T>(y: Argv<T>, keys: readonly FunctionsOptionName[], group = 'Functions options:'): Argv<T> {
  for (const key of keys) {
    const spec = FUNCTIONS_OPTIONS[key] as (typeof FUNCTIONS_OPTIONS)[FunctionsOptionName] & { alias?: string };
    const opt: Options = { type: 'string', describe: `${spec.description} [env ${envName(key)}] [default: ${describeFunctionsDefault(key)}]`, group };
    if (spec.alias) opt.alias = spec.alias;
    y = y.option(flagName(key), opt);
  }
  return y;
}

export function givenFunctionsOptions(argv: Record<string, unknown>, keys: readonly FunctionsOptionName[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const v = argv[flagName(key)];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

function logLevelFlag<T>(y: Argv<T>): Argv<T> {
  return y.option('log-level', {
    type: 'string',
    choices: [...SERVER_OPTIONS.logLevel.choices],
    describe: `${SERVER_OPTIONS.logLevel.description} [env ${envName('logLevel')}] [default: ${SERVER_OPTIONS.logLevel.default}]`,
  });
}

function logLevelOf(argv: Record<string, unknown>): LogLevel {
  return ((argv['log-level'] as string | undefined) ?? process.env[envName('logLevel')] ?? SERVER_OPTIONS.logLevel.default) as LogLevel;
}

/** A `start`/`functions` option that was neither a flag nor in the environment. */
export function notGiven(key: FunctionsOptionName, given: Record<string, unknown>): boolean {
  return given[key] === undefined && !process.env[envName(key)];
}

function resolve(argv: Record<string, unknown>, keys: readonly FunctionsOptionName[]): FunctionsOptions {
  try {
    return resolveFunctionsOptions(givenFunctionsOptions(argv, keys), process.env);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Checks the functions folder before anything starts, so a typo fails fast with one line. */
export function checkFunctionsDir(dir: string): void {
  if (!fs.existsSync(dir)) throw new UsageError(`functions folder ${path.resolve(dir)} does not exist`);
  if (!fs.statSync(dir).isDirectory()) throw new UsageError(`${path.resolve(dir)} is not a folder`);
}

/** Starts a runtime and stops it on SIGINT/SIGTERM; `onStopped` runs after it has stopped. */
export async function runFunctionsRuntime(runtime: FunctionsRuntime, log: Logger, onStopped: (code: number) => Promise<void> | void = (code) => process.exit(code)): Promise<void> {
  let stopping = false;
  const shutdown = (signal: string) => {
    // A second signal, or a stop that does not finish in time, ends the process anyway: a signal
    // always stops the command.
    if (stopping) {
      log.warn('second signal: exiting without waiting for the runtime to stop', { signal });
      void onStopped(1);
      return;
    }
    stopping = true;
    log.info('shutting down', { signal });
    const watchdog = setTimeout(() => {
      log.error('the runtime did not stop within 10 s; exiting', { signal });
      void onStopped(1);
    }, 10_000);
    watchdog.unref();
    runtime.stop().then(
      () => {
        clearTimeout(watchdog);
        return onStopped(0);
      },
      (e: unknown) => {
        clearTimeout(watchdog);
        log.error('shutdown failed', { error: e });
        return onStopped(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  await runtime.start();
}

const RUNTIME_KEYS = ['server', 'adminToken', 'adminTokenFile', 'functionsLogDir', 'listenerDir', 'functionTimeout', 'connectTimeout'] as const satisfies readonly FunctionsOptionName[];

async function runFunctions(argv: Record<string, unknown>): Promise<void> {
  const options = resolve(argv, RUNTIME_KEYS);
  const dir = (argv.dir as string | undefined) ?? (process.env[envName('functionsDir')] || FUNCTIONS_OPTIONS.functionsDir.default);
  checkFunctionsDir(dir);
  let adminToken = options.adminToken;
  if (!adminToken) {
    try {
      adminToken = readAdminTokenFile(options.adminTokenFile);
    } catch (e) {
      throw new UsageError(`${(e as Error).message}; pass --admin-token-file or set ${envName('adminToken')}`);
    }
  }
  const log = new JsonLogger(logLevelOf(argv));
  const runtime = new FunctionsRuntime({
    dir,
    serverUrl: options.server,
    adminToken,
    logDir: options.functionsLogDir,
    listenerDirectory: options.listenerDir,
    timeoutMs: options.functionTimeout,
    connectTimeoutMs: options.connectTimeout,
    log,
    modules: PACKAGE_MODULES,
  });
  log.info('starting functions runtime', { dir: path.resolve(dir), server: options.server, logs: path.resolve(options.functionsLogDir) });
  await runFunctionsRuntime(runtime, log);
}

function logsOptions<T>(y: Argv<T>): Argv<T> {
  return functionsFlags(y, ['functionsLogDir'], 'Options:');
}

async function printLogs(argv: Record<string, unknown>): Promise<void> {
  const options = resolve(argv, ['functionsLogDir']);
  const name = String(argv.name);
  const lines = argv.lines === undefined ? 50 : Number(argv.lines);
  if (!Number.isSafeInteger(lines) || lines < 0) throw new UsageError(`--lines must be a whole number, got ${JSON.stringify(argv.lines)}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new UsageError(`'${name}' is not a function name`);
  const file = path.join(options.functionsLogDir, `${name}.log`);
  if (!fs.existsSync(file)) {
    const known = fs.existsSync(options.functionsLogDir) ? fs.readdirSync(options.functionsLogDir).filter((f) => f.endsWith('.log')).map((f) => f.slice(0, -4)) : [];
    throw new UsageError(`no log for function '${name}' in ${path.resolve(options.functionsLogDir)}${known.length ? ` (logs: ${known.join(', ')})` : ''}`);
  }
  // One size for both: the last lines end, and following starts, at the same byte, so a line
  // written meanwhile is printed once (by following), never lost or doubled.
  const size = fs.statSync(file).size;
  for (const line of lastLines(file, lines, size)) process.stdout.write(line + '\n');
  if (argv.follow) await follow(file, size);
}

/** Prints what is appended to `file` after byte `from` until interrupted (survives rotation to `<file>.1`). */
async function follow(file: string, from: number): Promise<void> {
  let position = from;
  await new Promise<void>((resolve) => {
    const poll = () => {
      let size: number;
      try {
        size = fs.statSync(file).size;
      } catch {
        return; // rotated: wait for the new file
      }
      if (size < position) position = 0;
      if (size === position) return;
      const fd = fs.openSync(file, 'r');
      try {
        const buf = Buffer.alloc(size - position);
        fs.readSync(fd, buf, 0, buf.length, position);
        position = size;
        process.stdout.write(buf);
      } finally {
        fs.closeSync(fd);
      }
    };
    const timer = setInterval(poll, 200);
    const stop = () => {
      clearInterval(timer);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

function printList(argv: Record<string, unknown>): void {
  const options = resolve(argv, ['functionsLogDir']);
  const dir = (argv.dir as string | undefined) ?? (process.env[envName('functionsDir')] || FUNCTIONS_OPTIONS.functionsDir.default);
  const statusFile = path.join(options.functionsLogDir, STATUS_FILE);
  let functions: Partial<FunctionInfo>[];
  let note: string;
  if (fs.existsSync(statusFile)) {
    const status = JSON.parse(fs.readFileSync(statusFile, 'utf8')) as { pid: number; state: string; updatedAt: string; functions: FunctionInfo[] };
    const alive = status.state === 'running' && isAlive(status.pid);
    functions = status.functions;
    note = alive ? `runtime pid ${status.pid}, status of ${status.updatedAt}` : `runtime not running (last status ${status.updatedAt})`;
  } else {
    checkFunctionsDir(dir);
    functions = fs
      .readdirSync(dir)
      .filter((f) => isFunctionFile(f))
      .map((f) => ({ name: path.basename(f, path.extname(f)), file: path.resolve(dir, f), status: 'not running' as never }));
    note = `no runtime status in ${path.resolve(options.functionsLogDir)}; files in ${path.resolve(dir)}`;
  }
  if (argv.json) {
    process.stdout.write(JSON.stringify(functions, null, 2) + '\n');
    return;
  }
  const rows = [['NAME', 'STATUS', 'EVENTS', 'CALLS', 'ERRORS', 'TIMEOUTS', 'LAST ERROR', 'FILE']];
  for (const f of functions) {
    rows.push([
      f.name ?? '',
      f.status ?? '',
      (f.events ?? []).join(',') || '-',
      String(f.counts?.calls ?? '-'),
      String(f.counts?.errors ?? '-'),
      String(f.counts?.timeouts ?? '-'),
      f.lastError ? `${f.lastError.at} ${f.lastError.message}`.slice(0, 120) : '-',
      path.relative(process.cwd(), f.file ?? '') || (f.file ?? ''),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) process.stdout.write(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ') + '\n');
  process.stdout.write(`(${note})\n`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * `functions [dir]` (run), `functions logs <name>` and `functions list [dir]`. Running is the
 * default subcommand, so its options are not inherited by `logs` and `list`.
 */
export const functionsCommand: CommandModule = {
  command: 'functions',
  describe: 'Run the function files of a folder against a server (hot reload); `functions logs <name>`, `functions list`.',
  builder: (c: Argv) =>
    c
      .command({
        command: ['$0 [dir]', 'run [dir]'],
        describe: 'Run the function files of [dir] against a server, reloading them as they change.',
        builder: (r: Argv) =>
          logLevelFlag(functionsFlags(r, RUNTIME_KEYS))
            .positional('dir', { type: 'string', describe: `Folder of function files [env ${envName('functionsDir')}] [default: ${FUNCTIONS_OPTIONS.functionsDir.default}]` })
            .example('$0 functions ./functions --server http://127.0.0.1:9080', 'run the functions of ./functions')
            .example('$0 functions logs coupon-validator --follow', 'follow a function log')
            .example('$0 functions list', 'status, counters and last error of each function'),
        handler: (argv) => runFunctions(argv as Record<string, unknown>),
      })
      .command(
        'logs <name>',
        "Print a function's log (<logs>/<name>.log).",
        (l) =>
          logsOptions(l)
            .positional('name', { type: 'string', describe: 'Function name (its exported name or file name)' })
            .option('follow', { alias: 'f', type: 'boolean', describe: 'Keep printing new lines until interrupted' })
            .option('lines', { alias: 'n', type: 'string', describe: 'How many of the last lines to print [default: 50]' }),
        (argv) => printLogs(argv as Record<string, unknown>),
      )
      .command(
        'list [dir]',
        'List functions with status, counters and last error (from the runtime status file, or the folder when no runtime has run).',
        (l) =>
          logsOptions(l)
            .positional('dir', { type: 'string', describe: `Folder of function files, used when there is no status file [default: ${FUNCTIONS_OPTIONS.functionsDir.default}]` })
            .option('json', { type: 'boolean', describe: 'Print JSON instead of a table' }),
        (argv) => printList(argv as Record<string, unknown>),
      ),
  handler: () => undefined,
};
