import type { Adapter } from '../../src/adapter';
import type { Realm } from '../../src/realm';
import { mappingRealmSchema } from './schema-cache';
import { connectorError } from './errors';
import { keyText, rowKey, rowValues, type RawRow, type ResolvedMapping, type ResolvedTable } from './mapping';
import { formatLsn, parseLsn, STATE_TYPE, type Lsn } from './position';

type RealmObjectLike = Record<string, unknown>;

/**
 * The realm side of capture: local copies opened through the Adapter's `realmAtPath` (so the
 * connector's own writes never come back through `current()`), each realm's stored position, and
 * the row → object writes. Callers hold the write transaction.
 */
export class RealmSink {
  private readonly realms = new Map<string, Realm>();
  private readonly positions = new Map<string, Lsn | null>();

  constructor(
    private readonly adapter: Adapter,
    private readonly mapping: ResolvedMapping,
    private readonly connector: string,
  ) {}

  realm(path: string): Realm {
    let r = this.realms.get(path);
    if (!r) {
      r = this.adapter.realmAtPath(path, mappingRealmSchema(this.mapping, path) as never);
      this.realms.set(path, r);
    }
    return r;
  }

  get openPaths(): string[] {
    return [...this.realms.keys()];
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

  /** Inside a write: inserts or updates the object of a row (columns absent from `row` keep their value). */
  upsert(realm: Realm, t: ResolvedTable, row: RawRow, carry?: RealmObjectLike): void {
    const values = rowValues(t, row, `${t.table} → ${realm.path}`);
    if (carry) for (const c of t.columns) if (!(c.property in values)) values[c.property] = carry[c.property];
    for (const l of t.links) {
      const text = row[l.column];
      if (text === undefined) continue;
      if (text === null) {
        values[l.property] = null;
        continue;
      }
      const target = this.mapping.tables.get(l.targetTable)!;
      const key = rowKey(target, { [target.keyColumns[0]]: text });
      values[l.property] = key === null ? null : (realm.objectForPrimaryKey(target.type, key) ?? null);
    }
    try {
      realm.create(t.type, values, 'modified');
    } catch (e) {
      throw connectorError('CONNECTOR_MAPPING_INVALID', `writing ${t.table} row ${keyText(rowKey(t, row) ?? 'null')} into ${t.type} at ${realm.path}: ${(e as Error).message}`, e);
    }
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
    for (const r of this.realms.values()) if (!r.isClosed) r.close();
    this.realms.clear();
  }
}
