import sql from 'mssql';
import { startTdsTestServer, type TdsTestServer } from '../../tds-server';
import { configFromUrl } from '../../tds-server/tests/target';
import type { ColumnSpec, ColumnType, ConformanceDriver, DbOp, DriverDatabase, DriverSession, Row, TableSpec } from '../driver';

/**
 * The SQL Server conformance driver: a scripted TDS test server per group (test/tds-server, the
 * real mssql/tedious driver talking to it over TCP), or, with MSSQL_URL, a database of its own per
 * group on a real SQL Server (created with Change Tracking and snapshot isolation on, dropped at
 * the end). `MSSQL_TARGET` says which ran.
 */

const SQL_TYPES: Record<ColumnType, string> = { int: 'int', string: 'nvarchar(400)', double: 'float', bool: 'bit', date: 'datetime2(3)' };
const PARAM_TYPES: Record<ColumnType, () => sql.ISqlType> = { int: () => sql.Int(), string: () => sql.NVarChar(400), double: () => sql.Float(), bool: () => sql.Bit(), date: () => sql.DateTime2(3) };
const q = (id: string) => '[' + id.replace(/]/g, ']]') + ']';
const TRANSIENT = new Set([1205, 1222, 3960]);
export const MSSQL_TARGET = process.env.MSSQL_URL ? 'a real SQL Server (MSSQL_URL)' : 'the scripted TDS test server (test/tds-server)';

function comparable(v: unknown): Row[string] {
  if (v instanceof Date) return v.toISOString();
  if (v === undefined) return null;
  return v as Row[string];
}

async function runOps(pool: sql.ConnectionPool, specs: Map<string, TableSpec>, ops: DbOp[]): Promise<void> {
  const tx = new sql.Transaction(pool);
  let aborted = false;
  tx.on('rollback', (a: boolean) => (aborted = aborted || a));
  await tx.begin();
  const typeOf = (table: string, column: string) => specs.get(table)?.columns.find((c) => c.name === column)?.type ?? 'string';
  const request = (table: string, values: Record<string, unknown>, prefix: string) => {
    const r = new sql.Request(tx);
    for (const [c, v] of Object.entries(values)) r.input(`${prefix}${Object.keys(values).indexOf(c)}`, PARAM_TYPES[typeOf(table, c)](), v);
    return r;
  };
  try {
    for (const o of ops) {
      const spec = specs.get(o.table);
      const keyCols = spec?.key ?? ['id'];
      const t = `dbo.${q(o.table)}`;
      switch (o.op) {
        case 'insert': {
          const cols = Object.keys(o.row);
          await request(o.table, o.row, 'v').query(`INSERT INTO ${t} (${cols.map(q).join(', ')}) VALUES (${cols.map((_, i) => `@v${i}`).join(', ')})`);
          break;
        }
        case 'upsert': {
          const cols = Object.keys(o.row);
          const rest = cols.filter((c) => !keyCols.includes(c));
          const on = keyCols.map((k) => `t.${q(k)} = s.${q(k)}`).join(' AND ');
          const update = rest.length ? `WHEN MATCHED THEN UPDATE SET ${rest.map((c) => `${q(c)} = s.${q(c)}`).join(', ')} ` : '';
          await request(o.table, o.row, 'v').query(
            `MERGE ${t} AS t USING (SELECT ${cols.map((c, i) => `@v${i} AS ${q(c)}`).join(', ')}) AS s ON ${on} ${update}WHEN NOT MATCHED THEN INSERT (${cols.map(q).join(', ')}) VALUES (${cols.map((c) => `s.${q(c)}`).join(', ')});`,
          );
          break;
        }
        case 'update': {
          const cols = Object.keys(o.set);
          const keys = Object.keys(o.key);
          const r = request(o.table, o.set, 'v');
          keys.forEach((k, i) => r.input(`k${i}`, PARAM_TYPES[typeOf(o.table, k)](), o.key[k]));
          await r.query(`UPDATE ${t} SET ${cols.map((c, i) => `${q(c)} = @v${i}`).join(', ')} WHERE ${keys.map((k, i) => `${q(k)} = @k${i}`).join(' AND ')}`);
          break;
        }
        case 'delete': {
          const keys = Object.keys(o.key);
          await request(o.table, o.key, 'k').query(`DELETE FROM ${t} WHERE ${keys.map((k, i) => `${q(k)} = @k${i}`).join(' AND ')}`);
          break;
        }
        case 'increment': {
          const keys = Object.keys(o.key);
          const r = request(o.table, o.key, 'k');
          r.input('by', sql.Int, o.by);
          await r.query(`UPDATE ${t} SET ${q(o.column)} = ${q(o.column)} + @by WHERE ${keys.map((k, i) => `${q(k)} = @k${i}`).join(' AND ')}`);
          break;
        }
      }
    }
    await tx.commit();
  } catch (e) {
    if (!aborted) await tx.rollback().catch(() => undefined);
    throw e;
  }
}

function columnSql(c: ColumnSpec, key: boolean): string {
  return `${q(c.name)} ${SQL_TYPES[c.type]}${key || c.nullable === false ? ' NOT NULL' : ' NULL'}`;
}

/** A database for one group: a fresh scripted server, or a fresh database on MSSQL_URL's server. */
async function openDatabase(label: string): Promise<{ config: sql.config; server?: TdsTestServer; dispose(): Promise<void> }> {
  if (!process.env.MSSQL_URL) {
    const server = await startTdsTestServer({ database: { changeTracking: true, allowSnapshotIsolation: true } });
    return { config: server.config(), server, dispose: () => server.stop() };
  }
  const base = configFromUrl(process.env.MSSQL_URL);
  const name = `tributary_conf_${label}_${process.pid}`;
  const admin = await new sql.ConnectionPool({ ...base, database: 'master' }).connect();
  await admin.request().batch(`IF DB_ID(N'${name}') IS NOT NULL DROP DATABASE ${q(name)}; CREATE DATABASE ${q(name)};`);
  await admin.request().batch(`ALTER DATABASE ${q(name)} SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON); ALTER DATABASE ${q(name)} SET ALLOW_SNAPSHOT_ISOLATION ON;`);
  return {
    config: { ...base, database: name },
    async dispose() {
      await admin.request().batch(`ALTER DATABASE ${q(name)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${q(name)};`).catch(() => undefined);
      await admin.close();
    },
  };
}

export const mssqlDriver: ConformanceDriver = {
  type: 'mssql',
  skipReason: () => null,
  applyLocksRowsAtBarrier: false,
  isTransientWriteError: (e) => TRANSIENT.has((e as { number?: number })?.number ?? 0) || (e as { code?: string })?.code === 'EABORT',
  unreachableConfig: () => ({ database: { server: '127.0.0.1', port: 1, user: 'sa', password: 'x', database: 'none', options: { encrypt: false, trustServerCertificate: true }, connectionTimeout: 3000 } }),
  async open(label): Promise<DriverDatabase> {
    const target = await openDatabase(label);
    const pool = await new sql.ConnectionPool(target.config).connect();
    const specs = new Map<string, TableSpec>();
    const sessions: sql.ConnectionPool[] = [];
    return {
      connectorConfig: () => ({ database: target.config, pollIntervalMs: 10, maxPollIntervalMs: 200 }),
      async createTable(spec) {
        specs.set(spec.name, spec);
        const cols = spec.columns.map((c) => columnSql(c, spec.key.includes(c.name)));
        const refs = (spec.references ?? []).map((r) => `FOREIGN KEY (${q(r.column)}) REFERENCES dbo.${q(r.table)} (id)${r.onDelete === 'cascade' ? ' ON DELETE CASCADE' : ''}`);
        await pool.request().batch(`CREATE TABLE dbo.${q(spec.name)} (${[...cols, `PRIMARY KEY (${spec.key.map(q).join(', ')})`, ...refs].join(', ')})`);
        await pool.request().batch(`ALTER TABLE dbo.${q(spec.name)} ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON)`);
      },
      transaction: (ops) => runOps(pool, specs, ops),
      async session(): Promise<DriverSession> {
        const p = await new sql.ConnectionPool({ ...target.config, pool: { max: 1, min: 0 } }).connect();
        sessions.push(p);
        return { transaction: (ops) => runOps(p, specs, ops), close: () => p.close() };
      },
      async rows(table, columns) {
        const spec = specs.get(table);
        const key = spec?.key ?? ['id'];
        const cols = [...new Set([...key, ...(columns ?? spec?.columns.map((c) => c.name) ?? [])])];
        const r = await pool.request().query(`SELECT ${cols.map(q).join(', ')} FROM dbo.${q(table)} ORDER BY ${key.map(q).join(', ')}`);
        return r.recordset.map((row: Record<string, unknown>) => Object.fromEntries(cols.map((c) => [c, comparable(row[c])])));
      },
      async addColumn(table, column) {
        await pool.request().batch(`ALTER TABLE dbo.${q(table)} ADD ${columnSql(column, false)}`);
        specs.get(table)?.columns.push(column);
      },
      async columnNames(table) {
        const r = await pool.request().query(`SELECT name FROM sys.columns WHERE object_id = OBJECT_ID(N'dbo.${table.replace(/'/g, "''")}') ORDER BY column_id`);
        return r.recordset.map((x: { name: string }) => x.name);
      },
      close: async () => undefined,
      async dispose() {
        for (const s of sessions) await s.close().catch(() => undefined);
        await pool.close().catch(() => undefined);
        await target.dispose();
      },
    };
  },
};
