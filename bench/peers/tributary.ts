import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { User } from '../../src/client';
import type { ApplyObserver } from '../../src/changeset';
import { Realm } from '../../src/realm';
import { AckGate } from './ack-gate';
import { mapLimit } from './pool';
import { startServerChild, type ServerChild } from './server-child';
import { BODY, type Deployment, type OpenOptions, type PeerClient, type PeerSystem } from './types';

const REPO = path.resolve(__dirname, '..', '..');
const PASSWORD = 'bench-password-1';
export const ITEM_SCHEMA = [{ name: 'Item', primaryKey: 'id', properties: { id: 'string', sentAt: 'double', body: 'string' } }];

/** A registered user of the template data directory. */
export interface Identity {
  identity: string;
  refreshToken: string;
}

/** What a Tributary client needs: users, realm URLs, a place for its replica. */
export interface TributaryClientContext {
  /** The logged-in user of identity `i` (after {@link Deployment.prepareClients}). */
  user(i: number): User;
  /** `realm://…` of a room: under user 0's path when shared, else under the client's own (`~`). */
  realmUrl(room: string, shared: boolean): string;
  /** Where a client's local replica goes. */
  replicaPath(name: string): string;
}

export interface TributaryDeployment extends Deployment, TributaryClientContext {
  readonly url: string;
  readonly identities: Identity[];
  /** Directory for client replicas (child processes put theirs here too). */
  readonly clientDir: string;
}

/**
 * A client context for another process (bystander, offline clients): logs `identities` in with
 * their refresh tokens; shared rooms live under `owner`'s path.
 */
export async function loginContext(port: number, identities: Identity[], owner: string, clientDir: string): Promise<TributaryClientContext> {
  const url = `http://127.0.0.1:${port}`;
  const users = await Promise.all(identities.map((id) => User.authenticate(url, { provider: 'refresh', refreshToken: id.refreshToken })));
  return {
    user: (i) => users[i] ?? fail(`user ${i} is not logged in`),
    realmUrl: (room, shared) => `realm://127.0.0.1:${port}/${shared ? owner : '~'}/${room}`,
    replicaPath: (name) => path.join(clientDir, `${name}.db`),
  };
}

/**
 * Tributary as a `tributary serve` child on a durable SQLite data directory (the OS temp
 * directory, fsync on). Users are registered once, through POST /auth, on a template data
 * directory; every deployment starts a fresh server on a copy of it and logs its clients in with
 * their refresh tokens (no scrypt per phase). The shared rooms (`/<user 0>/<room>`) get a `write`
 * grant for everyone (`*`) through the admin API of the template server.
 */
export class TributarySystem implements PeerSystem {
  readonly name = 'tributary' as const;
  private identities: Identity[] = [];
  private deployments = 0;

  constructor(
    /** Server data directories (on disk: the server is durable, with fsync). */
    private readonly workDir: string,
    /** Client replicas (see docs/benchmarks.md § peers for why tmpfs by default). */
    private readonly clientRoot: string,
    private readonly userCount: number,
    private readonly sharedRooms: string[],
  ) {}

  private get templateDir(): string {
    return path.join(this.workDir, 'template');
  }

  async prepare(log: (line: string) => void): Promise<void> {
    const server = await this.startServer(this.templateDir);
    const started = performance.now();
    try {
      this.identities = await mapLimit(this.userCount, 8, (i) => register(server.port, `bench-${i}`));
      // Everyone may write the shared rooms (user 0 owns them): one '*' grant each, through the
      // admin API.
      const owner = this.identities[0]!.identity;
      const adminToken = (JSON.parse(fs.readFileSync(path.join(this.templateDir, 'keys', 'admin.json'), 'utf8')) as { ADMIN_TOKEN: string }).ADMIN_TOKEN;
      for (const room of this.sharedRooms) {
        const res = await fetch(`http://127.0.0.1:${server.port}/admin/permissions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
          body: JSON.stringify({ path: `/${owner}/${room}`, user: '*', accessLevel: 'write' }),
        });
        if (!res.ok) throw new Error(`granting /${owner}/${room}: HTTP ${res.status} ${await res.text()}`);
      }
    } finally {
      await server.stop();
    }
    log(`  tributary: registered ${this.userCount} users in ${((performance.now() - started) / 1000).toFixed(1)} s (scrypt; not timed in any figure)`);
  }

  private startServer(dataDir: string): Promise<ServerChild> {
    // BENCH_TRIBUTARY_ARGS: extra `tributary serve` options, e.g. "--upload-slice-ms 4".
    const extra = (process.env.BENCH_TRIBUTARY_ARGS ?? '').split(' ').filter(Boolean);
    return startServerChild(compiledCli(), ['serve', '--port', '0', '--address', '127.0.0.1', '--data', dataDir, ...extra]);
  }

  async deploy(): Promise<TributaryDeployment> {
    const dir = path.join(this.workDir, `deployment-${++this.deployments}`);
    const clientDir = path.join(this.clientRoot, `deployment-${this.deployments}-clients`);
    fs.cpSync(this.templateDir, path.join(dir, 'server'), { recursive: true });
    fs.mkdirSync(clientDir, { recursive: true });
    const server = await this.startServer(path.join(dir, 'server'));
    const url = `http://127.0.0.1:${server.port}`;
    const identities = this.identities;
    const users: User[] = [];
    const clients = new Set<PeerClient>();
    const deployment: TributaryDeployment = {
      server,
      url,
      identities,
      clientDir,
      user: (i) => users[i] ?? fail(`user ${i} is not logged in`),
      realmUrl: (room, shared) => `realm://127.0.0.1:${server.port}/${shared ? identities[0]!.identity : '~'}/${room}`,
      replicaPath: (name) => path.join(clientDir, `${name}.db`),
      async prepareClients(count) {
        if (count > identities.length) throw new Error(`only ${identities.length} users were prepared, ${count} asked`);
        await mapLimit(count, 16, async (i) => {
          users[i] ??= await User.authenticate(url, { provider: 'refresh', refreshToken: identities[i]!.refreshToken });
        });
      },
      async open(room, options) {
        const client = await openTributaryClient(deployment, room, options);
        clients.add(client);
        return client;
      },
      async stop() {
        for (const c of clients) await c.close();
        for (const u of users) u?.logout();
        await server.stop();
        fs.rmSync(dir, { recursive: true, force: true });
        fs.rmSync(clientDir, { recursive: true, force: true });
      },
    };
    return deployment;
  }
}

let cliChecked: string | undefined;

/**
 * The compiled CLI (`dist/src/cli/main.js`), what an installed package runs: the server is
 * measured as deployed, not through the TypeScript loader (tsx's per-closure `__name` calls and
 * compile caches cost memory and CPU that production does not pay). Builds it first when it is
 * missing or older than any source file; BENCH_SERVER_SOURCE=1 runs the sources through tsx.
 */
export function compiledCli(): string {
  if (process.env.BENCH_SERVER_SOURCE === '1') return path.join(REPO, 'src', 'cli', 'main.ts');
  if (cliChecked) return cliChecked;
  const cli = path.join(REPO, 'dist', 'src', 'cli', 'main.js');
  const built = fs.existsSync(cli) ? fs.statSync(cli).mtimeMs : 0;
  if (built < newestSource([path.join(REPO, 'src'), path.join(REPO, 'connectors')])) {
    console.log('  tributary: building the server (npm run build) so that the compiled code is measured');
    execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', 'build'], { cwd: REPO, stdio: 'inherit' });
  }
  cliChecked = cli;
  return cli;
}

function newestSource(dirs: string[]): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  for (const d of dirs) if (fs.existsSync(d)) walk(d);
  return newest;
}

function fail(message: string): never {
  throw new Error(message);
}

async function register(port: number, username: string): Promise<Identity> {
  const res = await fetch(`http://127.0.0.1:${port}/auth`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ provider: 'password', username, password: PASSWORD, register: true }),
  });
  const json = (await res.json()) as { identity?: string; refreshToken?: string };
  if (!res.ok || !json.identity || !json.refreshToken) throw new Error(`registering ${username}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return { identity: json.identity, refreshToken: json.refreshToken };
}

/**
 * A synced Realm of its own user (so its own WebSocket). A change creates one `Item`. Readers
 * learn of new objects from the replica's apply observer and are timed in a microtask, i.e.
 * after the download's replica transaction has committed.
 */
export async function openTributaryClient(context: TributaryClientContext, room: string, options: OpenOptions): Promise<PeerClient> {
  const realm = await Realm.open({
    schema: ITEM_SCHEMA as any,
    sync: { user: context.user(options.user), url: context.realmUrl(room, options.shared) },
    path: context.replicaPath(`${room}-${options.user}`),
  });
  const replica = realm._replica;
  const unacked = () => replica.lastClientVersion - replica.progress.acknowledged.clientVersion;
  const gate = new AckGate(unacked);
  let observer: ApplyObserver | undefined;
  if (options.onDelivery) {
    const deliver = options.onDelivery;
    let arrived: Array<[string, number]> = [];
    const flush = () => {
      const batch = arrived;
      arrived = [];
      for (const [key, sentAt] of batch) deliver(key, sentAt);
    };
    observer = {
      created(type, id) {
        if (type !== 'Item') return;
        const rec = replica.getObject('Item', id);
        if (!rec) return;
        if (arrived.push([String(id), rec.values.sentAt as number]) === 1) queueMicrotask(flush);
      },
    };
  }
  const unsubscribe = replica.addExtension({
    observer,
    committed: (e) => {
      if (e.origin !== 'local') gate.check();
    },
  });
  let closed = false;
  return {
    write(key, sentAt) {
      realm.write(() => realm.create('Item', { id: key, sentAt, body: BODY }));
    },
    unacked,
    whenUnackedBelow: (limit) => gate.whenBelow(limit),
    async close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      realm.close();
    },
  };
}
