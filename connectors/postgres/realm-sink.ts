import type { Adapter } from '../../src/adapter';
import type { ObjectKey } from '../../src/model';
import type { Realm } from '../../src/realm';
import { mappingRealmSchema } from './schema-cache';
import { connectorError } from './errors';
import { keyText, rowKey, rowValues, type RawRow, type ResolvedMapping, type ResolvedTable } from './mapping';
import { formatLsn, parseLsn, STATE_TYPE, type Lsn } from './position';

type RealmObjectLike = Record<string, unknown>;

/**
 * Links whose target was not in the realm when their row was written (a row pointing at a row
 * written after it in the same source transaction or load: self-references, cycles), by realm,
 * type, key and property; `resolveLinks` sets them once the targets are there.
 */
export type UnresolvedLinks = Map<string, { realm: Realm; t: ResolvedTable; key: ObjectKey; property: string; target: ResolvedTable; targetKey: ObjectKey }>;

/** A property's synchronised shape, as realm-js shows it in `realm.schema`. */
export interface PropertyShape {
  type: string;
  objectType?: string;
  optional: boolean;
}

/** What schema evolution (schema-evolution.ts) learns from the sink. */
export interface SinkObserver {
  /**
   * A realm was opened whose stored type lacks properties the mapping has: columns (or links)
   * that appeared while the connector was not running. Their existing rows need a backfill.
   */
  missingProperties(path: string, t: ResolvedTable, properties: string[]): void;
  /** A row was written into a realm (capture, or apply resetting a refused object). */
  upserted(t: ResolvedTable, row: RawRow): void;
  /**
   * The realm holds `property` with another type than the mapping's (its column changed type
   * while the connector was stopped). True: the observer took the column off the mapping, and the
   * realm opens without that property in its configured schema (its stored one stays).
   */
  shapeConflict(path: string, t: ResolvedTable, property: string, stored: PropertyShape, wanted: PropertyShape): boolean;
}

/**
 * The realm side of capture: local copies opened through the Adapter's `realmAtPath` (so the
 * connector's own writes never come back through `current()`), each realm's stored position, and
 * the row → object writes. Callers hold the write transaction.
 */
export class RealmSink {
  private readonly realms = new Map<string, Realm>();
  private readonly positions = new Map<string, Lsn | null>();
  /** Instances replaced by `reopen`: closed with the sink, since a caller may still hold one across an await. */
  private readonly retired: Realm[] = [];
  observer: SinkObserver | null = null;

  constructor(
    private readonly adapter: Adapter,
    private readonly mapping: ResolvedMapping,
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
    const schema = mappingRealmSchema(this.mapping, path) as { name: string; properties: Record<string, unknown> }[];
    const probe = this.adapter.realmAtPath(path);
    try {
      const stored = new Map(probe.schema.map((s) => [s.name, s]));
      for (const s of schema) {
        const have = stored.get(s.name);
        if (!have) continue;
        const t = this.mapping.byType.get(s.name);
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
   * with the new schema (an additive AddProperties each). Called between realm write transactions only. A realm whose
   * schema conflicts keeps its old instance; the errors are returned by path.
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

  /** Every source transaction with commit LSN below this is in the realm (null: nothing yet). */
  position(path: string): Lsn | null {
    if (this.positions.has(path)) return this.positions.get(path)!;
    const state = this.realm(path).objectForPrimaryKey<RealmObjectLike>(STATE_TYPE, this.connector);
    const text = state?.resumeFrom;
    const lsn = typeof text === 'string' && text !== '' ? parseLsn(text) : null;
    this.positions.set(path, lsn);
    return lsn;
  }

  /** Inside a write: records the realm's position with the data it describes. */
  writePosition(path: string, resumeFrom: Lsn): void {
    this.realm(path).create(STATE_TYPE, { connector: this.connector, resumeFrom: formatLsn(resumeFrom), updatedAt: new Date() }, 'modified');
    this.positions.set(path, resumeFrom);
  }

  /** After a cancelled write: re-read the position from the realm next time. */
  forgetPosition(path: string): void {
    this.positions.delete(path);
  }

  /** Resolves when the server acknowledged everything written locally to `path`. */
  async uploaded(path: string, timeoutMs = 120_000): Promise<void> {
    await this.realm(path).syncSession?.uploadAllLocalChanges(timeoutMs);
  }

  /**
   * Inside a write: inserts or updates the object of a row (columns absent from `row` keep their
   * value). With `unresolved`, a link whose target is not in the realm yet is noted there.
   */
  upsert(realm: Realm, t: ResolvedTable, row: RawRow, carry?: RealmObjectLike, unresolved?: UnresolvedLinks): void {
    const values = rowValues(t, row, `${t.table} → ${realm.path}`);
    if (carry) for (const c of t.columns) if (!(c.property in values)) values[c.property] = carry[c.property];
    let own: ObjectKey | null | undefined;
    for (const l of t.links) {
      const text = row[l.column];
      if (text === undefined) continue;
      const target = this.mapping.tables.get(l.targetTable)!;
      const key = text === null ? null : rowKey(target, { [target.keyColumns[0]]: text });
      const obj = key === null ? null : (realm.objectForPrimaryKey(target.type, key) ?? null);
      values[l.property] = obj;
      if (!unresolved) continue;
      own ??= rowKey(t, row);
      if (own === null) continue;
      const id = `${realm.path}\u0000${t.type}\u0000${keyText(own)}\u0000${l.property}`;
      if (key !== null && obj === null) unresolved.set(id, { realm, t, key: own, property: l.property, target, targetKey: key });
      else unresolved.delete(id);
    }
    try {
      realm.create(t.type, values, 'modified');
    } catch (e) {
      throw connectorError('CONNECTOR_MAPPING_INVALID', `writing ${t.table} row ${keyText(rowKey(t, row) ?? 'null')} into ${t.type} at ${realm.path}: ${(e as Error).message}`, e);
    }
    this.observer?.upserted(t, row);
  }

  /** Inside the realms' writes: sets the noted links whose targets are there now (the rest stay null: their targets live elsewhere). */
  resolveLinks(unresolved: UnresolvedLinks): void {
    for (const u of unresolved.values()) {
      const target = u.realm.objectForPrimaryKey(u.target.type, u.targetKey);
      if (target && u.realm.objectForPrimaryKey(u.t.type, u.key)) u.realm.create(u.t.type, { [u.t.keyProperty]: u.key, [u.property]: target }, 'modified');
    }
    unresolved.clear();
  }

  /** Inside a write: sets properties of an existing object (a backfill); false when the object is gone. */
  fill(realm: Realm, t: ResolvedTable, key: NonNullable<ReturnType<typeof rowKey>>, values: RealmObjectLike): boolean {
    if (!realm.objectForPrimaryKey(t.type, key)) return false;
    realm.create(t.type, { ...values, [t.keyProperty]: key }, 'modified');
    return true;
  }

  /** Inside a write: the current object of a key (for moves between realms), or undefined. */
  find(realm: Realm, t: ResolvedTable, key: ReturnType<typeof rowKey>): RealmObjectLike | undefined {
    if (key === null) return undefined;
    return realm.objectForPrimaryKey<RealmObjectLike>(t.type, key);
  }

  remove(realm: Realm, t: ResolvedTable, key: ReturnType<typeof rowKey>): void {
    const obj = this.find(realm, t, key);
    if (obj) realm.delete(obj);
  }

  clear(realm: Realm, t: ResolvedTable): void {
    realm.delete(realm.objects(t.type));
  }

  close(): void {
    for (const r of [...this.realms.values(), ...this.retired.splice(0)]) if (!r.isClosed) r.close();
    this.realms.clear();
  }
}

/** realm-js schema input (`'int?'`, `{ type, objectType, optional }`) → its synchronised shape. */
function normalizeShape(p: unknown): PropertyShape {
  if (typeof p === 'string') {
    const optional = p.endsWith('?');
    return { type: optional ? p.slice(0, -1) : p, optional };
  }
  const o = p as { type: string; objectType?: string; optional?: boolean };
  return { type: o.type, objectType: o.objectType, optional: o.type === 'object' ? true : !!o.optional };
}
