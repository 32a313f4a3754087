import yargs, { type Argv, type Options } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { readAdminToken } from '../server/keys';
import { JsonLogger } from '../server/logger';
import { SERVER_OPTIONS, describeDefault, envName, flagName, resolveOptions, type OptionSpec, type ServerOptionName } from '../server/options';
import { Server } from '../server/server';

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

async function runServer(argv: Record<string, unknown>, withFunctions: boolean): Promise<void> {
  const options = resolveOptions(givenOptions(argv), process.env);
  const log = new JsonLogger(options.logLevel as 'info');
  const server = new Server({ ...options, logger: log });
  await server.start();
  if (withFunctions) log.info('no functions runtime is configured; running the sync server only');
  log.info('admin token', { file: server.adminTokenPath, hint: 'run `tributary token` to print it' });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    server.stop().then(
      () => process.exit(0),
      (e) => {
        log.error('shutdown failed', { error: e });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
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
      'Run the server (and, once configured, functions and connectors).',
      (y) => serverFlags(y),
      (argv) => runServer(argv as Record<string, unknown>, true),
    )
    .command(
      'token',
      'Print the admin token of a data directory.',
      (y) =>
        y.option('data', {
          type: 'string',
          describe: `Data directory [env ${envName('dataPath')}] [default: ${describeDefault('dataPath')}]`,
        }),
      (argv) => {
        const dataPath = resolveOptions(argv.data !== undefined ? { dataPath: argv.data } : {}, process.env).dataPath;
        process.stdout.write(readAdminToken(dataPath) + '\n');
      },
    )
    .demandCommand(1, 'name a command: serve, start or token (see --help)')
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
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
