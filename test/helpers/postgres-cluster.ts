import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * A throw-away PostgreSQL cluster for connector tests (conventions §13): initdb into /tmp, trust
 * auth on 127.0.0.1 only, a random free port, wal_level=logical, fsync off. Never touches a
 * server the machine already runs (e.g. on 5432).
 */
export interface TestCluster {
  url: string;
  dir: string;
  dataDir: string;
  bin: string;
  port: number;
  /** Run the cluster's binaries as this user (root cannot run postgres). */
  runAs: string | null;
}

const CANDIDATE_BINS = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/14/bin'];

export function findPostgresBin(): string | null {
  const fromEnv = process.env.TRIBUTARY_TEST_PG_BIN;
  for (const dir of fromEnv ? [fromEnv] : CANDIDATE_BINS) {
    if (fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'))) return dir;
  }
  try {
    const listed = execFileSync('dpkg', ['-L', 'postgresql-15'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const initdb = listed.split('\n').find((l) => l.endsWith('/bin/initdb'));
    if (initdb) return path.dirname(initdb);
  } catch {
    // no dpkg or no package
  }
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function run(cluster: Pick<TestCluster, 'bin' | 'runAs'>, tool: string, args: string[]): void {
  const exe = path.join(cluster.bin, tool);
  const [cmd, argv] = cluster.runAs ? ['runuser', ['-u', cluster.runAs, '--', exe, ...args]] : [exe, args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${tool} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout || r.error}`);
}

export async function startTestCluster(bin: string, overrides: Record<string, string> = {}): Promise<TestCluster> {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const runAs = isRoot ? 'postgres' : null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-pg-'));
  const dataDir = path.join(dir, 'data');
  if (runAs) execFileSync('chown', [runAs, dir]);
  const cluster: TestCluster = { url: '', dir, dataDir, bin, port: 0, runAs };
  run(cluster, 'initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
  const settings = [
    'listen_addresses=127.0.0.1',
    `unix_socket_directories=${dir}`,
    'wal_level=logical',
    'max_replication_slots=100', // each connector holds a slot and, once used, a replication-origin state entry
    'max_wal_senders=40',
    'max_connections=200',
    'fsync=off',
    'full_page_writes=off',
    'shared_buffers=64MB',
    'TimeZone=UTC',
    ...Object.entries(overrides).map(([k, v]) => `${k}=${v}`),
  ];
  fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), '\n# tributary test cluster\n' + settings.map((s) => s.replace('=', " = '") + "'").join('\n') + '\n');
  fs.writeFileSync(path.join(dataDir, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\nlocal replication all trust\nhost replication all 127.0.0.1/32 trust\n');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      run(cluster, 'pg_ctl', ['-D', dataDir, '-l', path.join(dir, 'server.log'), '-o', `-p ${port}`, '-w', '-t', '30', 'start']);
      cluster.port = port;
      break;
    } catch (e) {
      if (attempt >= 2) throw e;
    }
  }
  cluster.url = `postgres://postgres@127.0.0.1:${cluster.port}/postgres`;
  startWatchdog(cluster);
  return cluster;
}

/**
 * Stops the cluster if the process that started it dies without its teardown (a killed jest,
 * `timeout`), so no postgres outlives the test run. Exits by itself once the directory is gone.
 */
function startWatchdog(cluster: TestCluster): void {
  const pgCtl = path.join(cluster.bin, 'pg_ctl');
  const stop = cluster.runAs ? `runuser -u ${cluster.runAs} -- ${pgCtl}` : pgCtl;
  const script = `while kill -0 ${process.pid} 2>/dev/null && [ -d '${cluster.dataDir}' ]; do sleep 2; done; if [ -d '${cluster.dataDir}' ]; then ${stop} -D '${cluster.dataDir}' -m immediate -w stop >/dev/null 2>&1; rm -rf '${cluster.dir}'; fi`;
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  child.unref();
}

export function stopTestCluster(cluster: TestCluster): void {
  try {
    run(cluster, 'pg_ctl', ['-D', cluster.dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop']);
  } finally {
    fs.rmSync(cluster.dir, { recursive: true, force: true });
  }
}
