import * as fs from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { FUNCTIONS_OPTIONS } from '../functions';
import { AdminTokens } from '../server/admin-tokens';
import { loadOrCreateKeys } from '../server/keys';
import { resolveOptions, envName } from '../server/options';
import { SqliteDriver } from '../server/storage/sqlite';
import { TokenService } from '../server/tokens';
import { adminTokenFile, readAdminToken, readAdminTokenFile } from '../shared/admin-token';
import { silentLogger } from '../shared/logger';
import { UsageError } from '../shared/usage-error';
import { TributaryError } from '../errors';

/**
 * The admin commands: `tributary user …`, `tributary permissions …` and `tributary token
 * [--rotate]`. They talk to a running server over its admin API (`--server`, default
 * http://127.0.0.1:9080) with the admin token of `--data` (or `--admin-token-file`, or
 * TRIBUTARY_ADMIN_TOKEN), so they work the same against a local or a remote server.
 */

interface AdminArgs {
  server?: string;
  data?: string;
  'admin-token-file'?: string;
}

function connectionFlags<T>(y: Argv<T>): Argv<T & AdminArgs> {
  return y
    .option('server', { type: 'string', describe: `URL of the running server [env ${envName('server')}] [default: ${FUNCTIONS_OPTIONS.server.default}]` })
    .option('data', { type: 'string', describe: `Data directory whose keys/admin.json holds the admin token [env ${envName('dataPath')}] [default: ./data]` })
    .option('admin-token-file', { type: 'string', describe: `File holding the admin token, instead of <data>/keys/admin.json [env ${envName('adminTokenFile')}]` }) as Argv<T & AdminArgs>;
}

function serverOf(argv: AdminArgs): string {
  return (argv.server ?? process.env[envName('server')] ?? FUNCTIONS_OPTIONS.server.default).replace(/^realm(s?):/, 'http$1:').replace(/\/+$/, '');
}

function dataPathOf(argv: AdminArgs): string {
  return resolveOptions(argv.data !== undefined ? { dataPath: argv.data } : {}, process.env).dataPath;
}

function adminTokenOf(argv: AdminArgs): string {
  const fromEnv = process.env[envName('adminToken')];
  if (fromEnv) return fromEnv;
  const file = argv['admin-token-file'] ?? process.env[envName('adminTokenFile')];
  return file ? readAdminTokenFile(file) : readAdminToken(dataPathOf(argv));
}

/** A call to the admin API; a failure is one line: `<CODE>: <message>`. */
async function api(argv: AdminArgs, method: string, route: string, body?: unknown): Promise<any> {
  const url = `${serverOf(argv)}${route}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminTokenOf(argv)}` },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (e) {
    throw new UsageError(`cannot reach the server at ${serverOf(argv)} (${(e as Error).message}); start it, or name it with --server`);
  }
  const json = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
  if (!res.ok) throw new UsageError(`${json.code ?? `HTTP ${res.status}`}: ${json.message ?? 'request failed'}`);
  return json;
}

async function readPassword(argv: { password?: string; 'password-stdin'?: boolean }): Promise<string> {
  if (argv['password-stdin']) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    if (!text) throw new UsageError('no password on stdin');
    return text;
  }
  const pw = argv.password ?? process.env.TRIBUTARY_USER_PASSWORD;
  if (!pw) throw new UsageError('give the password with --password-stdin (or TRIBUTARY_USER_PASSWORD; --password is visible in the process list)');
  return pw;
}

function passwordFlags<T>(y: Argv<T>): Argv<T & { password?: string; 'password-stdin'?: boolean }> {
  return y
    .option('password-stdin', { type: 'boolean', describe: 'Read the password from stdin' })
    .option('password', { type: 'string', describe: 'The password (visible in the process list; prefer --password-stdin or TRIBUTARY_USER_PASSWORD)' }) as Argv<T & { password?: string; 'password-stdin'?: boolean }>;
}

const out = (line: string): void => void process.stdout.write(line + '\n');

interface UserLine {
  identity: string;
  username: string | null;
  isAdmin: boolean;
  accounts: { provider: string; providerId: string }[];
}
const userLine = (u: UserLine) => `${u.identity}  ${u.username ?? '-'}${u.isAdmin ? '  admin' : ''}  ${u.accounts.map((a) => `${a.provider}:${a.providerId}`).join(',')}`;

export const userCommand: CommandModule = {
  command: 'user <command>',
  describe: 'Manage user accounts on a running server (admin API).',
  builder: (y) =>
    y
      .command(
        ['create <name>', 'add <name>'],
        'Create a password user (--admin: an admin, e.g. realm-admin for programs of the ROS era).',
        (c) => passwordFlags(connectionFlags(c.positional('name', { type: 'string', demandOption: true }).option('admin', { type: 'boolean', describe: 'Make the user an admin' }))),
        async (argv) => {
          const password = await readPassword(argv);
          const res = await api(argv, 'POST', '/admin/users', { username: argv.name, password, isAdmin: !!argv.admin });
          out(`created ${userLine(res.user)}`);
        },
      )
      .command(
        'list',
        'List users: identity, name, admin, login accounts.',
        (c) => connectionFlags(c).option('json', { type: 'boolean', describe: 'Print JSON' }),
        async (argv) => {
          const res = await api(argv, 'GET', '/admin/users');
          if (argv.json) return out(JSON.stringify(res.users, null, 2));
          for (const u of res.users as UserLine[]) out(userLine(u));
        },
      )
      .command(
        'grant-admin <name>',
        'Make a user (name or identity) an admin; takes effect at once.',
        (c) => connectionFlags(c.positional('name', { type: 'string', demandOption: true })),
        async (argv) => out(`admin: ${userLine((await api(argv, 'PUT', `/admin/users/${encodeURIComponent(argv.name as string)}/admin`, { isAdmin: true })).user)}`),
      )
      .command(
        'revoke-admin <name>',
        'Take admin rights from a user; takes effect at once.',
        (c) => connectionFlags(c.positional('name', { type: 'string', demandOption: true })),
        async (argv) => out(`not admin: ${userLine((await api(argv, 'PUT', `/admin/users/${encodeURIComponent(argv.name as string)}/admin`, { isAdmin: false })).user)}`),
      )
      .command(
        'set-password <name>',
        "Set a user's password; every login of the user is revoked.",
        (c) => passwordFlags(connectionFlags(c.positional('name', { type: 'string', demandOption: true }))),
        async (argv) => {
          await api(argv, 'PUT', `/admin/users/${encodeURIComponent(argv.name as string)}/password`, { password: await readPassword(argv) });
          out(`password set for ${argv.name}`);
        },
      )
      .demandCommand(1, 'name a user command: create, list, grant-admin, revoke-admin, set-password'),
  handler: () => undefined,
};

const LEVELS = ['read', 'write', 'manage', 'admin'];

export const permissionsCommand: CommandModule = {
  command: 'permissions <command>',
  describe: 'Grant, revoke and list realm permissions on a running server (admin API).',
  builder: (y) =>
    y
      .command(
        'grant <path> <user> <level>',
        "Give a user (name, identity, or '*' for everyone) read, write or manage on a realm path.",
        (c) => connectionFlags(c.positional('path', { type: 'string', demandOption: true }).positional('user', { type: 'string', demandOption: true }).positional('level', { type: 'string', choices: LEVELS, demandOption: true })),
        async (argv) => {
          const res = await api(argv, 'POST', '/admin/permissions', { path: argv.path, user: argv.user, accessLevel: argv.level });
          out(`granted ${res.permission.accessLevel} on ${res.permission.path} to ${res.permission.userId}`);
        },
      )
      .command(
        'revoke <path> <user>',
        'Remove the grant of a user (or of everyone) on a realm path.',
        (c) => connectionFlags(c.positional('path', { type: 'string', demandOption: true }).positional('user', { type: 'string', demandOption: true })),
        async (argv) => {
          await api(argv, 'POST', '/admin/permissions', { path: argv.path, user: argv.user, accessLevel: 'none' });
          out(`revoked ${argv.user} on ${argv.path}`);
        },
      )
      .command(
        'list',
        'List grants (optionally of one --path or --user).',
        (c) => connectionFlags(c).option('path', { type: 'string' }).option('user', { type: 'string' }).option('json', { type: 'boolean' }),
        async (argv) => {
          const q = new URLSearchParams();
          if (argv.path) q.set('path', argv.path as string);
          if (argv.user) q.set('user', argv.user as string);
          const res = await api(argv, 'GET', `/admin/permissions${q.size ? `?${q}` : ''}`);
          if (argv.json) return out(JSON.stringify(res.permissions, null, 2));
          for (const p of res.permissions as { path: string; userId: string; accessLevel: string }[]) out(`${p.path}  ${p.userId}  ${p.accessLevel}`);
        },
      )
      .demandCommand(1, 'name a permissions command: grant, revoke, list'),
  handler: () => undefined,
};

/**
 * `tributary token`: prints the admin token; `--rotate` issues a new one and revokes all older
 * ones — through the running server with `--server`, otherwise directly on the data directory of
 * a stopped server (a running one holds the directory's lock: DATA_DIR_IN_USE, with a hint).
 */
export const tokenCommand: CommandModule = {
  command: 'token',
  describe: 'Print the admin token of a data directory; --rotate replaces it and revokes the old ones.',
  builder: (y) =>
    connectionFlags(y).option('rotate', { type: 'boolean', describe: 'Issue a new admin token, write it to <data>/keys/admin.json, revoke every older one' }),
  handler: async (argv) => {
    const a = argv as AdminArgs & { rotate?: boolean };
    if (!a.rotate) return out(readAdminToken(dataPathOf(a)));
    if (a.server !== undefined || process.env[envName('server')]) {
      const res = await api(a, 'POST', '/admin/token/rotate');
      return out(res.adminToken);
    }
    const dataPath = dataPathOf(a);
    if (!fs.existsSync(adminTokenFile(dataPath))) throw new UsageError(`no admin token in ${dataPath}; start the server once to create it`);
    const keys = loadOrCreateKeys(dataPath);
    let storage: SqliteDriver;
    try {
      storage = new SqliteDriver(dataPath);
    } catch (e) {
      if (e instanceof TributaryError && e.code === 'DATA_DIR_IN_USE') throw new UsageError(`${e.message}; to rotate through the running server: tributary token --rotate --server <its URL>`);
      throw e;
    }
    try {
      const tokens = new TokenService(keys.privateKey, keys.publicKey, { access: 3600, refresh: 3600 });
      const rotated = await new AdminTokens(storage, (fn) => storage.write(fn), tokens, adminTokenFile(dataPath), silentLogger).rotate();
      out(rotated);
    } finally {
      await storage.close();
    }
  },
};
