import * as path from 'node:path';
import yargs, { type Argv, type Options } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { FUNCTIONS_OPTIONS, FunctionsRuntime, resolveFunctionsOptions, type FunctionsOptionName } from '../functions';
import { readAdminToken } from '../shared/admin-token';
import { JsonLogger } from '../shared/logger';
import { SERVER_OPTIONS, describeDefault, envName, flagName, resolveOptions, type OptionSpec, type ServerOptionName } from '../server/options';
import { Server } from '../server/server';
import { connectorCommand } from './connector-commands';
import { permissionsCommand, tokenCommand, userCommand } from './admin-commands';
import { packageVersion } from '../shared/package-version';
import { PACKAGE_MODULES } from './package-modules';
import { UsageError, checkFunctionsDir, functionsCommand, functionsFlags, givenFunctionsOptions, notGiven } from './functions-commands';

/**
 * The `tributary` command. Server flags come from the option table (src/server/options.ts); each
 * is also read from its TRIBUTARY_* environment variable (a flag wins). Bad input exits with status
 * 1 and one line on stderr.
 */

const OPTION_KEYS = Object.keys(SERVER_OPTIONS) as ServerOptionName[];

function serverFlags<T>(y: Argv<T>): Argv<T> {
  for (const key of OPTION_KEYS) {
    const spec: OptionSpec = SERVER_OPTIONS[key];
    const opt: Options = {
      // Values are validated by parseOption, not by yargs, so every kind takes a string here.
      type: spec.kind === 'boolean' ? 'boolean' : 'string',
      describe: `${spec.description} [env ${envName(key)}] [default: ${describeDefault(key)}]`,
      group: 'Server options:',
    };
    if (spec.alias) opt.alias = spec.alias;
    if (spec.choices) opt.choices = [...spec.choices];
    y = y.option(flagName(key), opt);
  }
  return y;
}

function givenOptions(argv: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of OPTION_KEYS) {
    const v = argv[flagName(key)];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** The functions options `tributary start` takes (the server is in-process, so no --server or token). */
const START_FUNCTIONS_KEYS = ['functionsDir', 'functionsLogDir', 'listenerDir', 'functionTimeout'] as const satisfies readonly FunctionsOptionName[];

async function runServer(argv: Record<string, unknown>, withFunctions: boolean): Promise<void> {
  let options: ReturnType<typeof resolveOptions>;
  let functions: ReturnType<typeof resolveFunctionsOptions> | null = null;
  try {
    options = resolveOptions(givenOptions(argv), process.env);
    if (withFunctions) {
      const given = givenFunctionsOptions(argv, START_FUNCTIONS_KEYS);
      functions = resolveFunctionsOptions(given, process.env);
      // Logs and local copies live with the server's data unless placed elsewhere.
      if (notGiven('functionsLogDir', given)) functions.functionsLogDir = path.join(options.dataPath, 'functions', 'logs');
      if (notGiven('listenerDir', given)) functions.listenerDir = path.join(options.dataPath, 'functions', 'listener');
      checkFunctionsDir(functions.functionsDir);
    }
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const log = new JsonLogger(options.logLevel as 'info');
  const server = new Server({ ...options, logger: log });
  await server.start();
  log.info('admin token', { file: server.adminTokenPath, hint: 'run `tributary token` to print it' });

  let runtime: FunctionsRuntime | null = null;
  if (functions) {
    // The runtime is an ordinary sync client of the in-process server, over loopback, as admin.
    runtime = new FunctionsRuntime({
      dir: functions.functionsDir,
      serverUrl: server.url,
      adminToken: readAdminToken(options.dataPath),
      logDir: functions.functionsLogDir,
      listenerDirectory: functions.listenerDir,
      timeoutMs: functions.functionTimeout,
      log: log.child({ component: 'functions' }),
      modules: PACKAGE_MODULES,
    });
  }
  let stopping = false;
  const shutdown = (signal: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    (async () => {
      await runtime?.stop();
      await server.stop();
    })().then(
      () => process.exit(code),
      (e) => {
        log.error('shutdown failed', { error: e });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  if (runtime) {
    try {
      await runtime.start();
      log.info('functions folder', { dir: runtime.dir, logs: runtime.logDir, hint: 'run `tributary functions list` / `tributary functions logs <name>`' });
    } catch (e) {
      log.error('functions runtime failed to start', { error: e });
      shutdown('functions runtime failed', 1);
    }
  }
}

export async function main(args: string[]): Promise<void> {
  await yargs(args)
    .scriptName('tributary')
    .usage('$0 <command> [options]')
    .command(
      'serve',
      'Run the sync server only.',
      (y) => serverFlags(y),
      (argv) => runServer(argv as Record<string, unknown>, false),
    )
    .command(
      'start',
      `Run the server and the functions runtime (function files of --functions, default ${FUNCTIONS_OPTIONS.functionsDir.default}) in one process.`,
      (y) => functionsFlags(serverFlags(y), START_FUNCTIONS_KEYS),
      (argv) => runServer(argv as Record<string, unknown>, true),
    )
    .command(tokenCommand)
    .command(userCommand)
    .command(permissionsCommand)
    .command(functionsCommand)
    .command(connectorCommand)
    .demandCommand(1, 'name a command: serve, start, functions, connector, token, user or permissions (see --help)')
    .strict()
    .help()
    .alias('h', 'help')
    .version(packageVersion())
    .fail((msg, err) => {
      process.stderr.write(`tributary: ${(msg || err?.message || 'failed').replace(/\s*\n\s*/g, ' ').trim()}\n`);
      process.exit(1);
    })
    .parseAsync();
}

// Run when executed directly (tsx src/cli/main.ts) or through bin/tributary.js.
if (require.main === module || /[\\/]bin[\\/]tributary\.js$/.test(require.main?.filename ?? '')) {
  main(hideBin(process.argv)).catch((e: unknown) => {
    process.stderr.write(`tributary: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
    process.exit(1);
  });
}
