import { MongoClient, type ChangeStream, type Db, type Document } from 'mongodb';
import type { Adapter } from '../../src/adapter';
import type { User } from '../../src/client';
import { TributaryError } from '../../src/errors';
import { silentLogger, type Logger } from '../../src/shared/logger';
import type { Connector } from '../contract';
import { errorCodeOf } from '../kit/errors';
import type { LoadProgress } from '../kit/load-progress';
import { PlacementRouter, placementPattern } from '../kit/placement';
import { indexFromRealms } from '../kit/placement-index';
import { quiesceConnector } from '../kit/quiesce';
import { adapterReady, adminUserOf, ControlRealm, openAdapter } from '../kit/realm-side';
import { RealmSink } from '../kit/realm-sink';
import { runStreamLoop } from '../kit/retry';
import type { CommonConnectorStatus, ConnectorState } from '../kit/status';
import { PositionWaiters } from '../kit/waiters';
import { MongoApply } from './apply';
import { EventGroup, MongoCapture, transactionKey, type CaptureStatus, type ChangeEvent } from './capture';
import { clientOptions, redactUrl, validateConfig, type MongoConnectorConfig, type ResolvedOptions } from './config';
import { positionId } from './dead-letters';
import { classify, connectorError, fromDriverError, HISTORY_LOST, mongoCode } from './errors';
import { loadSnapshot } from './load';
import { resolveMapping, type Doc, type FieldReport, type ResolvedMapping, type ResolvedTable } from './mapping';
import { checkReplicaSet, currentTime } from './operations';
import { mongoPositionCodec, nextTime, resumeOptions, timePosition, type MongoPosition } from './position';

export interface MongoConnectorOptions {
  adminUser?: User;
  log?: Logger;
  onProgress?: (p: LoadProgress) => void;
  /** Tests only: with false, capture does not skip the connector's own transactions (the echo-guard test). */
  echoGuard?: boolean;
}

export interface MongoConnectorStatus extends CommonConnectorStatus {
  /** Everything before this position is in the realms and acknowledged (a resume token, `~` = just after it). */
  confirmed: string | null;
  /** The connector's own marker writes seen (barriers, caughtUp), not counted in `transactions`. */
  markers: number;
  /** Re-loads after the resume point fell out of the oplog (ChangeStreamHistoryLost, 286). */
  resyncs: number;
  /** Source transactions of more than `spillThreshold` events (buffered on disk while written). */
  spilledTransactions: number;
  /** realm-wins: withheld database changes written into a realm after all (the connector's own transaction left their documents alone; docs/connectors/mongodb.md, "Conflicts"). */
  releasedWithheld: number;
  indexedRows: number;
  /** Fields that did not fit their property, fields without one, schema conflicts of the sample. */
  fields: { unfit: number; unmapped: number; conflicts: FieldReport['conflicts'] };
  /** Realm list edits written as positional array updates, and lists written whole (`$set` of the array). */
  lists: { positional: number; whole: number };
}

/**
 * MongoDB ↔ realms on the connector kit (docs/connectors/mongodb.md): a change stream on the mapped
 * database into realms written through the kit's sink (resume tokens stored in the realms with the
 * data), an initial load from one snapshot aligned with the stream's start, a resync when the
 * resume point left the oplog; the Adapter stream back into collections through the kit's apply
 * loop, in session transactions that carry the apply position (and mark the connector's own writes).
 *
 * @example
 * const c = new MongoConnector({ name: 'shop', url: 'mongodb://127.0.0.1/?replicaSet=rs0', database: 'shop',
 *   serverUrl: 'realm://127.0.0.1:9080', adminTokenFile: './data/keys/admin.json', localPath: './connector-data',
 *   realm: '/shop', tables: { item: { type: 'Item' } }, schema: { item: { _id: 'objectId', label: 'string?' } } });
 * await c.start();
 */
export class MongoConnector implements Connector {
  readonly config: MongoConnectorConfig & { resolved: ResolvedOptions };
  private readonly log: Logger;
  private client: MongoClient | null = null;
  private applyClient: MongoClient | null = null;
  private db: Db | null = null;
  private adapter: Adapter | null = null;
  private sink: RealmSink<ResolvedTable, Doc, MongoPosition> | null = null;
  private router: PlacementRouter<ResolvedTable, Doc> | null = null;
  private capture: MongoCapture | null = null;
  private applier: MongoApply | null = null;
  private control: ControlRealm | null = null;
  private mapping: ResolvedMapping | null = null;
  private stream: ChangeStream<Document, ChangeEvent> | null = null;
  private state: ConnectorState = 'stopped';
  private lastError: Error | null = null;
  private stopping = false;
  private halted = false;
  private loop: Promise<void> | null = null;
  private readonly processed = new PositionWaiters<MongoPosition>(mongoPositionCodec.compare);
  private saved: MongoPosition | null = null;
  private saving: Promise<void> = Promise.resolve();
  private saveQueued = false;
  private kept: Partial<CaptureStatus> = {};
  /** Capture failed (the sync server did not acknowledge): the stream is closed and reopened from the confirmed position. */
  private restartStream = false;

  constructor(
    config: MongoConnectorConfig,
    private readonly options: MongoConnectorOptions = {},
  ) {
    this.config = validateConfig(config);
    this.log = (options.log ?? silentLogger).child({ connector: 'mongodb', name: this.config.name });
  }

  private get o(): ResolvedOptions {
    return this.config.resolved;
  }

  async start(): Promise<void> {
    const o = this.o;
    this.state = 'starting';
    this.stopping = false;
    this.halted = false;
    try {
      this.client = new MongoClient(o.url, clientOptions(o.url));
      await this.client.connect().catch((e) => {
        throw fromDriverError(e, `connecting to MongoDB at ${redactUrl(o.url)}`);
      });
      await checkReplicaSet(this.client, o.url);
      this.db = this.client.db(o.database);
      this.mapping = await resolveMapping(this.db, this.config, o, this.log);
      const mapping = this.mapping;
      const admin = this.options.adminUser ?? adminUserOf(this.config, 'mongodb connector');
      const placementOf = (x: string) => mapping.tables.get(x)!.placement;
      const patterns = [...mapping.tables.values()].map((t) => placementPattern(t.placement, placementOf));
      this.adapter = openAdapter({ localPath: this.config.localPath, serverUrl: this.config.serverUrl, admin, patterns, onChange: (p) => this.applier?.schedule(p), log: this.log });
      this.sink = new RealmSink(this.adapter, mapping.codec(), mongoPositionCodec, o.name);
      this.router = new PlacementRouter(mapping.tables, mapping.placementRows());
      this.applyClient = new MongoClient(o.url, clientOptions(o.url));
      await this.applyClient.connect();
      this.applier = new MongoApply(this.adapter, mapping, this.applyClient, this.applyClient.db(o.database), this.sink, this.router, { barrier: () => this.barrier(), onStopped: (e) => this.halt(e) }, this.log);
      this.control = await ControlRealm.open(this.adapter, o.name);
      let from: MongoPosition;
      const loaded = this.control.loadedFrom;
      if (loaded) {
        from = mongoPositionCodec.parse(loaded);
        this.log.info('mongodb connector: resuming the change stream', { from });
        await this.indexRealms();
      } else if (o.initialLoad === 'from-database') {
        this.state = 'loading';
        const r = await loadSnapshot({ client: this.client, db: this.db, mapping, sink: this.sink, router: this.router, log: this.log, onProgress: this.options.onProgress });
        for (const p of r.touched) await this.sink.uploaded(p);
        from = r.position;
        await this.control.markLoaded(from);
      } else {
        await this.indexRealms();
        from = timePosition(nextTime(await currentTime(this.client)));
        await this.control.markLoaded(from);
      }
      this.saved = from;
      this.capture = this.newCapture(from);
      try {
        await this.openStream(from);
      } catch (e) {
        if (mongoCode(e) !== HISTORY_LOST) throw e;
        await this.reload(e); // stopped longer than the oplog keeps: resync before streaming
      }
      this.state = 'streaming';
      this.loop = this.run();
      const killed = await this.applier.killEarlierSessions();
      if (killed > 0) this.log.info('mongodb connector: killed the apply sessions of an earlier run (their open transactions are aborted)', { sessions: killed });
      await this.applier.start();
    } catch (e) {
      this.state = 'failed';
      this.lastError = e as Error;
      this.stopping = true;
      this.processed.rejectAll(connectorError('CONNECTOR_SOURCE_UNAVAILABLE', 'the connector failed to start'));
      await this.shutdown();
      throw e;
    }
  }

  private async indexRealms(): Promise<void> {
    await adapterReady(this.adapter!);
    await indexFromRealms({ paths: this.adapter!.paths, tables: this.mapping!.tables.values(), sink: this.sink!, router: this.router!, log: this.log, label: 'mongodb connector' });
  }

  private newCapture(from: MongoPosition): MongoCapture {
    const o = this.o;
    const c = new MongoCapture(this.mapping!, this.sink!, this.router!, { database: o.database, positions: o.positionsCollection, markers: o.markersCollection, ownPrefix: positionId(o.name, '') }, this.log, from, this.kept);
    if (this.options.echoGuard === false) c.echoGuard = false;
    if (o.conflict === 'realm-wins') c.protection = this.applier;
    else c.pending = this.applier;
    c.onProcessed = (p) => this.processed.reached(p);
    c.onConfirm = (p) => this.save(p);
    c.onError = (e) => {
      this.lastError = e;
      this.restartStream = true;
      this.log.error('mongodb connector: the sync server did not acknowledge; the stream restarts', { error: String(e) });
      void this.stream?.close().catch(() => undefined);
    };
    return c;
  }

  /** The confirmed position, recorded in the control realm (after the sync server acknowledged), at most one write at a time. */
  private save(p: MongoPosition): void {
    if (this.saveQueued) return;
    this.saveQueued = true;
    this.saving = this.saving.then(async () => {
      this.saveQueued = false;
      const now = this.capture?.status.confirmed ?? p;
      if (this.saved !== null && mongoPositionCodec.compare(now, this.saved) <= 0) return;
      try {
        if (this.control && !this.control.realm.isClosed) await this.control.markLoaded(now);
        this.saved = now;
      } catch (e) {
        this.log.warn('mongodb connector: could not record the confirmed position; it is recorded with the next one', { error: String(e) });
      }
    });
  }

  /** Opens the change stream at `from` and sends its aggregate (watch() is lazy): errors at the start surface here. */
  private async openStream(from: MongoPosition): Promise<void> {
    const o = this.o;
    const namespaces = [...this.mapping!.tables.keys(), o.positionsCollection, o.markersCollection];
    const stream = this.db!.watch<Document, ChangeEvent>([{ $match: { 'ns.coll': { $in: namespaces } } }], { fullDocument: 'updateLookup', fullDocumentBeforeChange: 'whenAvailable', maxAwaitTimeMS: o.maxAwaitTimeMS, promoteValues: false, ...resumeOptions(from) } as never);
    this.stream = stream;
    this.first = await stream.tryNext();
  }

  private first: ChangeEvent | null = null;

  /** Reads events, groups them into source transactions and hands each to capture. */
  private async consume(): Promise<void> {
    const stream = this.stream!;
    const o = this.o;
    const newGroup = () => new EventGroup(o.spillThreshold, { positions: o.positionsCollection, ownPrefix: positionId(o.name, '') });
    let group = newGroup();
    const flush = () => {
      const g = group;
      group = newGroup();
      try {
        if (g.length > 0) this.capture!.handle(g);
      } finally {
        g.dispose();
      }
    };
    for (;;) {
      if (this.stopping || this.halted) return;
      let ev: ChangeEvent | null;
      if (this.first) {
        ev = this.first;
        this.first = null;
      } else if (group.length > 0 && stream.bufferedCount() === 0) {
        // The batch ended after the group: it is whole, unless the batch was cut right after it
        // (the postBatchResumeToken is then the last event's token) — ask once more.
        const lastToken = (group.last._id as { _data: string })._data;
        if ((stream.resumeToken as { _data?: string } | null)?._data !== lastToken) {
          flush();
          continue;
        }
        ev = await stream.tryNext();
        if (!ev) {
          flush();
          continue;
        }
      } else ev = await stream.next();
      if (this.stopping || this.halted) return;
      const key = transactionKey(ev);
      if (group.length > 0 && (key === null || key !== transactionKey(group.first))) flush();
      group.add(ev);
      if (key === null) flush();
    }
  }

  /** The change stream with reconnection (the kit's stream loop); a lost history resyncs. */
  private async run(): Promise<void> {
    await runStreamLoop({
      stream: async () => {
        try {
          await this.consume();
        } catch (e) {
          if (mongoCode(e) === HISTORY_LOST && !this.stopping) await this.resync(e);
          else throw e;
        }
      },
      reconnect: async () => {
        await this.capture!.drained();
        const from = this.capture!.status.confirmed;
        this.kept = { ...this.capture!.status };
        this.capture = this.newCapture(from);
        this.restartStream = false;
        await this.stream?.close().catch(() => undefined);
        if (this.stopping) return;
        await this.openStream(from);
      },
      classify: (e) => (this.restartStream || mongoCode(e) === HISTORY_LOST ? 'transient' : classify(e)),
      stopped: () => this.stopping || this.halted,
      onError: (e) => (this.lastError = e as Error),
      onState: (s) => (this.state = s),
      ended: () => connectorError('CONNECTOR_SOURCE_UNAVAILABLE', 'the change stream ended'),
      log: this.log,
      label: 'mongodb connector',
    });
  }

  /**
   * The resume point left the oplog (ChangeStreamHistoryLost, 286): the mapped collections are
   * loaded again from a new snapshot (objects whose documents are gone removed), and the stream
   * restarts at the snapshot's time. Counted in `status().resyncs`; the stream loop throws
   * `ended` next, reconnecting from the new position.
   */
  private async resync(cause: unknown): Promise<void> {
    await this.reload(cause);
    this.state = 'streaming';
    await this.consume();
  }

  /** The resync's load: a new snapshot into the realms, the position recorded, the stream reopened at it. */
  private async reload(cause: unknown): Promise<void> {
    this.log.warn('mongodb connector: the change stream history is lost (the resume point left the oplog); re-loading the mapped collections', { code: HISTORY_LOST, error: String((cause as Error).message ?? cause) });
    await this.capture!.drained();
    await this.stream?.close().catch(() => undefined);
    this.state = 'loading';
    const r = await loadSnapshot({ client: this.client!, db: this.db!, mapping: this.mapping!, sink: this.sink!, router: this.router!, log: this.log, onProgress: this.options.onProgress, resync: true });
    for (const p of r.touched) await this.sink!.uploaded(p);
    await this.control!.markLoaded(r.position);
    this.saved = r.position;
    this.kept = { ...this.capture!.status, resyncs: this.capture!.status.resyncs + 1 };
    this.capture = this.newCapture(r.position);
    this.log.info('mongodb connector: resync done', { removed: r.removed, from: r.position });
    await this.openStream(r.position);
  }

  /** A marker write (outside any transaction); resolves with its cluster time's position. */
  private async marker(): Promise<MongoPosition> {
    const session = this.client!.startSession({ causalConsistency: true });
    try {
      await this.db!.collection<{ _id: string }>(this.o.markersCollection).updateOne({ _id: this.o.name }, { $inc: { n: 1 } }, { upsert: true, session });
      const t = session.operationTime;
      if (!t) throw connectorError('CONNECTOR_SOURCE_FAILED', 'MongoDB returned no operationTime for a write (not a replica set?)');
      return timePosition(t) + '!';
    } finally {
      await session.endSession().catch(() => undefined);
    }
  }

  /** Apply's barrier: every database change committed before the call is in the realms. */
  private async barrier(timeoutMs = 30_000): Promise<void> {
    if (this.stopping) throw connectorError('CONNECTOR_SOURCE_UNAVAILABLE', 'the connector is stopping');
    const at = await this.marker();
    if (mongoPositionCodec.compare(at, this.capture?.status.processed ?? '') <= 0) return;
    await this.processed.wait(at, timeoutMs, () => connectorError('CONNECTOR_SOURCE_UNAVAILABLE', `capture did not reach the apply barrier within ${timeoutMs} ms (is the change stream down?); the realm transactions are retried`));
  }

  private halt(e: Error): void {
    if (this.stopping || this.halted) return;
    this.halted = true;
    this.lastError = e;
    this.state = 'failed';
    this.processed.rejectAll(e);
    void this.stream?.close().catch(() => undefined);
  }

  async caughtUp(timeoutMs = 60_000): Promise<void> {
    if (!this.client || !this.capture) throw new TributaryError('INVALID_STATE', 'the connector has not started');
    const at = await this.marker();
    const deadline = Date.now() + timeoutMs;
    while (!this.capture || mongoPositionCodec.compare(this.capture.status.confirmed, at) <= 0) {
      if (this.state === 'failed') throw this.lastError ?? new TributaryError('CONNECTOR_SOURCE_FAILED', 'the connector failed');
      if (Date.now() > deadline) throw new TributaryError('TIMEOUT', `the connector did not reach ${at} in ${timeoutMs} ms (at ${this.capture?.status.confirmed})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async quiesce(timeoutMs = 120_000): Promise<void> {
    await quiesceConnector(this, () => ({ adapter: this.adapter, sink: this.sink, apply: this.applier }), timeoutMs);
  }

  status(): MongoConnectorStatus {
    const s = this.capture?.status;
    const r = this.mapping?.report;
    return {
      state: this.state,
      transactions: s?.transactions ?? 0,
      skippedOwnTransactions: s?.skippedOwn ?? 0,
      replayedSkipped: s?.replayedSkipped ?? 0,
      apply: this.applier ? { ...this.applier.status } : null,
      lag: { transactions: s?.pendingAcks ?? 0, seconds: s?.oldestUnconfirmedCommitTime ? Math.max(0, (Date.now() - s.oldestUnconfirmedCommitTime.getTime()) / 1000) : 0 },
      lastCommitTime: s?.lastCommitTime ? s.lastCommitTime.toISOString() : null,
      lastError: this.lastError ? String(this.lastError.message) : null,
      lastErrorCode: errorCodeOf(this.lastError),
      warnings: [...(r?.warnings ?? [])],
      confirmed: s?.confirmed ?? null,
      markers: s?.markers ?? 0,
      resyncs: s?.resyncs ?? 0,
      spilledTransactions: s?.spilled ?? 0,
      releasedWithheld: s?.releasedWithheld ?? 0,
      indexedRows: this.router?.indexedRows ?? 0,
      fields: { unfit: r?.unfit ?? 0, unmapped: r?.unmapped ?? 0, conflicts: r?.conflicts ?? [] },
      lists: { ...(this.applier?.lists ?? { positional: 0, whole: 0 }) },
    };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.capture) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.capture.drained(), new Promise((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer);
      this.save(this.capture.status.confirmed);
      await this.saving;
    }
    this.processed.rejectAll(connectorError('CONNECTOR_SOURCE_UNAVAILABLE', 'the connector is stopping'));
    await this.shutdown();
    await this.loop?.catch(() => undefined);
    this.state = 'stopped';
  }

  private async shutdown(): Promise<void> {
    await this.applier?.stop().catch(() => undefined);
    this.applier = null;
    await this.stream?.close().catch(() => undefined);
    this.stream = null;
    await this.client?.close(true).catch(() => undefined);
    this.client = null;
    await this.applyClient?.close(true).catch(() => undefined);
    this.applyClient = null;
    this.sink?.close();
    this.control?.close();
    this.adapter?.close();
    this.adapter = null;
  }

  /** The mapping (after start), for tools and tests. */
  get resolvedMapping(): ResolvedMapping | null {
    return this.mapping;
  }

  /** The `lsid.id`s apply's sessions used (hex). */
  get ownSessions(): string[] {
    return [...(this.applier?.ownSessions ?? [])];
  }

  realmSchema(path: string): object[] {
    if (!this.mapping) throw new TributaryError('INVALID_STATE', 'the connector has not started');
    return this.mapping.realmSchema(path);
  }
}
