/**
 * From a decoded command to a reply document: validation of the generic arguments ($db, lsid,
 * txnNumber, readConcern), fail points, session and transaction routing, the handler, and then the
 * reply's `ok`, error fields, error labels and (on a replica set) `$clusterTime` and `operationTime`.
 * Transport-free: connection.ts feeds it and writes what it returns.
 */
import { Binary, Long } from 'mongodb';
import type { Document } from 'mongodb';
import { isPlainDocument } from './bson-values';
import { fromTimestamp, toTimestamp, type ClusterTime } from './cluster-clock';
import { validateDatabaseName } from './commands/arguments';
import type { CommandContext } from './commands/context';
import { helloReply } from './commands/hello';
import { COMMANDS, type CommandSpec } from './commands/registry';
import { errorLabelsFor, type LabelContext } from './error-labels';
import { ErrorCode, fail, MongoCommandError } from './errors';
import type { FailureAction } from './fail-points';
import type { ServerState } from './server-state';
import { routeCommand, type Routing } from './sessions/routing';

export interface ConnectionInfo {
  id: number;
  signal: AbortSignal;
  /** The application name the driver sent in its handshake (for failCommand's appName). */
  appName: string | undefined;
}

export type Outcome = { reply: Document } | { closeConnection: true };

const ZERO_HASH = new Binary(Buffer.alloc(20), 0);

export class Dispatcher {
  constructor(private readonly state: ServerState) {}

  async dispatch(command: Document, connection: ConnectionInfo): Promise<Outcome> {
    const name = Object.keys(command)[0] ?? '';
    const labelContext: LabelContext = {
      command: name,
      inTransaction: command.autocommit === false,
      retryableWrite: command.txnNumber !== undefined && command.autocommit === undefined,
      changeStreamGetMore: name === 'getMore' && command.getMore instanceof Long && this.state.cursors.get(command.getMore)?.source.kind === 'changeStream',
    };
    let failure: FailureAction | undefined;
    let ctx: CommandContext | undefined;
    try {
      const spec = COMMANDS.get(name);
      if (!spec) throw new MongoCommandError(ErrorCode.CommandNotFound, `no such command: '${name}'`);
      if (command.$db === undefined) throw new MongoCommandError(ErrorCode.MissingDbArgument, 'OP_MSG requests require a $db argument');
      const db = validateDatabaseName(command.$db);
      if (spec.adminOnly && db !== 'admin') {
        throw new MongoCommandError(ErrorCode.Unauthorized, `${name} may only be run against the admin database.`);
      }
      this.gossip(command.$clusterTime);
      failure = this.state.failPoints.take(name, connection.appName);
      if (failure) {
        if (failure.blockTimeMS) await delay(failure.blockTimeMS, connection.signal);
        if (failure.closeConnection) return { closeConnection: true };
        if (failure.errorCode !== undefined) {
          throw new MongoCommandError(failure.errorCode, failure.errmsg ?? `Failing command via 'failCommand' failpoint`);
        }
      }
      if (name === 'hello' || name === 'isMaster' || name === 'ismaster') {
        return { reply: this.finish(helloReply(this.state, command, connection.id), undefined) };
      }
      const routing = routeCommand(this.state, name, spec, command);
      ctx = {
        state: this.state,
        name,
        command,
        db,
        session: routing.session,
        transaction: routing.transaction,
        retryableWrite: routing.retryableWrite,
        readAt: undefined,
        signal: connection.signal,
        connectionId: connection.id,
        operationTime: undefined,
      };
      const context = ctx;
      const run = (): Promise<Document> => this.run(spec, context, routing);
      let reply = routing.session && command.txnNumber !== undefined ? await routing.session.checkout(run) : await run();
      if (failure?.writeConcernError) {
        reply = { ...reply, writeConcernError: failure.writeConcernError };
        const code = typeof failure.writeConcernError.code === 'number' ? failure.writeConcernError.code : 0;
        const labels = failure.errorLabels ?? errorLabelsFor(code, labelContext);
        if (labels.length > 0) reply.errorLabels = labels;
      }
      return { reply: this.finish(reply, ctx.operationTime) };
    } catch (thrown) {
      // A bug in the server must reach the test as a failed command, not as a dropped connection.
      const error = thrown instanceof MongoCommandError
        ? thrown
        : new MongoCommandError(ErrorCode.InternalError, `test server bug: ${(thrown as Error)?.stack ?? String(thrown)}`);
      const txn = ctx?.transaction;
      if (txn && txn.state === 'inProgress' && !(failure && COMMANDS.get(name)?.endsTransaction)) {
        txn.abort(`a command in it failed: ${error.message}`);
      }
      const labels = failure?.errorLabels ?? errorLabelsFor(error.code, labelContext, error.labels);
      const reply: Document = { ok: 0, errmsg: error.message, code: error.code, codeName: error.codeName, ...(error.extra ?? {}) };
      if (labels.length > 0) reply.errorLabels = labels;
      return { reply: this.decorate(reply, ctx?.operationTime) };
    }
  }

  private async run(spec: CommandSpec, ctx: CommandContext, routing: Routing): Promise<Document> {
    const session = routing.session;
    if (routing.retryableWrite && session) {
      const last = session.lastRetryableWrite;
      if (last && last.txnNumber.equals(routing.retryableWrite)) return last.reply;
      if (session.transaction?.state === 'inProgress') session.transaction.abort('a retryable write with a newer txnNumber started');
      session.txnNumber = routing.retryableWrite;
    }
    if (!ctx.transaction) this.applyReadConcern(spec, ctx);
    // A session's snapshot stays readable only while it keeps reading at it (a pooled implicit
    // session going on to other work must not hold old versions for the whole window).
    if (session?.snapshot && ctx.readAt === undefined && ctx.name !== 'getMore' && ctx.name !== 'killCursors') session.releaseSnapshot();
    const reply = await spec.run(ctx);
    if (routing.retryableWrite && session) session.lastRetryableWrite = { txnNumber: routing.retryableWrite, reply };
    return reply;
  }

  /** `readConcern: { level: 'snapshot' [, atClusterTime] }` outside a transaction: a snapshot read. */
  private applyReadConcern(spec: CommandSpec, ctx: CommandContext): void {
    const readConcern = ctx.command.readConcern;
    if (!isPlainDocument(readConcern)) return;
    const level = readConcern.level;
    if (readConcern.atClusterTime !== undefined && level !== 'snapshot') {
      fail('InvalidOptions', 'readConcern.atClusterTime can only be specified with level "snapshot"');
    }
    if (level !== 'snapshot') return;
    if (!spec.reads) fail('InvalidOptions', `readConcern level 'snapshot' is not supported by ${ctx.name}`);
    if (!this.state.isReplicaSet) fail('IllegalOperation', `readConcern level 'snapshot' is only supported on replica sets`);
    const engine = this.state.engine;
    let time: ClusterTime = engine.clock.current;
    if (readConcern.atClusterTime !== undefined) {
      time = fromTimestamp(readConcern.atClusterTime);
      const oldest = ctx.session?.snapshot?.time ?? engine.catalog.oldestReader ?? engine.clock.current;
      if (time < oldest) {
        throw new MongoCommandError(ErrorCode.SnapshotTooOld, `Read timestamp ${toTimestamp(time).toString()} is older than the oldest available timestamp.`);
      }
      if (time > engine.clock.current) fail('InvalidOptions', `readConcern.atClusterTime is in the future`);
    }
    const session = ctx.session;
    if (session && session.snapshot?.time !== time) {
      session.releaseSnapshot();
      session.snapshot = { time, release: engine.catalog.pin(time) };
    }
    ctx.readAt = time;
    ctx.operationTime = time;
  }

  private gossip(clusterTime: unknown): void {
    if (!this.state.isReplicaSet || !isPlainDocument(clusterTime)) return;
    const ts = clusterTime.clusterTime;
    if (ts && typeof ts === 'object' && (ts as { _bsontype?: string })._bsontype === 'Timestamp') {
      this.state.engine.clock.advanceTo(fromTimestamp(ts as Parameters<typeof fromTimestamp>[0]));
    }
  }

  private finish(reply: Document, operationTime: ClusterTime | undefined): Document {
    return this.decorate({ ...reply, ok: 1 }, operationTime);
  }

  private decorate(reply: Document, operationTime: ClusterTime | undefined): Document {
    if (!this.state.isReplicaSet) return reply;
    const now = this.state.engine.clock.current;
    reply.$clusterTime = { clusterTime: toTimestamp(now), signature: { hash: ZERO_HASH, keyId: Long.ZERO } };
    reply.operationTime = toTimestamp(operationTime ?? now);
    return reply;
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
