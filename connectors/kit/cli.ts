import * as path from 'node:path';
import * as readline from 'node:readline/promises';
import type { Argv, CommandModule } from 'yargs';
import { TributaryError } from '../../src/errors';
import { JsonLogger, type LogLevel } from '../../src/shared/logger';
import { UsageError } from '../../src/shared/usage-error';
import type { ConnectorType } from '../contract';

/**
 * `tributary connector <type> [run|test|status|reset|clear-dead-letters|realm-schema] --config <file>`,
 * generated from the registry (connectors/registry.ts): one command per type, the same
 * subcommands for every type, each type's own texts. A type's module (and its database driver) is
 * loaded only when one of its commands runs.
 */

export interface ConnectorCliOptions {
  types: ConnectorType[];
  /** The log level option (the server's table: choices, default, environment variable). */
  logLevel: { choices: readonly string[]; default: string; env: string };
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

function configFlag<T>(y: Argv<T>, t: ConnectorType): Argv<T & { config: string }> {
  return y.option('config', { type: 'string', demandOption: true, describe: `Connector config file (.json, .js or .ts; see docs/connectors/${t.type}.md)` }) as Argv<T & { config: string }>;
}

async function confirmReset(t: ConnectorType, configPath: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new UsageError('reset removes the connector\'s database state and needs confirmation: pass --yes (stdin is not a terminal)');
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`Reset the connector of ${configPath}? ${t.cli.resetConfirm} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

function typeCommand(t: ConnectorType, o: ConnectorCliOptions): CommandModule {
  const logLevel = (argv: Record<string, unknown>): LogLevel => ((argv['log-level'] as string | undefined) ?? process.env[o.logLevel.env] ?? o.logLevel.default) as LogLevel;
  return {
    command: [t.type, ...(t.aliases ?? [])],
    describe: `${t.description}. Run it (default), test what its config reaches, show its status, clear its dead letters, or reset it.`,
    builder: (c: Argv) =>
      c
        .command({
          command: ['$0', 'run'],
          describe: `Run the ${t.type} connector in the foreground until SIGINT/SIGTERM (a clean stop keeps its position; exit 0).`,
          builder: (r: Argv) =>
            configFlag(r, t)
              .option('log-level', { type: 'string', choices: [...o.logLevel.choices], describe: `Log level [env ${o.logLevel.env}] [default: ${o.logLevel.default}]` })
              .example(`$0 connector ${t.type} --config bridge.json`, 'run the connector of bridge.json'),
          handler: async (argv) => {
            const a = argv as Record<string, unknown>;
            await coded(() => t.load().run(path.resolve(a.config as string), new JsonLogger(logLevel(a))));
          },
        })
        .command({
          command: 'test',
          describe: `Check, without starting the connector, what its config reaches: the database (reachable, what the ${t.type} connector needs of it, the mapping against its catalog) and the sync server (the admin token accepted). Exit 1 when a check fails.`,
          builder: (r: Argv) => configFlag(r, t).option('json', { type: 'boolean', describe: 'Print JSON instead of text' }),
          handler: async (argv) => {
            const a = argv as Record<string, unknown>;
            const r = await coded(() => t.load().testConnection(path.resolve(a.config as string)));
            process.stdout.write(a.json ? JSON.stringify({ ok: r.ok, checks: r.checks }, null, 2) + '\n' : r.text);
            if (!r.ok) process.exitCode = 1;
          },
        })
        .command({
          command: 'status',
          describe: t.cli.status,
          builder: (r: Argv) => configFlag(r, t).option('json', { type: 'boolean', describe: 'Print JSON instead of text' }),
          handler: async (argv) => {
            const a = argv as Record<string, unknown>;
            const { status, text } = await coded(() => t.load().inspect(path.resolve(a.config as string)));
            process.stdout.write(a.json ? JSON.stringify(status, null, 2) + '\n' : text);
          },
        })
        .command({
          command: 'reset',
          describe: t.cli.reset,
          builder: (r: Argv) => configFlag(r, t).option('yes', { alias: 'y', type: 'boolean', describe: 'Do not ask for confirmation' }),
          handler: async (argv) => {
            const a = argv as Record<string, unknown>;
            const file = path.resolve(a.config as string);
            if (!a.yes && !(await confirmReset(t, file))) {
              process.stderr.write('reset cancelled\n');
              return;
            }
            const r = await coded(() => t.load().reset(file, new JsonLogger(logLevel(a))));
            process.stdout.write(r.text);
          },
        })
        .command({
          command: 'realm-schema',
          describe: 'Print the object schemas (realm-js form, JSON) a client declares to create the first objects of a mapped realm that does not exist yet.',
          builder: (r: Argv) => configFlag(r, t).option('realm', { type: 'string', demandOption: true, describe: 'The realm path, e.g. /pagila/store/3' }),
          handler: async (argv) => {
            const a = argv as Record<string, unknown>;
            const m = t.load();
            if (!m.realmSchema) throw new UsageError(`the ${t.type} connector has no realm schema to print`);
            const r = await coded(() => m.realmSchema!(path.resolve(a.config as string), a.realm as string));
            process.stdout.write(r.text);
          },
        })
        .command({
          command: 'clear-dead-letters',
          describe: "Delete dead letters (realm transactions the database refused or that failed permanently; `status` lists them): those given with --id, or all with --all.",
          builder: (r: Argv) =>
            configFlag(r, t)
              .option('id', { type: 'number', array: true, describe: 'Dead letter id (repeatable)' })
              .option('all', { type: 'boolean', describe: "Delete all of the connector's dead letters" })
              .check((a) => {
                if (!a.all && !(a.id as number[] | undefined)?.length) throw new Error('give --id <n> (repeatable) or --all');
                return true;
              }),
          handler: async (argv) => {
            const a = argv as Record<string, unknown>;
            const m = t.load();
            if (!m.clearDeadLetters) throw new UsageError(`the ${t.type} connector keeps no dead letters`);
            const r = await coded(() => m.clearDeadLetters!(path.resolve(a.config as string), a.all ? 'all' : (a.id as number[])));
            process.stdout.write(r.text);
          },
        })
        .demandCommand(0),
    handler: () => undefined,
  };
}

/** Adds one command per registered type to `tributary connector`. */
export function connectorCommands(c: Argv, o: ConnectorCliOptions): Argv {
  for (const t of o.types) c.command(typeCommand(t, o));
  return c.demandCommand(1, `name a connector type: ${o.types.map((t) => t.type).join(', ')}`);
}
