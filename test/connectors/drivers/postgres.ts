import { Client } from 'pg';
import { createTestDatabase, testPgUrl } from '../../helpers/postgres';
import type { ColumnSpec, ColumnType, ConformanceDriver, DbOp, DriverDatabase, DriverSession, Row, TableSpec } from '../driver';

/** The PostgreSQL conformance driver: a fresh database of the throw-away cluster (jest globalSetup, or TRIBUTARY_TEST_PG_URL). */

const SQL_TYPES: Record<ColumnType, string> = { int: 'int', string: 'text', double: 'float8', bool: 'boolean', date: 'timestamptz' };
const quote = (id: string) => '"' + id.replace(/"/g, '""') + '"';
const TRANSIENT = new Set(['40P01', '40001', '55P03']);

function comparable(v: unknown): Row[string] {
  if (v instanceof Date) return v.toISOString();
  if (v === undefined) return null;
  return v as Row[string];
}

async function runOps(sql: Client, specs: Map<string, TableSpec>, ops: DbOp[]): Promise<void> {
  await sql.query('BEGIN');
  try {
    for (const o of ops) {
      const spec = specs.get(o.table);
      const keyCols = spec?.key ?? ['id'];
      const t = quote(o.table);
      switch (o.op) {
        case 'insert':
        case 'upsert': {
          const cols = Object.keys(o.row);
          const values = cols.map((c) => o.row[c]);
          const rest = cols.filter((c) => !keyCols.includes(c));
          const conflict = o.op === 'upsert' ? ` ON CONFLICT (${keyCols.map(quote).join(', ')}) DO ${rest.length ? `UPDATE SET ${rest.map((c) => `${quote(c)} = EXCLUDED.${quote(c)}`).join(', ')}` : 'NOTHING'}` : '';
          await sql.query(`INSERT INTO ${t} (${cols.map(quote).join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})${conflict}`, values);
          break;
        }
        case 'update': {
          const cols = Object.keys(o.set);
          const keys = Object.keys(o.key);
          await sql.query(`UPDATE ${t} SET ${cols.map((c, i) => `${quote(c)} = $${i + 1}`).join(', ')} WHERE ${keys.map((k, i) => `${quote(k)} = $${cols.length + i + 1}`).join(' AND ')}`, [...cols.map((c) => o.set[c]), ...keys.map((k) => o.key[k])]);
          break;
        }
        case 'delete': {
          const keys = Object.keys(o.key);
          await sql.query(`DELETE FROM ${t} WHERE ${keys.map((k, i) => `${quote(k)} = $${i + 1}`).join(' AND ')}`, keys.map((k) => o.key[k]));
          break;
        }
        case 'increment': {
          const keys = Object.keys(o.key);
          await sql.query(`UPDATE ${t} SET ${quote(o.column)} = ${quote(o.column)} + $1 WHERE ${keys.map((k, i) => `${quote(k)} = $${i + 2}`).join(' AND ')}`, [o.by, ...keys.map((k) => o.key[k])]);
          break;
        }
      }
    }
    await sql.query('COMMIT');
  } catch (e) {
    await sql.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

function columnSql(c: ColumnSpec, key: boolean): string {
  return `${quote(c.name)} ${SQL_TYPES[c.type]}${key || c.nullable === false ? ' NOT NULL' : ''}`;
}

export const postgresDriver: ConformanceDriver = {
  type: 'postgres',
  skipReason: () => (testPgUrl ? null : (process.env.TRIBUTARY_TEST_PG_SKIP ?? 'TRIBUTARY_TEST_PG_URL is not set')),
  applyLocksRowsAtBarrier: true,
  isTransientWriteError: (e) => TRANSIENT.has((e as { code?: string })?.code ?? ''),
  unreachableConfig: () => ({ database: 'postgres://postgres@127.0.0.1:1/none?connect_timeout=2', heartbeatIntervalMs: 0 }),
  async open(label): Promise<DriverDatabase> {
    const db = await createTestDatabase(`conf_${label}`);
    const specs = new Map<string, TableSpec>();
    const sessions: Client[] = [];
    return {
      connectorConfig: () => ({ database: db.url, heartbeatIntervalMs: 0 }),
      async createTable(spec) {
        specs.set(spec.name, spec);
        const cols = spec.columns.map((c) => columnSql(c, spec.key.includes(c.name)));
        const refs = (spec.references ?? []).map((r) => `FOREIGN KEY (${quote(r.column)}) REFERENCES ${quote(r.table)} (id)${r.onDelete === 'cascade' ? ' ON DELETE CASCADE' : ''}`);
        await db.sql.query(`CREATE TABLE ${quote(spec.name)} (${[...cols, `PRIMARY KEY (${spec.key.map(quote).join(', ')})`, ...refs].join(', ')})`);
        // Counter columns travel as increments, computed from the old row.
        if (spec.counters?.length) await db.sql.query(`ALTER TABLE ${quote(spec.name)} REPLICA IDENTITY FULL`);
      },
      transaction: (ops) => runOps(db.sql, specs, ops),
      async session(): Promise<DriverSession> {
        const c = new Client({ connectionString: db.url });
        await c.connect();
        sessions.push(c);
        return { transaction: (ops) => runOps(c, specs, ops), close: () => c.end().catch(() => undefined) };
      },
      async rows(table, columns) {
        const spec = specs.get(table);
        const cols = columns ?? spec?.columns.map((c) => c.name) ?? [];
        const order = (spec?.key ?? ['id']).map(quote).join(', ');
        const r = await db.sql.query(`SELECT ${[...new Set([...(spec?.key ?? ['id']), ...cols])].map(quote).join(', ')} FROM ${quote(table)} ORDER BY ${order}`);
        return r.rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, comparable(v)])));
      },
      async addColumn(table, column) {
        await db.sql.query(`ALTER TABLE ${quote(table)} ADD COLUMN ${columnSql({ ...column, nullable: true }, false)}`);
        const spec = specs.get(table);
        if (spec) spec.columns.push(column);
      },
      async columnNames(table) {
        const r = await db.sql.query('SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum', [quote(table)]);
        return r.rows.map((x) => x.attname as string);
      },
      close: async () => undefined,
      async dispose() {
        for (const c of sessions) await c.end().catch(() => undefined);
        await db.dispose();
      },
    };
  },
};
