import type { PostgresConnectorStatus } from '../../connectors/postgres';
import { ConnectorProcess as AnyConnectorProcess } from './connector-process';

export type { ConnectorEvent } from './connector-process';

/** One life of a PostgreSQL connector in a child process (test/helpers/connector-process.ts with the `postgres` type). */
export type ConnectorProcess = AnyConnectorProcess<PostgresConnectorStatus>;

export const ConnectorProcess = {
  spawn: (config: Record<string, unknown>, dir: string, logs: string[] = []): ConnectorProcess => AnyConnectorProcess.start<PostgresConnectorStatus>('postgres', config, dir, logs),
};

/** A row or an object as comparable plain values (dates as ISO text, absent as null). */
export type Comparable = Record<string, unknown>;

function comparable(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (v === undefined) return null;
  return v;
}

/** Every row of `table` keyed by `id`, `columns` only. */
export async function tableRows(sql: { query(text: string): Promise<{ rows: Record<string, unknown>[] }> }, table: string, columns: string[]): Promise<Map<number, Comparable>> {
  const r = await sql.query(`SELECT ${['id', ...columns].map((c) => `"${c}"`).join(', ')} FROM "${table}" ORDER BY id`);
  return new Map(r.rows.map((row) => [row.id as number, Object.fromEntries(columns.map((c) => [c, comparable(row[c])]))]));
}

/** Every object of `type` keyed by `id`, `properties` only. */
export function realmObjects(realm: { objects(type: string): Iterable<unknown> }, type: string, properties: string[]): Map<number, Comparable> {
  const out = new Map<number, Comparable>();
  for (const o of realm.objects(type) as Iterable<Record<string, unknown>>) out.set(o.id as number, Object.fromEntries(properties.map((p) => [p, comparable(o[p])])));
  return out;
}

/** Differences between two keyed sets, one line each (`<label> id 7: missing on the realm side`, `… score: db 3, realm 4`). */
export function differences(label: string, left: Map<number, Comparable>, right: Map<number, Comparable>, names: [string, string] = ['db', 'realm']): string[] {
  const out: string[] = [];
  const ids = [...new Set([...left.keys(), ...right.keys()])].sort((a, b) => a - b);
  for (const id of ids) {
    const a = left.get(id);
    const b = right.get(id);
    if (!a) out.push(`${label} id ${id}: only on the ${names[1]} side ${JSON.stringify(b)}`);
    else if (!b) out.push(`${label} id ${id}: only on the ${names[0]} side ${JSON.stringify(a)}`);
    else for (const k of Object.keys(a)) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(`${label} id ${id} ${k}: ${names[0]} ${JSON.stringify(a[k])}, ${names[1]} ${JSON.stringify(b[k])}`);
  }
  return out;
}
