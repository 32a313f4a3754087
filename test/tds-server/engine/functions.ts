/**
 * Built-in functions a connector's queries use: Change Tracking (CHANGE_TRACKING_CURRENT_VERSION,
 * CHANGE_TRACKING_MIN_VALID_VERSION, CHANGE_TRACKING_IS_COLUMN_IN_MASK), metadata (OBJECT_ID,
 * OBJECT_NAME, SCHEMA_NAME, DB_NAME, DB_ID, COLUMNPROPERTY, TYPE_NAME, IDENT_CURRENT), identity
 * (SCOPE_IDENTITY, @@IDENTITY), session (@@TRANCOUNT, @@ROWCOUNT, @@SPID, @@VERSION, @@DBTS),
 * clocks, NEWID, a few string and null functions, and the aggregates COUNT/SUM/MIN/MAX/AVG.
 */
import { Expr } from '../sql/ast';
import { columnInMask } from './change-tracking';
import { compare, convert, keyPart, rescale, toDecimal, toNumber } from './convert';
import { SqlError, errors } from './errors';
import { Typed, evaluate, typeOf } from './evaluate';
import { findColumn } from './schema';
import { BoundRow, Scope } from './scope';
import { SqlType, SqlValue, TypedValue, isCharType } from './sql-types';
import { nowTemporal } from './temporal';
import { randomUUID } from 'node:crypto';
import { tableByObjectId, tableByText, typeNameById } from './catalog-names';

type FunctionExpr = Extract<Expr, { kind: 'function' }>;

const AGGREGATES = new Set(['COUNT', 'COUNT_BIG', 'SUM', 'MIN', 'MAX', 'AVG']);

export function isAggregate(name: string): boolean {
  return AGGREGATES.has(name);
}

export function containsAggregate(e: Expr): boolean {
  switch (e.kind) {
    case 'function': return isAggregate(e.name) || e.args.some(containsAggregate);
    case 'unary': return containsAggregate(e.operand);
    case 'binary': return containsAggregate(e.left) || containsAggregate(e.right);
    case 'cast': return containsAggregate(e.operand);
    case 'isNull': return containsAggregate(e.operand);
    case 'case': return e.whens.some((w) => containsAggregate(w.when) || containsAggregate(w.then)) || (e.otherwise ? containsAggregate(e.otherwise) : false);
    default: return false;
  }
}

const NAME: SqlType = { name: 'nvarchar', length: 128 };
const BIGINT: SqlType = { name: 'bigint' };
const INT: SqlType = { name: 'int' };
const IDENTITY: SqlType = { name: 'numeric', precision: 38, scale: 0 };

function arity(e: FunctionExpr, min: number, max = min): void {
  if (e.args.length < min || e.args.length > max) {
    throw new SqlError(174, `The ${e.name.toLowerCase()} function requires ${min} argument(s).`, { class: 15, abortsBatch: true });
  }
}

export function functionType(e: FunctionExpr, scope: Scope): Typed {
  switch (e.name) {
    case 'CHANGE_TRACKING_CURRENT_VERSION': case 'CHANGE_TRACKING_MIN_VALID_VERSION': return { type: BIGINT, nullable: true };
    case 'CHANGE_TRACKING_IS_COLUMN_IN_MASK': return { type: { name: 'bit' }, nullable: true };
    case 'OBJECT_ID': case 'SCHEMA_ID': case 'DB_ID': case 'COLUMNPROPERTY': case 'LEN': case 'DATALENGTH': case '@@TRANCOUNT':
    case '@@ROWCOUNT': case '@@SPID': case 'OBJECTPROPERTY':
      return { type: INT, nullable: true };
    case 'OBJECT_NAME': case 'SCHEMA_NAME': case 'DB_NAME': case 'TYPE_NAME': case '@@SERVERNAME': case 'SERVERPROPERTY': case 'DATABASEPROPERTYEX':
    case 'SUSER_SNAME': case 'USER_NAME':
      return { type: NAME, nullable: true };
    case '@@VERSION': return { type: { name: 'nvarchar', length: 300 }, nullable: false };
    case 'SCOPE_IDENTITY': case '@@IDENTITY': case 'IDENT_CURRENT': return { type: IDENTITY, nullable: true };
    case '@@DBTS': case 'MIN_ACTIVE_ROWVERSION': return { type: { name: 'binary', length: 8 }, nullable: false };
    case 'GETDATE': case 'GETUTCDATE': case 'CURRENT_TIMESTAMP': return { type: { name: 'datetime' }, nullable: false };
    case 'SYSDATETIME': case 'SYSUTCDATETIME': return { type: { name: 'datetime2', scale: 7 }, nullable: false };
    case 'SYSDATETIMEOFFSET': return { type: { name: 'datetimeoffset', scale: 7 }, nullable: false };
    case 'NEWID': case 'NEWSEQUENTIALID': return { type: { name: 'uniqueidentifier' }, nullable: false };
    case 'ISNULL': arity(e, 2); { const a = typeOf(e.args[0]!, scope); return { type: a.type, nullable: typeOf(e.args[1]!, scope).nullable }; }
    case 'COALESCE': case 'NULLIF': { const a = typeOf(e.args[0]!, scope); return { type: a.type, nullable: true }; }
    case 'UPPER': case 'LOWER': case 'LTRIM': case 'RTRIM': case 'TRIM': case 'ABS': arity(e, 1); return typeOf(e.args[0]!, scope);
    case 'CONCAT': return { type: { name: 'nvarchar', length: 4000 }, nullable: false };
    default: throw errors.unknownFunction(e.name);
  }
}

function arg(e: FunctionExpr, i: number, scope: Scope, row: BoundRow, group?: BoundRow[]): TypedValue {
  return evaluate(e.args[i]!, scope, row, group);
}

function text(v: TypedValue): string | null {
  return v.value === null ? null : String(v.value);
}

export function evaluateFunction(e: FunctionExpr, scope: Scope, row: BoundRow, group?: BoundRow[]): TypedValue {
  const session = scope.session;
  const db = session.db;
  const type = functionType(e, scope).type;
  const out = (value: SqlValue): TypedValue => ({ type, value });
  switch (e.name) {
    case 'CHANGE_TRACKING_CURRENT_VERSION':
      return out(db.changeTracking.enabled ? BigInt(db.currentChangeVersion(session.transaction())) : null);
    case 'CHANGE_TRACKING_MIN_VALID_VERSION': {
      arity(e, 1);
      const id = arg(e, 0, scope, row, group).value;
      const table = id === null ? undefined : tableByObjectId(db, Number(id));
      const tracking = table ? db.tracking.get(table.key) : undefined;
      return out(tracking && db.changeTracking.enabled ? BigInt(tracking.minValidVersion) : null);
    }
    case 'CHANGE_TRACKING_IS_COLUMN_IN_MASK': {
      arity(e, 2);
      const id = arg(e, 0, scope, row, group).value;
      const mask = arg(e, 1, scope, row, group).value;
      if (id === null) return out(null);
      return out(columnInMask(Number(id), Buffer.isBuffer(mask) ? mask : null));
    }
    case 'OBJECT_ID': {
      const name = text(arg(e, 0, scope, row, group));
      const t = name === null ? undefined : tableByText(db, name);
      return out(t ? t.objectId : null);
    }
    case 'OBJECT_NAME': {
      const id = arg(e, 0, scope, row, group).value;
      return out(id === null ? null : tableByObjectId(db, Number(id))?.name ?? null);
    }
    case 'SCHEMA_NAME': {
      const id = e.args.length ? Number(arg(e, 0, scope, row, group).value) : 1;
      return out(id === 1 ? 'dbo' : id === 4 ? 'sys' : id === 3 ? 'INFORMATION_SCHEMA' : null);
    }
    case 'SCHEMA_ID': {
      const name = e.args.length ? text(arg(e, 0, scope, row, group))?.toLowerCase() : 'dbo';
      return out(name === 'dbo' ? 1 : name === 'sys' ? 4 : null);
    }
    case 'DB_NAME': return out(db.name);
    case 'DB_ID': {
      if (!e.args.length) return out(db.databaseId);
      const name = text(arg(e, 0, scope, row, group));
      return out(name?.toLowerCase() === db.name.toLowerCase() ? db.databaseId : name?.toLowerCase() === 'master' ? 1 : null);
    }
    case 'COLUMNPROPERTY': {
      const id = arg(e, 0, scope, row, group).value;
      const column = text(arg(e, 1, scope, row, group));
      const property = text(arg(e, 2, scope, row, group))?.toLowerCase();
      const table = id === null ? undefined : tableByObjectId(db, Number(id));
      const index = table && column !== null ? findColumn(table, column) : -1;
      if (!table || index < 0) return out(null);
      const c = table.columns[index]!;
      switch (property) {
        case 'columnid': return out(c.columnId);
        case 'isidentity': return out(c.identity ? 1 : 0);
        case 'iscomputed': return out(c.computed ? 1 : 0);
        case 'allowsnull': return out(c.nullable ? 1 : 0);
        default: return out(null);
      }
    }
    case 'OBJECTPROPERTY': return out(null);
    case 'TYPE_NAME': {
      const id = arg(e, 0, scope, row, group).value;
      return out(id === null ? null : typeNameById(Number(id)));
    }
    case 'SCOPE_IDENTITY': return out(session.scopeIdentity === null ? null : { kind: 'decimal', unscaled: session.scopeIdentity, scale: 0 });
    case '@@IDENTITY': return out(session.scopeIdentity === null ? null : { kind: 'decimal', unscaled: session.scopeIdentity, scale: 0 });
    case 'IDENT_CURRENT': {
      const name = text(arg(e, 0, scope, row, group));
      const t = name === null ? undefined : tableByText(db, name);
      if (!t || t.identityCurrent === null) return out(null);
      return out({ kind: 'decimal', unscaled: t.identityCurrent, scale: 0 });
    }
    case '@@TRANCOUNT': return out(session.tranCount());
    case '@@ROWCOUNT': return out(session.lastRowCount);
    case '@@SPID': return out(session.spid);
    case '@@SERVERNAME': case 'SUSER_SNAME': case 'USER_NAME': return out(e.name === '@@SERVERNAME' ? 'tds-test-server' : 'dbo');
    case '@@VERSION': return out('Microsoft SQL Server 2022 (RTM) - 16.0.1000.6 (X64) — the scripted TDS test server of Tributary');
    case 'SERVERPROPERTY': {
      const p = text(arg(e, 0, scope, row, group))?.toLowerCase();
      const props: Record<string, string> = { productversion: '16.0.1000.6', edition: 'Developer Edition (64-bit)', engineedition: '3', productmajorversion: '16', servername: 'tds-test-server', collation: 'SQL_Latin1_General_CP1_CI_AS' };
      return out(p !== undefined ? props[p] ?? null : null);
    }
    case 'DATABASEPROPERTYEX': {
      const p = text(arg(e, 1, scope, row, group))?.toLowerCase();
      return out(p === 'collation' ? 'SQL_Latin1_General_CP1_CI_AS' : p === 'status' ? 'ONLINE' : null);
    }
    case '@@DBTS': case 'MIN_ACTIVE_ROWVERSION': {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(db.rowversion + (e.name === 'MIN_ACTIVE_ROWVERSION' ? 1n : 0n));
      return out(b);
    }
    case 'GETDATE': case 'GETUTCDATE': case 'CURRENT_TIMESTAMP': return out(convert({ type: { name: 'datetime2', scale: 7 }, value: nowTemporal() }, type));
    case 'SYSDATETIME': case 'SYSUTCDATETIME': return out(nowTemporal());
    case 'SYSDATETIMEOFFSET': return out({ ...nowTemporal(), offsetMinutes: 0 });
    case 'NEWID': case 'NEWSEQUENTIALID': return out(randomUUID().toUpperCase());
    case 'ISNULL': {
      const a = arg(e, 0, scope, row, group);
      return a.value !== null ? out(a.value) : out(convert(arg(e, 1, scope, row, group), type));
    }
    case 'COALESCE': {
      for (let i = 0; i < e.args.length; i++) {
        const a = arg(e, i, scope, row, group);
        if (a.value !== null) return out(convert(a, type));
      }
      return out(null);
    }
    case 'NULLIF': {
      const a = arg(e, 0, scope, row, group);
      return compare(a, arg(e, 1, scope, row, group)) === 0 ? out(null) : out(a.value);
    }
    case 'LEN': {
      const s = text(arg(e, 0, scope, row, group));
      return out(s === null ? null : s.replace(/ +$/, '').length);
    }
    case 'DATALENGTH': {
      const a = arg(e, 0, scope, row, group);
      if (a.value === null) return out(null);
      if (Buffer.isBuffer(a.value)) return out(a.value.length);
      if (typeof a.value === 'string') return out(a.value.length * (a.type.name.startsWith('n') ? 2 : 1));
      return out(8);
    }
    case 'UPPER': case 'LOWER': case 'LTRIM': case 'RTRIM': case 'TRIM': {
      const s = text(arg(e, 0, scope, row, group));
      if (s === null) return out(null);
      const r = e.name === 'UPPER' ? s.toUpperCase() : e.name === 'LOWER' ? s.toLowerCase() : e.name === 'LTRIM' ? s.replace(/^ +/, '') : e.name === 'RTRIM' ? s.replace(/ +$/, '') : s.trim();
      return out(r);
    }
    case 'ABS': {
      const a = arg(e, 0, scope, row, group);
      const d = toDecimal(a);
      if (a.value === null || !d) return out(a.value);
      if (typeof a.value === 'number') return out(Math.abs(a.value));
      if (typeof a.value === 'bigint') return out(a.value < 0n ? -a.value : a.value);
      return out({ ...d, unscaled: d.unscaled < 0n ? -d.unscaled : d.unscaled });
    }
    case 'CONCAT': {
      let s = '';
      for (let i = 0; i < e.args.length; i++) {
        const a = arg(e, i, scope, row, group);
        if (a.value !== null) s += isCharType(a.type.name) ? String(a.value) : String(convert(a, { name: 'nvarchar', length: 'max' }));
      }
      return out(s);
    }
    default:
      throw errors.unknownFunction(e.name);
  }
}

export function aggregateType(e: FunctionExpr, scope: Scope): Typed {
  switch (e.name) {
    case 'COUNT': return { type: INT, nullable: false };
    case 'COUNT_BIG': return { type: BIGINT, nullable: false };
    case 'MIN': case 'MAX': return { type: typeOf(e.args[0]!, scope).type, nullable: true };
    case 'SUM': case 'AVG': {
      const t = typeOf(e.args[0]!, scope).type;
      if (t.name === 'tinyint' || t.name === 'smallint' || t.name === 'int') return { type: INT, nullable: true };
      if (t.name === 'decimal' || t.name === 'numeric') return { type: { name: 'numeric', precision: 38, scale: e.name === 'AVG' ? Math.max(t.scale ?? 0, 6) : (t.scale ?? 0) }, nullable: true };
      return { type: t, nullable: true };
    }
    default: throw errors.unknownFunction(e.name);
  }
}

export function evaluateAggregate(e: FunctionExpr, scope: Scope, group: BoundRow[]): TypedValue {
  const type = aggregateType(e, scope).type;
  if (e.star) return { type, value: e.name === 'COUNT_BIG' ? BigInt(group.length) : group.length };
  let values = group.map((r) => evaluate(e.args[0]!, scope, r)).filter((v) => v.value !== null);
  if (e.distinct) {
    const seen = new Set<string>();
    values = values.filter((v) => (seen.has(keyPart(v)) ? false : (seen.add(keyPart(v)), true)));
  }
  switch (e.name) {
    case 'COUNT': return { type, value: values.length };
    case 'COUNT_BIG': return { type, value: BigInt(values.length) };
    case 'MIN': case 'MAX': {
      let best: TypedValue | null = null;
      for (const v of values) {
        const c = best === null ? 0 : compare(v, best)!;
        if (best === null || (e.name === 'MIN' ? c < 0 : c > 0)) best = v;
      }
      return { type, value: best?.value ?? null };
    }
    default: {
      if (values.length === 0) return { type, value: null };
      if (type.name === 'float' || type.name === 'real') {
        const sum = values.reduce((s, v) => s + toNumber(v.value), 0);
        return { type, value: e.name === 'AVG' ? sum / values.length : sum };
      }
      const scale = type.name === 'numeric' ? (type.scale ?? 0) : type.name === 'money' || type.name === 'smallmoney' ? 4 : 0;
      let sum = 0n;
      for (const v of values) sum += rescale(toDecimal(v)!, scale).unscaled;
      const total = { kind: 'decimal' as const, unscaled: e.name === 'AVG' ? sum / BigInt(values.length) : sum, scale };
      return { type, value: convert({ type: { name: 'numeric', precision: 38, scale }, value: total }, type) };
    }
  }
}

