import sql, { type ConnectionPool } from 'mssql';
import type { ObjectKey } from '../../src/model';
import type { Realm } from '../../src/realm';
import type { Logger } from '../../src/shared/logger';
import type { CaptureProtection } from '../kit/conflict';
import { crashPoint } from '../kit/crash-points';
import { keyText } from '../kit/keys';
import type { UnresolvedLinks } from '../kit/realm-sink';
import { counterIncrements, readAppliedTotals, recordCounterBases, type AppliedTotals } from './counters';
import { inTransaction, sqlOn, type Row, type Sql } from './db';
import { rowKey, type ResolvedMapping, type ResolvedTable } from './mapping';
import { shape, scanTable } from './load';
import { versionOf, type Version } from './position';
import type { RealmRouter, RealmSink } from './sink';
import { APPLIED_KEY, changesQuery, CURRENT_VERSION, minValidQuery, ownCommitsQuery } from './tsql';

/** An own commit's marker: the realm and the last realm transaction it applied. */
interface AppliedMark {
  version: Version;
  path: string;
  through: number;
}

/** One row change of a commit. `row`: the row as it is now (upserts) or the key columns (deletes). */
interface Change {
  t: ResolvedTable;
  op: 'upsert' | 'delete';
  key: ObjectKey;
  row: Row;
  creationVersion: number | null;
}

/** A commit (one SYS_CHANGE_VERSION), or a table reloaded whole at the poll's version. */
interface Commit {
  version: Version;
  own: boolean;
  changes: Change[];
  /** Reloaded tables: their objects absent from `changes` are deleted. */
  reloaded?: ResolvedTable[];
}

export interface CaptureStatus {
  /** Every commit before this version is written into the realms. */
  processed: Version;
  /** … and acknowledged by the sync server, and recorded in `tributary_capture_position`. */
  confirmed: Version;
  transactions: number;
  skippedOwn: number;
  replayedSkipped: number;
  /** Tables re-loaded because their changes were cleaned up before capture read them (min valid version). */
  reloads: number;
  /** Row changes in the connector's own commits that apply did not write (ON DELETE CASCADE, triggers), written to the realms. */
  ownChanges: number;
  polls: number;
  lastCommitTime: Date | null;
  /** When the last confirmed poll started (ms since the epoch; 0: none yet). */
  confirmedAt: number;
  /**
   * The number (its `polls` count at its start) of the last poll that finished and was confirmed.
   * A poll numbered above `polls` as read at some moment started after it, so its schema check saw
   * every column added before that moment (a DDL has no Change Tracking version of its own).
   */
  confirmedPoll: number;
  pendingAcks: number;
  intervalMs: number;
}

export interface CaptureHooks {
  /** Records the confirmed version and reload count durably (after the server acknowledged). */
  persist(version: Version, reloads: number): Promise<void>;
  onProcessed(version: Version): void;
  /** A schema change was seen (a new column): the mapping is refreshed before the poll reads. */
  schemaCheck?(db: Sql): Promise<void>;
  protection: CaptureProtection<ResolvedTable> | null;
}

/**
 * Change Tracking → realms (docs/connectors/sqlserver.md, "Capture"). Each poll is one SNAPSHOT
 * transaction: `CHANGE_TRACKING_CURRENT_VERSION()`, then for each table its min valid version — a
 * table whose changes since the saved version were cleaned up is re-loaded whole (counted) — and
 * `CHANGETABLE(CHANGES t, @since)` joined to the row. Rows are grouped by SYS_CHANGE_VERSION: one
 * commit becomes one realm transaction per realm it touches, with the realm's position
 * (`resumeFrom = version + 1`) in it. Commits carrying the connector's own CHANGE_TRACKING_CONTEXT
 * are skipped (no echo). The saved version moves only after the server acknowledged.
 */
export class ChangeCapture {
  readonly status: CaptureStatus;
  private wake: (() => void) | null = null;
  private stopped = false;
  private readonly tables: ResolvedTable[];

  constructor(
    private readonly pool: ConnectionPool,
    private readonly mapping: ResolvedMapping,
    private readonly sink: RealmSink,
    private readonly router: RealmRouter,
    private readonly log: Logger,
    private readonly hooks: CaptureHooks,
    start: Version,
    reloads: number,
  ) {
    this.tables = [...mapping.loadOrder];
    this.status = { processed: start, confirmed: start, transactions: 0, skippedOwn: 0, replayedSkipped: 0, reloads, ownChanges: 0, polls: 0, lastCommitTime: null, confirmedAt: 0, confirmedPoll: 0, pendingAcks: 0, intervalMs: mapping.options.pollIntervalMs };
  }

  /** Polls now instead of at the next interval. */
  pollNow(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  stop(): void {
    this.stopped = true;
    this.pollNow();
  }

  /** Polls until stopped; throws on a failure (the connector's stream loop retries transient ones). */
  async run(): Promise<void> {
    const o = this.mapping.options;
    this.status.processed = this.status.confirmed; // after a failed poll: replay from what is confirmed (realms skip what they hold)
    while (!this.stopped) {
      const changed = await this.poll();
      this.status.intervalMs = changed ? o.pollIntervalMs : Math.min(o.maxPollIntervalMs, this.status.intervalMs * 2);
      if (this.stopped) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.wake = null;
          resolve();
        }, this.status.intervalMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** One poll; true when it found commits. */
  async poll(): Promise<boolean> {
    const number = ++this.status.polls;
    const startedAt = Date.now();
    const since = this.status.processed;
    if (this.hooks.schemaCheck) await this.hooks.schemaCheck(sqlOn(this.pool));
    const read = await inTransaction(this.pool, 'SNAPSHOT', (db) => this.read(db, since));
    if (read.version <= since) {
      this.status.confirmedAt = startedAt;
      this.status.confirmedPoll = number;
      return false;
    }
    // Every version is one commit to a change-tracked table; the own ones are known by their marker rows.
    this.status.transactions += Number(read.version - since);
    this.status.skippedOwn += read.ownCommits;
    const touched = new Set<string>();
    // In version order, each own commit's applied realm transactions stop protecting anything
    // before the commits after it are written (realm-wins; kit conflict.ts).
    const marks = read.appliedMarks;
    let m = 0;
    const passMarks = (below: Version | null) => {
      for (; m < marks.length && (below === null || marks[m]!.version < below); m++) this.hooks.protection?.appliedInStream?.(marks[m]!.path, marks[m]!.through);
    };
    for (const c of read.commits) {
      passMarks(c.version);
      for (const p of this.write(c, read.applied)) touched.add(p);
    }
    passMarks(null);
    this.status.processed = read.version;
    this.hooks.onProcessed(read.version);
    this.status.pendingAcks = read.commits.length;
    await Promise.all([...touched].map((p) => this.sink.uploaded(p)));
    if (touched.size > 0) crashPoint('capture-acknowledged');
    await this.hooks.persist(read.version, this.status.reloads + read.reloads);
    this.status.reloads += read.reloads; // counted once the re-load is acknowledged and recorded (a failed poll is repeated)
    this.status.pendingAcks = 0;
    this.status.confirmed = read.version;
    this.status.confirmedAt = startedAt;
    this.status.confirmedPoll = number;
    return read.commits.length > 0;
  }

  private async read(
    db: Sql,
    since: Version,
  ): Promise<{ version: Version; commits: Commit[]; applied: AppliedTotals; ownCommits: number; reloads: number; appliedMarks: AppliedMark[] }> {
    const version = versionOf((await db.query(CURRENT_VERSION)).rows[0]?.v) ?? 0n;
    if (version <= since) return { version, commits: [], applied: new Map(), ownCommits: 0, reloads: 0, appliedMarks: [] };
    const sinceParam = { type: sql.BigInt, value: since.toString() };
    const marks = (await db.query(ownCommitsQuery(this.mapping.options.schema), { since: sinceParam, connector: this.mapping.options.name })).rows;
    const ownCommits = marks.length;
    const written = new Map<Version, Set<string> | null>();
    const appliedMarks: AppliedMark[] = [];
    for (const m of marks) {
      const v = versionOf(m.v)!;
      if (m.written === null || m.written === undefined) {
        written.set(v, null);
        continue;
      }
      const entries = JSON.parse(String(m.written)) as Record<string, string[]>;
      const mark = entries[APPLIED_KEY];
      delete entries[APPLIED_KEY];
      if (Array.isArray(mark) && typeof mark[0] === 'string' && Number.isSafeInteger(Number(mark[1]))) appliedMarks.push({ version: v, path: mark[0], through: Number(mark[1]) });
      written.set(v, new Set(Object.entries(entries).flatMap(([table, keys]) => keys.map((k) => `${table}\u0000${k}`))));
    }
    appliedMarks.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
    const mins = (await db.query(minValidQuery(this.tables))).rows[0] ?? {};
    const byVersion = new Map<Version, Commit>();
    const reload: Commit = { version, own: false, changes: [], reloaded: [] };
    const own = Buffer.from(this.mapping.options.contextHex, 'hex');
    for (const [i, t] of this.tables.entries()) {
      const min = versionOf(mins[`m${i}`]);
      if (min !== null && since < min) {
        this.log.warn('sqlserver connector: the changes of a table since the saved version were cleaned up (CHANGE_TRACKING_MIN_VALID_VERSION); re-loading it', { table: t.table, saved: since.toString(), minValid: min.toString() });
        reload.reloaded!.push(t);
        await scanTable(db, t, this.mapping.options.batchSize, (rows) => {
          for (const row of rows) {
            const key = rowKey(t, row);
            if (key !== null) reload.changes.push({ t, op: 'upsert', key, row, creationVersion: null });
          }
        });
        continue;
      }
      const r = await db.query(changesQuery(shape(t)), { since: sinceParam });
      for (const x of r.rows) {
        const v = versionOf(x.__v)!;
        const key = rowKey(t, x, true);
        if (key === null) continue;
        let c = byVersion.get(v);
        if (!c) byVersion.set(v, (c = { version: v, own: true, changes: [] }));
        const ctx = x.__ctx as Buffer | null;
        if (!(ctx && Buffer.isBuffer(ctx) && ctx.equals(own))) c.own = false;
        const deleted = x.__op === 'D';
        const row: Row = deleted ? Object.fromEntries(t.keyColumns.map((k, n) => [k, x[`__k${n}`]])) : x;
        c.changes.push({ t, op: deleted ? 'delete' : 'upsert', key, row, creationVersion: x.__cv === null || x.__cv === undefined ? null : Number(x.__cv) });
      }
    }
    const counterTables = this.tables.filter((t) => t.columns.some((c) => c.counter));
    const applied = await readAppliedTotals(db, this.mapping.options.schema, this.mapping.options.name, counterTables);
    // An own commit: only the rows apply wrote are skipped; what SQL Server did besides (cascades, triggers) is the database's.
    for (const c of byVersion.values()) {
      const w = c.own ? written.get(c.version) : undefined;
      if (!w) continue;
      c.changes = c.changes.filter((ch) => !w.has(`${ch.t.table}\u0000${keyText(ch.key)}`));
      this.status.ownChanges += c.changes.length;
      c.own = c.changes.length === 0;
    }
    const commits = [...byVersion.values()].sort((a, b) => (a.version < b.version ? -1 : 1));
    if (reload.reloaded!.length > 0) commits.push(reload);
    return { version, commits, applied, ownCommits, reloads: reload.reloaded!.length, appliedMarks };
  }

  /** Writes one commit into its realms (one realm transaction each); returns their paths. */
  private write(c: Commit, applied: AppliedTotals): string[] {
    this.status.lastCommitTime = new Date();
    if (c.own) return [];
    this.hooks.protection?.resetProtection();
    return this.sink.writeTransaction(c.version, c.version + 1n, this.status, (realmFor, unresolved) => {
      for (const ch of c.changes) {
        if (ch.op === 'delete') this.remove(ch, realmFor);
        else this.upsert(ch, realmFor, unresolved, applied, Number(c.version));
      }
      for (const t of c.reloaded ?? []) this.removeMissing(t, c.changes, realmFor);
    });
  }

  private remove(ch: Change, realmFor: (p: string | null) => Realm | null): void {
    const paths = this.router.pathsOfKey(ch.t, ch.key);
    if (paths.length > 0 && this.hooks.protection?.protectedProperties(paths[0]!, ch.t, ch.key)) return; // realm-wins: the realm's unapplied change stands
    for (const p of paths) {
      const r = realmFor(p);
      if (!r) continue;
      this.sink.remove(r, ch.t, ch.key);
      this.sink.dropCounterBases(r, ch.t, ch.key);
    }
    this.router.forget(ch.t, ch.key);
  }

  /** After a table's reload: its objects whose rows are gone are deleted (deletes cleaned up before capture read them). */
  private removeMissing(t: ResolvedTable, changes: Change[], realmFor: (p: string | null) => Realm | null): void {
    const present = new Set(changes.filter((c) => c.t === t).map((c) => keyText(c.key)));
    for (const p of this.router.pathsOf(t)) {
      const r = realmFor(p);
      if (!r || !r.schema.some((s) => s.name === t.type)) continue;
      for (const obj of [...r.objects<Record<string, unknown>>(t.type)]) {
        const key = obj[t.keyProperty] as ObjectKey;
        if (present.has(keyText(key))) continue;
        this.sink.dropCounterBases(r, t, key);
        r.delete(obj);
        this.router.forget(t, key);
      }
    }
  }

  private upsert(ch: Change, realmFor: (p: string | null) => Realm | null, unresolved: UnresolvedLinks<ResolvedTable>, applied: AppliedTotals, version: number): void {
    const { t, key } = ch;
    const oldPaths = this.router.pathsOfKey(t, key);
    let newPath = this.router.pathFor(t, ch.row);
    if (newPath === null && oldPaths.length > 0 && t.placement.kind === 'follow') newPath = oldPaths[0]!;
    if (newPath === null) {
      this.log.warn('sqlserver connector: row has no realm (placement column null or followed row unknown); skipped', { table: t.table, key: keyText(key) });
      return;
    }
    const stays = oldPaths.includes(newPath);
    let carry: Record<string, unknown> | undefined;
    for (const p of oldPaths) {
      if (p === newPath) continue;
      const r = realmFor(p);
      if (!r) continue;
      const obj = this.sink.find(r, t, key);
      if (obj && !carry) carry = Object.fromEntries(t.columns.map((col) => [col.property, obj[col.property]]));
      this.sink.remove(r, t, key);
      this.sink.dropCounterBases(r, t, key);
    }
    let row = ch.row;
    const guard = stays ? (this.hooks.protection?.protectedProperties(newPath, t, key) ?? null) : null;
    if (guard === 'all') {
      this.router.remember(t, key, newPath);
      return; // realm-wins: the realm inserted or deleted this object and apply has not written it yet
    }
    if (guard) {
      row = { ...row };
      for (const col of t.columns) if (guard.has(col.property) && !t.keyColumns.includes(col.column) && !col.counter) delete row[col.column];
      for (const l of t.links) if (guard.has(l.property)) delete row[l.column];
    }
    const r = realmFor(newPath);
    if (r) {
      const exists = stays && this.sink.find(r, t, key) !== undefined;
      const counters = t.columns.some((col) => col.counter);
      if (counters && exists) {
        const split = counterIncrements({ sink: this.sink, realm: r, t, key, row, applied, version, creationVersion: ch.creationVersion });
        this.sink.upsert(r, t, split.row, carry, unresolved);
        const obj = this.sink.find(r, t, key);
        for (const [property, delta] of split.increments) r.increment(obj, property, delta);
      } else {
        this.sink.upsert(r, t, row, carry, unresolved);
        if (counters) recordCounterBases({ sink: this.sink, realm: r, t, key, row, applied, version });
      }
    }
    this.router.remember(t, key, newPath);
  }
}
