import type { Adapter } from '../../src/adapter';
import type { ObjectKey } from '../../src/model';
import type { Realm } from '../../src/realm';
import { connectorError } from './errors';
import { keyText } from './keys';
import { STATE_TYPE, type PositionCodec } from './position';

type RealmObjectLike = Record<string, unknown>;

/** What the sink needs of a mapped table. */
export interface SinkTable {
  table: string;
  type: string;
  keyProperty: string;
}

/** A link of a row: the property, the target table and the target's key (null: no link). */
export interface RowLink<T> {
  property: string;
  target: T;
  key: ObjectKey | null;
}

/**
 * How the sink turns a row of the database's representation into an object: the connector's
 * mapping, behind a small interface so the sink is the same for every database.
 */
export interface SinkCodec<T extends SinkTable, Row> {
  /** The realm-js schema of a path (the mapping's types there and the position type). */
  realmSchema(path: string): { name: string; properties: Record<string, unknown> }[];
  tableOfType(type: string): T | undefined;
  /** The realm key of a row, or null when a key column is missing. */
  key(t: T, row: Row): ObjectKey | null;
  /** A row's property values for the realm; columns absent from the row (unchanged) are left out. `where` names the write in errors. */
  values(t: T, row: Row, where: string): Record<string, unknown>;
  /** The column properties of `t` (carried over when an object moves between realms). */
  properties(t: T): readonly string[];
  /** The links of the row's reference columns present in it. */
  links(t: T, row: Row): readonly RowLink<T>[];
}

/**
 * Links whose target was not in the realm when their row was written (a row pointing at a row
 * written after it in the same source transaction or load: self-references, cycles), by realm,
 * type, key and property; `resolveLinks` sets them once the targets are there.
 */
export type UnresolvedLinks<T> = Map<string, { realm: Realm; t: T; key: ObjectKey; property: string; target: T; targetKey: ObjectKey }>;

/** A property's synchronised shape, as realm-js shows it in `realm.schema`. */
export interface PropertyShape {
  type: string;
  objectType?: string;
  optional: boolean;
}

/** What schema evolution learns from the sink. */
export interface SinkObserver<T, Row> {
  /**
   * A realm was opened whose stored type lacks properties the mapping has: columns (or links)
   * that appeared while the connector was not running. Their existing rows need a backfill.
   */
  missingProperties(path: string, t: T, properties: string[]): void;
  /** A row was written into a realm (capture, or apply resetting a refused object). */
  upserted(t: T, row: Row): void;
  /**
   * The realm holds `property` with another type than the mapping's (its column changed type
   * while the connector was stopped). True: the observer took the column off the mapping, and the
   * realm opens without that property in its configured schema (its stored one stays).
   */
  shapeConflict(path: string, t: T, property: string, stored: PropertyShape, wanted: PropertyShape): boolean;
}

/**
 * The realm side of capture (database → realm): local copies opened through the Adapter's
 * `realmAtPath` (so the connector's own writes never come back through `current()` — the realm half
 * of "no echo"), each realm's stored position, and the row → object writes. Callers hold the write
 * transaction, and write the position in it with the data it describes (`writePosition`).
 */
export class RealmSink<T extends SinkTable, Row, P> {
  private readonly realms = new Map<string, Realm>();
  private readonly positions = new Map<string, P | null>();
  /** Instances replaced by `reopen`: closed with the sink, since a caller may still hold one across an await. */
  private readonly retired: Realm[] = [];
  observer: SinkObserver<T, Row> | null = null;

  constructor(
    private readonly adapter: Adapter,
    private readonly codec: SinkCodec<T, Row>,
    private readonly positionCodec: PositionCodec<P>,
    private readonly connector: string,
  ) {}

  realm(path: string): Realm {
    let r = this.realms.get(path);
    if (!r) {
      r = this.open(path, true);
      this.realms.set(path, r);
    }
    return r;
  }

  get openPaths(): string[] {
    return [...this.realms.keys()];
  }

  /**
   * Opens `path` with the mapping's schema for it, which adds (never removes) types and properties.
   * Where the realm already holds a property whose shape differs from the mapping's only in
   * `optional` (a NOT NULL added or dropped since the property was created, or a list whose
   * elements a client declared required), the realm's shape is kept: the values are the same.
   * Where it holds one with another type, the observer may take the column off the mapping, and
   * the property is then left out of the configured schema.
   */
  private open(path: string, detect: boolean): Realm {
    const schema = this.codec.realmSchema(path);
    const probe = this.adapter.realmAtPath(path);
    try {
      const stored = new Map(probe.schema.map((s) => [s.name, s]));
      for (const s of schema) {
        const have = stored.get(s.name);
        if (!have) continue;
        const t = this.codec.tableOfType(s.name);
        const missing: string[] = [];
        for (const [name, p] of Object.entries(s.properties)) {
          const want = normalizeShape(p);
          const got = have.properties[name];
          if (!got) missing.push(name);
          else if (got.type !== want.type || (got.objectType ?? null) !== (want.objectType ?? null)) {
            if (t && this.observer?.shapeConflict(path, t, name, { type: got.type, objectType: got.objectType, optional: got.optional }, want)) delete s.properties[name];
          } else if (got.optional !== want.optional) s.properties[name] = { ...want, optional: got.optional };
        }
        if (detect && t && missing.length > 0) this.observer?.missingProperties(path, t, missing);
      }
    } finally {
      probe.close();
    }
    return this.adapter.realmAtPath(path, schema as never);
  }

  /**
   * After the mapping gained columns or links: reopens the open realms of `paths` (default all)
   * with the new schema (an additive AddProperties each). Called between realm write transactions
   * only. A realm whose schema conflicts keeps its old instance; the errors are returned by path.
   */
  reopen(paths: string[] = this.openPaths): { path: string; error: Error }[] {
    const failed: { path: string; error: Error }[] = [];
    for (const path of paths) {
      const old = this.realms.get(path);
      if (!old) continue;
      try {
        this.realms.set(path, this.open(path, false));
        this.retired.push(old);
      } catch (e) {
        failed.push({ path, error: e as Error });
      }
    }
    return failed;
  }

  /** The shape of a property in an open realm's stored schema (a client may have added it), or undefined. */
  storedProperty(path: string, type: string, property: string): PropertyShape | undefined {
    const r = this.realms.get(path);
    const p = r?.schema.find((s) => s.name === type)?.properties[property];
    return p ? { type: p.type, objectType: p.objectType, optional: p.optional } : undefined;
  }

  /** Downloads what the server has for `path` before its position is trusted (a fresh local copy). */
  async download(path: string, timeoutMs = 60_000): Promise<void> {
    await this.realm(path).syncSession?.downloadAllServerChanges(timeoutMs);
    this.positions.delete(path);
  }

  /** The realm's `resumeFrom`: every source transaction before it is in the realm (null: nothing yet). */
  position(path: string): P | null {
    if (this.positions.has(path)) return this.positions.get(path)!;
    const state = this.realm(path).objectForPrimaryKey<RealmObjectLike>(STATE_TYPE, this.connector);
    const text = state?.resumeFrom;
    const p = typeof text === 'string' && text !== '' ? this.positionCodec.parse(text) : null;
    this.positions.set(path, p);
    return p;
  }

  /** True when the source transaction at `position` is already in the realm (a replay after a restart). */
  holds(path: string, position: P): boolean {
    const stored = this.position(path);
    return stored !== null && this.positionCodec.compare(position, stored) < 0;
  }

  /** Inside a write: records the realm's position with the data it describes. */
  writePosition(path: string, resumeFrom: P): void {
    this.realm(path).create(STATE_TYPE, { connector: this.connector, resumeFrom: this.positionCodec.format(resumeFrom), updatedAt: new Date() }, 'modified');
    this.positions.set(path, resumeFrom);
  }

  /** After a cancelled write: re-read the position from the realm next time. */
  forgetPosition(path: string): void {
    this.positions.delete(path);
  }

  /**
   * Writes one source transaction into the realms it touches, one realm transaction each: `body`
   * gets `realmFor(path)` (the realm, its transaction opened on first use; null for no path and
   * for a realm that already holds `at`, a replay after a restart, counted in
   * `counts.replayedSkipped`) and the links to resolve once everything is written; `beforeCommit`
   * runs after those links are resolved. Each realm's commit carries `resumeFrom`. On a throw every
   * realm transaction is cancelled and the error rethrown. Returns the paths written.
   */
  writeTransaction(
    at: P,
    resumeFrom: P,
    counts: { replayedSkipped: number },
    body: (realmFor: (path: string | null) => Realm | null, unresolved: UnresolvedLinks<T>) => void,
    beforeCommit?: (realmFor: (path: string | null) => Realm | null) => void,
  ): string[] {
    const open = new Map<string, Realm>();
    const skipped = new Set<string>();
    const unresolved: UnresolvedLinks<T> = new Map();
    const realmFor = (p: string | null): Realm | null => {
      if (p === null || skipped.has(p)) return null;
      let r = open.get(p);
      if (r) return r;
      if (this.holds(p, at)) {
        skipped.add(p);
        counts.replayedSkipped++;
        return null;
      }
      r = this.realm(p);
      r.beginTransaction();
      open.set(p, r);
      return r;
    };
    try {
      body(realmFor, unresolved);
      this.resolveLinks(unresolved); // links to rows written later in the transaction
      beforeCommit?.(realmFor);
      for (const [p, r] of open) {
        this.writePosition(p, resumeFrom);
        r.commitTransaction();
      }
    } catch (e) {
      for (const r of open.values()) if (r.isInTransaction) r.cancelTransaction();
      for (const p of open.keys()) this.forgetPosition(p);
      throw e;
    }
    return [...open.keys()];
  }

  /** Resolves when the server acknowledged everything written locally to `path`. */
  async uploaded(path: string, timeoutMs = 120_000): Promise<void> {
    await this.realm(path).syncSession?.uploadAllLocalChanges(timeoutMs);
  }

  /**
   * Inside a write: inserts or updates the object of a row (columns absent from `row` keep their
   * value). With `unresolved`, a link whose target is not in the realm yet is noted there.
   */
  upsert(realm: Realm, t: T, row: Row, carry?: RealmObjectLike, unresolved?: UnresolvedLinks<T>): void {
    const values = this.codec.values(t, row, `${t.table} → ${realm.path}`);
    if (carry) for (const p of this.codec.properties(t)) if (!(p in values)) values[p] = carry[p];
    let own: ObjectKey | null | undefined;
    for (const l of this.codec.links(t, row)) {
      const obj = l.key === null ? null : (realm.objectForPrimaryKey(l.target.type, l.key) ?? null);
      values[l.property] = obj;
      if (!unresolved) continue;
      own ??= this.codec.key(t, row);
      if (own === null) continue;
      const id = `${realm.path}\u0000${t.type}\u0000${keyText(own)}\u0000${l.property}`;
      if (l.key !== null && obj === null) unresolved.set(id, { realm, t, key: own, property: l.property, target: l.target, targetKey: l.key });
      else unresolved.delete(id);
    }
    try {
      realm.create(t.type, values, 'modified');
    } catch (e) {
      throw connectorError('CONNECTOR_MAPPING_INVALID', `writing ${t.table} row ${keyText(this.codec.key(t, row) ?? 'null')} into ${t.type} at ${realm.path}: ${(e as Error).message}`, e);
    }
    this.observer?.upserted(t, row);
  }

  /** Inside the realms' writes: sets the noted links whose targets are there now (the rest stay null: their targets live elsewhere). */
  resolveLinks(unresolved: UnresolvedLinks<T>): void {
    for (const u of unresolved.values()) {
      const target = u.realm.objectForPrimaryKey(u.target.type, u.targetKey);
      if (target && u.realm.objectForPrimaryKey(u.t.type, u.key)) u.realm.create(u.t.type, { [u.t.keyProperty]: u.key, [u.property]: target }, 'modified');
    }
    unresolved.clear();
  }

  /** Inside a write: sets properties of an existing object (a backfill); false when the object is gone. */
  fill(realm: Realm, t: T, key: ObjectKey, values: RealmObjectLike): boolean {
    if (!realm.objectForPrimaryKey(t.type, key)) return false;
    realm.create(t.type, { ...values, [t.keyProperty]: key }, 'modified');
    return true;
  }

  /** Inside a write: the current object of a key (for moves between realms), or undefined. */
  find(realm: Realm, t: T, key: ObjectKey | null): RealmObjectLike | undefined {
    if (key === null) return undefined;
    return realm.objectForPrimaryKey<RealmObjectLike>(t.type, key);
  }

  remove(realm: Realm, t: T, key: ObjectKey | null): void {
    const obj = this.find(realm, t, key);
    if (obj) realm.delete(obj);
  }

  clear(realm: Realm, t: T): void {
    realm.delete(realm.objects(t.type));
  }

  close(): void {
    for (const r of [...this.realms.values(), ...this.retired.splice(0)]) if (!r.isClosed) r.close();
    this.realms.clear();
  }
}

/** realm-js schema input (`'int?'`, `{ type, objectType, optional }`) → its synchronised shape. */
export function normalizeShape(p: unknown): PropertyShape {
  if (typeof p === 'string') {
    const optional = p.endsWith('?');
    return { type: optional ? p.slice(0, -1) : p, optional };
  }
  const o = p as { type: string; objectType?: string; optional?: boolean };
  return { type: o.type, objectType: o.objectType, optional: o.type === 'object' ? true : !!o.optional };
}
