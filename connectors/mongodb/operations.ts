import { MongoClient, type Timestamp } from 'mongodb';
import type { Logger } from '../../src/shared/logger';
import { formatDeadLetter, type DeadLetterRecord } from '../kit/dead-letters';
import { connectorError } from '../kit/errors';
import { controlRealmPath } from '../kit/position';
import { resetControlRealm } from '../kit/realm-side';
import { runChecks, type ConnectionCheck } from '../kit/test-connection';
import { clientOptions, redactUrl, type MongoConnectorConfig, type ResolvedOptions } from './config';
import { mongoDeadLetters } from './dead-letters';
import { CHANGE_STREAM_STANDALONE, fromDriverError, ILLEGAL_OPERATION, mongoCode } from './errors';
import { resolveMapping } from './mapping';

type Config = MongoConnectorConfig & { resolved: ResolvedOptions };

/**
 * The MongoDB connector without a running connector: prerequisites (a replica set), the cluster
 * time, `testConnection`, `status` (inspect), `reset` and dead letters.
 */

/** Throws MONGO_REPLICA_SET_REQUIRED for a standalone server (change streams and transactions need a replica set or a sharded cluster). */
export async function checkReplicaSet(client: MongoClient, url: string): Promise<string> {
  let hello: Record<string, unknown>;
  try {
    hello = await client.db('admin').command({ hello: 1 });
  } catch (e) {
    throw fromDriverError(e, `asking ${redactUrl(url)} for hello`);
  }
  if (typeof hello.setName === 'string') return `replica set ${hello.setName}${hello.isWritablePrimary ? ', primary' : ''}`;
  if (hello.msg === 'isdbgrid') return 'sharded cluster (mongos)';
  throw replicaSetRequired(url);
}

export function replicaSetRequired(url: string, cause?: unknown) {
  return connectorError(
    'MONGO_REPLICA_SET_REQUIRED',
    `${redactUrl(url)} is a standalone MongoDB server; the connector needs a replica set or a sharded cluster (change streams and transactions). A single-node replica set is enough: start mongod with --replSet rs0, run rs.initiate() once, and add ?replicaSet=rs0 to the URL`,
    cause,
  );
}

/** True for the errors a standalone server gives change streams and transactions. */
export function isStandaloneError(e: unknown): boolean {
  const c = mongoCode(e);
  return c === CHANGE_STREAM_STANDALONE || c === ILLEGAL_OPERATION;
}

/** The deployment's current cluster time (the operationTime of a ping). */
export async function currentTime(client: MongoClient): Promise<Timestamp> {
  const session = client.startSession({ causalConsistency: true });
  try {
    await client.db('admin').command({ ping: 1 }, { session });
    if (!session.operationTime) throw connectorError('MONGO_REPLICA_SET_REQUIRED', 'MongoDB returned no operationTime (a standalone server?)');
    return session.operationTime;
  } finally {
    await session.endSession().catch(() => undefined);
  }
}

export async function withClient<T>(config: Config, fn: (client: MongoClient) => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const client = new MongoClient(config.resolved.url, clientOptions(config.resolved.url, timeoutMs));
  try {
    try {
      await client.connect();
    } catch (e) {
      throw fromDriverError(e, `connecting to MongoDB at ${redactUrl(config.resolved.url)}`);
    }
    return await fn(client);
  } finally {
    await client.close(true).catch(() => undefined);
  }
}

/** testConnection's database checks: reachable, a replica set, the mapping against the database. */
export async function testMongoConnection(config: Config): Promise<ConnectionCheck[]> {
  let client: MongoClient | null = null;
  try {
    return await runChecks([
      {
        name: 'database',
        run: async () => {
          client = new MongoClient(config.resolved.url, clientOptions(config.resolved.url));
          try {
            await client.connect();
            const info = await client.db('admin').command({ buildInfo: 1 });
            return `${redactUrl(config.resolved.url)} answers (MongoDB ${String(info.version)})`;
          } catch (e) {
            throw fromDriverError(e, `connecting to MongoDB at ${redactUrl(config.resolved.url)}`);
          }
        },
      },
      { name: 'replica set', run: () => checkReplicaSet(client!, config.resolved.url) },
      {
        name: 'mapping',
        run: async () => {
          const m = await resolveMapping(client!.db(config.resolved.database), config, config.resolved, null);
          const conflicts = m.report.conflicts.length;
          return `${m.tables.size} collection(s) mapped in ${config.resolved.database}${conflicts ? `; ${conflicts} schema conflict(s): ${m.report.warnings.join('; ')}` : ''}`;
        },
      },
    ]);
  } finally {
    await (client as MongoClient | null)?.close(true).catch(() => undefined);
  }
}

export interface MongoDatabaseStatus {
  database: string;
  applyPositions: { realmPath: string; txn: number }[];
  deadLetters: DeadLetterRecord[];
  deadLetterCount: number;
}

export async function inspectMongoConnector(config: Config): Promise<MongoDatabaseStatus> {
  const o = config.resolved;
  return withClient(config, async (client) => {
    const db = client.db(o.database);
    const positions = await db.collection(o.positionsCollection).find({ connector: o.name }).toArray();
    const store = mongoDeadLetters(o.name, o.deadLettersCollection);
    const tx = { db, session: undefined };
    return { database: o.database, applyPositions: positions.map((p) => ({ realmPath: String(p.realmPath), txn: Number(p.txn) })), deadLetters: await store.list(tx, 20), deadLetterCount: await store.count(tx) };
  });
}

export function formatStatus(s: MongoDatabaseStatus, o: ResolvedOptions): string {
  const lines = [`connector ${o.name} on database ${s.database} (control realm ${controlRealmPath(o.name)})`, `apply positions: ${s.applyPositions.length === 0 ? 'none' : ''}`];
  for (const p of s.applyPositions) lines.push(`  ${p.realmPath}  txn ${p.txn}`);
  lines.push(`dead letters: ${s.deadLetterCount}`);
  for (const d of s.deadLetters) lines.push('  ' + formatDeadLetter(d));
  return lines.join('\n') + '\n';
}

export interface MongoResetResult {
  applyPositionsDeleted: number;
  loadMarkCleared: boolean;
}

/** A stopped connector's next start loads afresh: its apply positions are deleted and its completed-load record (with the resume token) removed. */
export async function resetMongoConnector(config: Config, log: Logger): Promise<MongoResetResult> {
  const o = config.resolved;
  const applyPositionsDeleted = await withClient(config, async (client) => (await client.db(o.database).collection(o.positionsCollection).deleteMany({ connector: o.name })).deletedCount);
  log.info('mongodb connector reset: apply positions removed', { applyPositionsDeleted });
  const loadMarkCleared = await resetControlRealm({ config, name: o.name, label: 'mongodb connector', databaseCleared: 'the apply positions are deleted', nextStart: 'run reset again to clear the resume point' });
  return { applyPositionsDeleted, loadMarkCleared };
}

export async function clearMongoDeadLetters(config: Config, ids: number[] | 'all'): Promise<number> {
  const o = config.resolved;
  return withClient(config, (client) => mongoDeadLetters(o.name, o.deadLettersCollection).clear({ db: client.db(o.database), session: undefined }, ids === 'all' ? undefined : ids));
}
