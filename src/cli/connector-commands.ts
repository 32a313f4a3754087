import * as path from 'node:path';
import * as readline from 'node:readline/promises';
import type { Argv, CommandModule } from 'yargs';
import { TributaryError } from '../errors';
import { JsonLogger, type LogLevel } from '../shared/logger';
import { SERVER_OPTIONS, envName } from '../server/options';
import { UsageError } from '../shared/usage-error';

/**
 * `tributary connector <type> [run|status|reset] --config <file>`, one command per type in
 * connectors/registry.ts. Connectors live outside src/ and are loaded only when one of these
 * runs (they pull in database drivers).
 */

type Registry = typeof import('../../connectors/registry');

function registry(): Registry {
  return require(path.join(__dirname, '..', '..', 'connectors', 'registry')) as Registry;
}

/** Coded failures print as `tributary: CODE: message` so scripts can match the code. */
async function coded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof TributaryError) throw new UsageError(`${e.code}: ${e.message}`);
    throw e;
  }
}

function configFlag<T>(y: Argv<T>): Argv<T & { config: string }> {
  return y.option('config', { type: 'string', demandOption: true, describe: 'Connector config file (.json, .js or .ts; see docs/connectors/postgres.md)' }) as Argv<T & { config: string }>;
}

function logLevel(argv: Record<string, unknown>): LogLevel {
  return ((argv['log-level'] as string | undefined) ?? process.env[envName('logLevel')] ?? SERVER_OPTIONS.logLevel.default) as LogLevel;
}

async function confirmReset(configPath: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new UsageError('reset drops the replication slot and needs confirmation: pass --yes (stdin is not a terminal)');
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`Reset the connector of ${configPath}? This drops its replication slot and apply positions; the next start reloads every table. [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

function typeCommand(type: string, description: string): CommandModule {
  const load = () => registry().loadConnectorModule(type);
  return {
    command: type,
    describe: `${description}. Run it (default), show its status, clear its dead letters, or reset it.`,
    builder: (c: Argv) =>
      c
        .command({
          command: ['$0', 'run'],
          describe: `Run the ${type} connector in the foreground until SIGINT/SIGTERM (a clean stop keeps its position; exit 0).`,
          builder: (r: Argv) =>
            configFlag(r)
              .option('log-level', { type: 'string', choices: [...SERVER_OPTIONS.logLevel.choices], describe: `Log level [env ${envName('logLevel')}] [default: ${SERVER_OPTIONS.logLevel.default}]` })
              .example(`$0 connector ${type} --config bridge.json`, 'run the connector of bridge.json'),
          handler: async (argv) => {
            const a = argv as Record<string, unknown>;
            await coded(() => load().run(path.resolve(a.config as string), new JsonLogger(logLevel(a))));
          },
        })
        .command({
          command: 'status',
          describe: "Print the connector's database side without starting it: slot (active or not), retained WAL, wal_status, lag behind the current WAL, publication, apply positions, warnings.",
          builder: (r: Argv) => configFlag(r).option('json', { type: 'boolean', describe: 'Print JSON instead of text' }),
          handler: async (argv) => {
            const a = argv as Record<string, unknown>;
            const { status, text } = await coded(() => load().inspect(path.resolve(a.config as string)));
            process.stdout.write(a.json ? JSON.stringify(status, null, 2) + '\n' : text);
          },
        })
        .command({
          command: 'reset',
          describe:
            'Reset a stopped connector so its next start loads afresh: drops its replication slot and origin, deletes its apply positions and its completed-load record in the control realm. Refused (PG_SLOT_ACTIVE) while a connector runs. The realms keep serving clients meanwhile.',
          builder: (r: Argv) => configFlag(r).option('yes', { alias: 'y', type: 'boolean', describe: 'Do not ask for confirmation' }),
          handler: async (argv) => {
            const a = argv as Record<string, unknown>;
            const file = path.resolve(a.config as string);
            if (!a.yes && !(await confirmReset(file))) {
              process.stderr.write('reset cancelled\n');
              return;
            }
            const r = await coded(() => load().reset(file, new JsonLogger(logLevel(a))));
            process.stdout.write(r.text);
          },
        })
        .command({
          command: 'realm-schema',
          describe: 'Print the object schemas (realm-js form, JSON) a client declares to create the first objects of a mapped realm that does not exist yet.',
          builder: (r: Argv) => configFlag(r).option('realm', { type: 'string', demandOption: true, describe: 'The realm path, e.g. /pagila/store/3' }),
          handler: async (argv) => {
            const a = argv as Record<string, unknown>;
            const m = load();
            if (!m.realmSchema) throw new UsageError(`the ${type} connector has no realm schema to print`);
            const r = await coded(() => m.realmSchema!(path.resolve(a.config as string), a.realm as string));
            process.stdout.write(r.text);
          },
        })
        .command({
          command: 'clear-dead-letters',
          describe: "Delete dead letters (realm transactions the database refused or that failed permanently; `status` lists them): those given with --id, or all with --all.",
          builder: (r: Argv) =>
            configFlag(r)
              .option('id', { type: 'number', array: true, describe: 'Dead letter id (repeatable)' })
              .option('all', { type: 'boolean', describe: "Delete all of the connector's dead letters" })
              .check((a) => {
                if (!a.all && !(a.id as number[] | undefined)?.length) throw new Error('give --id <n> (repeatable) or --all');
                return true;
              }),
          handler: async (argv) => {
            const a = argv as Record<string, unknown>;
            const m = load();
            if (!m.clearDeadLetters) throw new UsageError(`the ${type} connector keeps no dead letters`);
            const r = await coded(() => m.clearDeadLetters!(path.resolve(a.config as string), a.all ? 'all' : (a.id as number[])));
            process.stdout.write(r.text);
          },
        })
        .demandCommand(0),
    handler: () => undefined,
  };
}

/** `tributary connector <type> …` for every type in connectors/registry.ts. */
export const connectorCommand: CommandModule = {
  command: 'connector',
  describe: 'Run, inspect or reset a database connector from its config file (see docs/connectors/): `connector postgres --config <file>`, `… status`, `… reset`.',
  builder: (c: Argv) => {
    const types = registry().connectorTypes();
    for (const t of types) c.command(typeCommand(t.type, t.description));
    return c.demandCommand(1, `name a connector type: ${types.map((t) => t.type).join(', ')}`);
  },
  handler: () => undefined,
};
