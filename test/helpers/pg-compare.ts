import { createHash } from 'node:crypto';
import type { Client } from 'pg';
import { keyText, rowKey, rowValues, type RawRow, type ResolvedMapping, type ResolvedTable } from '../../connectors/postgres/mapping';
import { RealmRouter } from '../../connectors/postgres/router';
import { Decimal128, ObjectId, UUID, type ObjectKey } from '../../src/model';
import type { Realm } from '../../src/realm';

/**
 * Compares every mapped PostgreSQL table with the realm objects it maps to: counts, a multiset
 * hash of canonical lines (sha256 over the sorted lines) and, on a mismatch, the first keys that
 * differ with the properties that differ.
 *
 * A row's canonical line is `[realm path, key, { property: value }]` with every mapped column
 * converted by the connector's own type table (connectors/postgres/types.ts, through
 * `rowValues`), the path the connector's placement rules give the row, and each link as the
 * target's key when the target lives in the same realm (null otherwise, as the connector
 * resolves links inside one realm). An object's line is read from the realm it was found in.
 * Values are normalised so equal values compare equal: decimals without insignificant zeros
 * (`3.50` = `3.5`), dates as epoch milliseconds, binary as hex, float32 through `Math.fround`.
 *
 * Callers settle both sides first (`connector.quiesce()`); the realms are downloaded again here.
 */

export interface TableComparison {
  table: string;
  type: string;
  /** Rows in PostgreSQL (restricted to `paths` when given). */
  rows: number;
  /** Objects of the type in the compared realms. */
  objects: number;
  equal: boolean;
  rowsHash: string;
  objectsHash: string;
  /** Up to `maxDifferences` descriptions: `<path> <key>: <property> db=<v> realm=<v>`, or the whole line missing on one side. */
  firstDifferences: string[];
}

export interface CompareOptions {
  maxDifferences?: number;
  /** Timeout of each realm's download before reading it. */
  downloadTimeoutMs?: number;
  /** Realms opened at a time (default 8). */
  concurrency?: number;
}

type Canonical = null | boolean | number | string | Canonical[];
type Line = { path: string; key: string; props: Record<string, Canonical> };

const TEXT = { getTypeParser: () => (v: string) => v };

/** `-012.500e1` → `125`: the decimal's value without insignificant zeros, sign or exponent. */
export function normalizeDecimal(text: string): string {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m) return text.trim(); // NaN, Infinity
  const negative = m[1] === '-';
  let digits = (m[2] ?? '') + (m[3] ?? '');
  let point = (m[2] ?? '').length + Number(m[4] ?? 0);
  const lead = digits.length - digits.replace(/^0+/, '').length;
  digits = digits.slice(lead);
  point -= lead;
  digits = digits.replace(/0+$/, '');
  if (digits === '') return '0';
  let out: string;
  if (point <= 0) out = '0.' + '0'.repeat(-point) + digits;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = digits.slice(0, point) + '.' + digits.slice(point);
  return (negative ? '-' : '') + out;
}

function hex(v: ArrayBuffer | ArrayBufferView): string {
  const b = v instanceof ArrayBuffer ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return b.toString('hex');
}

/** A realm value (or a converted column value) in a JSON form where equal values are equal strings. */
export function canonicalValue(v: unknown, realmType?: string): Canonical {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'date:NaN' : v.getTime();
  if (v instanceof Decimal128) return 'dec:' + normalizeDecimal(v.toString());
  if (v instanceof UUID) return 'uuid:' + v.hex;
  if (v instanceof ObjectId) return 'oid:' + v.hex;
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return 'hex:' + hex(v as ArrayBuffer);
  if (typeof v === 'number') {
    const n = realmType === 'float' ? Math.fround(v) : v;
    return Number.isFinite(n) ? n : `num:${n}`;
  }
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'object' && Symbol.iterator in (v as object)) return Array.from(v as Iterable<unknown>, (e) => canonicalValue(e, realmType));
  return `?${String(v)}`;
}

function sortedProps(props: Record<string, Canonical>): Record<string, Canonical> {
  const out: Record<string, Canonical> = {};
  for (const k of Object.keys(props).sort()) out[k] = props[k];
  return out;
}

function lineText(l: Line): string {
  return JSON.stringify([l.path, l.key, sortedProps(l.props)]);
}

async function readRows(sql: Pick<Client, 'query'>, t: ResolvedTable): Promise<RawRow[]> {
  const cols = t.allColumns.map((c) => `"${c.name.replace(/"/g, '""')}"`).join(', ');
  const r = await sql.query({ text: `SELECT ${cols} FROM ${t.qualified}`, types: TEXT } as never);
  return (r as unknown as { rows: RawRow[] }).rows;
}

/** The canonical lines of every mapped row, by table, with each row's realm path. */
async function databaseLines(sql: Pick<Client, 'query'>, mapping: ResolvedMapping): Promise<Map<ResolvedTable, Line[]>> {
  const router = new RealmRouter(mapping);
  const rowsByTable = new Map<ResolvedTable, { row: RawRow; key: ObjectKey; path: string | null }[]>();
  // One snapshot for every table, in the session settings the connector reads with.
  await sql.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await sql.query("SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO'; SET LOCAL extra_float_digits = 3; SET LOCAL bytea_output = 'hex'; SET LOCAL IntervalStyle = 'postgres'");
    for (const t of mapping.loadOrder) {
      const out: { row: RawRow; key: ObjectKey; path: string | null }[] = [];
      for (const row of await readRows(sql, t)) {
        const key = rowKey(t, row);
        if (key === null) throw new Error(`${t.table}: a row without a key: ${JSON.stringify(row)}`);
        const path = router.pathFor(t, row);
        if (path !== null) router.remember(t, key, path);
        out.push({ row, key, path });
      }
      rowsByTable.set(t, out);
    }
  } finally {
    await sql.query('COMMIT');
  }
  const result = new Map<ResolvedTable, Line[]>();
  for (const [t, rows] of rowsByTable) {
    result.set(
      t,
      rows.map(({ row, key, path }) => {
        const values = rowValues(t, row, `compare ${t.table}`);
        const props: Record<string, Canonical> = {};
        for (const c of t.columns) props[c.property] = canonicalValue(values[c.property], c.type.realm);
        for (const l of t.links) {
          const target = mapping.tables.get(l.targetTable)!;
          const text = row[l.column];
          const targetKey = text === null || text === undefined ? null : rowKey(target, { [target.keyColumns[0]]: text });
          props[l.property] = targetKey !== null && path !== null && router.pathOf(target, targetKey) === path ? canonicalValue(targetKey) : null;
        }
        return { path: path ?? '(no realm)', key: keyText(key), props };
      }),
    );
  }
  return result;
}

function realmLines(realm: Realm, path: string, mapping: ResolvedMapping, t: ResolvedTable): Line[] {
  if (!realm.schema.some((s) => s.name === t.type)) return [];
  const out: Line[] = [];
  for (const obj of realm.objects<Record<string, unknown>>(t.type)) {
    const props: Record<string, Canonical> = {};
    for (const c of t.columns) props[c.property] = canonicalValue(obj[c.property], c.type.realm);
    for (const l of t.links) {
      const target = mapping.tables.get(l.targetTable)!;
      const o = obj[l.property] as Record<string, unknown> | null | undefined;
      props[l.property] = o ? canonicalValue(o[target.keyProperty]) : null;
    }
    out.push({ path, key: keyText(obj[t.keyProperty] as ObjectKey), props });
  }
  return out;
}

function multisetHash(lines: string[]): string {
  const h = createHash('sha256');
  for (const l of [...lines].sort()) h.update(l).update('\n');
  return h.digest('hex');
}

function describeDifferences(db: Line[], realm: Line[], max: number): string[] {
  const group = (lines: Line[]) => {
    const m = new Map<string, Line[]>();
    for (const l of lines) {
      const g = m.get(l.key);
      if (g) g.push(l);
      else m.set(l.key, [l]);
    }
    return m;
  };
  const a = group(db);
  const b = group(realm);
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  const out: string[] = [];
  for (const key of keys) {
    if (out.length >= max) break;
    const x = a.get(key) ?? [];
    const y = b.get(key) ?? [];
    const xs = x.map(lineText).sort();
    const ys = y.map(lineText).sort();
    if (xs.join('\n') === ys.join('\n')) continue;
    if (x.length === 1 && y.length === 1 && x[0].path === y[0].path) {
      const props = [...new Set([...Object.keys(x[0].props), ...Object.keys(y[0].props)])].sort();
      const diffs = props.filter((p) => JSON.stringify(x[0].props[p]) !== JSON.stringify(y[0].props[p]));
      out.push(`${x[0].path} ${key}: ${diffs.map((p) => `${p} db=${JSON.stringify(x[0].props[p])} realm=${JSON.stringify(y[0].props[p])}`).join('; ')}`);
    } else {
      out.push(`${key}: db=${xs.length ? xs.join(' | ') : '(no row)'} realm=${ys.length ? ys.join(' | ') : '(no object)'}`);
    }
  }
  return out;
}

/**
 * Compares each mapped table of `mapping` (use `connector.mapping`) with the realms.
 * `paths`: the realms to compare (default: every realm the rows belong in, plus each fixed
 * placement); rows placed elsewhere are left out, and every mapped type found in these realms
 * counts, so an object in the wrong realm shows as a difference.
 */
export async function compareTablesWithRealms(
  sql: Pick<Client, 'query'>,
  mapping: ResolvedMapping,
  openRealm: (path: string) => Realm | Promise<Realm>,
  paths?: string[],
  options: CompareOptions = {},
): Promise<TableComparison[]> {
  const max = options.maxDifferences ?? 5;
  const dbLines = await databaseLines(sql, mapping);
  const wanted = new Set(paths ?? []);
  if (!paths) {
    for (const t of mapping.tables.values()) if (t.placement.kind === 'fixed') wanted.add(t.placement.path);
    for (const lines of dbLines.values()) for (const l of lines) if (l.path !== '(no realm)') wanted.add(l.path);
  }
  const objects = new Map<ResolvedTable, Line[]>([...mapping.tables.values()].map((t) => [t, []]));
  const queue = [...wanted].sort();
  const worker = async () => {
    for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
      const realm = await openRealm(path);
      await realm.syncSession?.downloadAllServerChanges(options.downloadTimeoutMs ?? 60_000);
      for (const t of mapping.tables.values()) objects.get(t)!.push(...realmLines(realm, path, mapping, t));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 8) }, worker));
  const out: TableComparison[] = [];
  for (const t of mapping.tables.values()) {
    const db = dbLines.get(t)!.filter((l) => (paths ? wanted.has(l.path) : true));
    const realm = objects.get(t)!;
    const rowsHash = multisetHash(db.map(lineText));
    const objectsHash = multisetHash(realm.map(lineText));
    const equal = rowsHash === objectsHash && db.length === realm.length;
    out.push({ table: t.table, type: t.type, rows: db.length, objects: realm.length, equal, rowsHash, objectsHash, firstDifferences: equal ? [] : describeDifferences(db, realm, max) });
  }
  return out;
}

/** One line per table (`film → Film: 1000 rows, 1000 objects, equal`), differences indented below. */
export function formatComparison(results: TableComparison[]): string {
  return results
    .map((r) => `${r.table} → ${r.type}: ${r.rows} rows, ${r.objects} objects, ${r.equal ? 'equal' : 'DIFFERENT'}${r.firstDifferences.map((d) => `\n    ${d}`).join('')}`)
    .join('\n');
}
