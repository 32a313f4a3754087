/**
 * SELECT over the in-memory tables, CHANGETABLE(CHANGES …), catalog views, (VALUES …) and
 * subqueries: nested-loop joins, WHERE, GROUP BY with aggregates, projection with star
 * expansion, ORDER BY (NULLs first, as SQL Server sorts them), DISTINCT, OFFSET/FETCH and TOP.
 * Tables without ORDER BY come back in primary-key order, as a clustered index scan would.
 */
import { SelectItem, SelectStatement, TableSource } from '../sql/ast';
import { catalogView } from './catalog';
import { ChangeRow, changesSince, encodeColumnMask } from './change-tracking';
import { compare, convert, keyPart, toNumber } from './convert';
import { errors } from './errors';
import { evaluate, truth, typeOf } from './evaluate';
import { containsAggregate } from './functions';
import { TableSchema, qualifiedName, tableKey } from './schema';
import { BoundRow, QueryResult, ResultColumn, Scope, SessionContext, SourceColumn, SourceShape, columnOf, resolveColumn } from './scope';
import { SqlValue, TypedValue } from './sql-types';

interface Source {
  shape: SourceShape;
  rows: SqlValue[][];
}

export function resolveTable(session: SessionContext, name: { database?: string; schema?: string; name: string }): TableSchema {
  if (name.database && name.database.toLowerCase() !== session.db.name.toLowerCase() && name.database.toLowerCase() !== 'tempdb') {
    throw errors.invalidObject([name.database, name.schema ?? 'dbo', name.name].join('.'));
  }
  const t = session.db.tables.get(tableKey(name.schema || 'dbo', name.name));
  if (!t) throw errors.invalidObject(name.schema ? `${name.schema}.${name.name}` : name.name);
  return t;
}

export function tableColumns(t: TableSchema): SourceColumn[] {
  return t.columns.map((c) => ({
    name: c.name, type: c.type, nullable: c.nullable, identity: c.identity !== undefined, computed: c.computed !== undefined,
    readOnly: c.identity !== undefined || c.computed !== undefined || c.type.name === 'rowversion', tableName: [t.schema, t.name],
  }));
}

/** Rows of a table in primary-key order. */
export function orderedRows(t: TableSchema, rows: Iterable<SqlValue[]>): SqlValue[][] {
  const list = [...rows];
  const pk = t.primaryKey;
  if (!pk) return list;
  return list.sort((a, b) => {
    for (let i = 0; i < pk.columns.length; i++) {
      const c = pk.columns[i]!;
      const type = t.columns[c]!.type;
      const r = compare({ type, value: a[c]! }, { type, value: b[c]! }) ?? 0;
      if (r !== 0) return pk.descending[i] ? -r : r;
    }
    return 0;
  });
}

function changeTableSource(session: SessionContext, source: Extract<TableSource, { kind: 'changes' }>, scope: Scope): Source {
  const t = resolveTable(session, source.table);
  const db = session.db;
  if (!db.changeTracking.enabled || !db.tracking.has(t.key) || !t.primaryKey) throw errors.changeTrackingNotEnabledForChanges(qualifiedName(t));
  const v = evaluate(source.version, scope, []).value;
  const since = v === null ? null : Number(toNumber(v));
  const changes: ChangeRow[] = changesSince(db.changeRecords(session.transaction(), t.key), since);
  const pkColumns = t.primaryKey.columns.map((c) => t.columns[c]!);
  const columns: SourceColumn[] = [
    { name: 'SYS_CHANGE_VERSION', type: { name: 'bigint' }, nullable: true, readOnly: true },
    { name: 'SYS_CHANGE_CREATION_VERSION', type: { name: 'bigint' }, nullable: true, readOnly: true },
    { name: 'SYS_CHANGE_OPERATION', type: { name: 'nchar', length: 1 }, nullable: true, readOnly: true },
    { name: 'SYS_CHANGE_COLUMNS', type: { name: 'varbinary', length: 4100 }, nullable: true, readOnly: true },
    { name: 'SYS_CHANGE_CONTEXT', type: { name: 'varbinary', length: 128 }, nullable: true, readOnly: true },
    ...pkColumns.map((c) => ({ name: c.name, type: c.type, nullable: false, readOnly: true })),
  ];
  const tracking = db.tracking.get(t.key)!;
  const rows = changes.map((c) => [
    BigInt(c.version), c.creationVersion === null ? null : BigInt(c.creationVersion), c.operation,
    tracking.trackColumnsUpdated && c.columns ? encodeColumnMask(c.columns) : null, c.context, ...c.key,
  ]);
  return { shape: { names: [source.alias?.toLowerCase() ?? 'changetable'], columns }, rows };
}

function loadSource(session: SessionContext, source: TableSource, scope: Scope): Source {
  switch (source.kind) {
    case 'table': {
      const view = catalogView(session.db, source.name.schema, source.name.name);
      if (view) {
        const names = source.alias ? [source.alias.toLowerCase()] : [source.name.name.toLowerCase(), `${source.name.schema}.${source.name.name}`.toLowerCase()];
        return { shape: { names, columns: view.columns }, rows: view.rows };
      }
      const t = resolveTable(session, source.name);
      const rows = orderedRows(t, session.db.rows(session.transaction(), t.key).values());
      const names = source.alias ? [source.alias.toLowerCase()] : [t.name.toLowerCase(), `${t.schema}.${t.name}`.toLowerCase()];
      return { shape: { names, columns: tableColumns(t) }, rows };
    }
    case 'changes':
      return changeTableSource(session, source, scope);
    case 'values': {
      const typed = source.rows.map((r) => r.map((e) => evaluate(e, scope, [])));
      if (typed.some((r) => r.length !== source.columns.length)) throw errors.columnCountMismatch();
      const columns: SourceColumn[] = source.columns.map((name, i) => {
        const first = typed.find((r) => r[i]!.value !== null)?.[i] ?? typed[0]![i]!;
        return { name, type: first.type, nullable: true };
      });
      return { shape: { names: [source.alias.toLowerCase()], columns }, rows: typed.map((r) => r.map((v, i) => (v.value === null ? null : convert(v, columns[i]!.type)))) };
    }
    case 'subquery': {
      const result = runSelect(session, source.query, scope.outer);
      const columns = result.columns.map((c, i) => ({ ...c, name: source.columns?.[i] ?? c.name }));
      return { shape: { names: [source.alias.toLowerCase()], columns }, rows: result.rows };
    }
  }
}

/** The joined rows of a FROM clause, and the scope that sees its sources. */
export function joinedRows(session: SessionContext, q: Pick<SelectStatement, 'from'>, outer?: Scope['outer']): { scope: Scope; rows: BoundRow[] } {
  const scope: Scope = { session, shapes: [], outer };
  if (!q.from) return { scope, rows: [[]] };
  const first = loadSource(session, q.from.source, scope);
  scope.shapes.push(first.shape);
  let rows: BoundRow[] = first.rows.map((r) => [r]);
  for (const join of q.from.joins) {
    const next = loadSource(session, join.source, scope);
    scope.shapes.push(next.shape);
    const out: BoundRow[] = [];
    if (join.type === 'right') {
      for (const right of next.rows) {
        let matched = false;
        for (const left of rows) {
          const candidate = [...left, right];
          if (truth(join.on!, scope, candidate) === true) { out.push(candidate); matched = true; }
        }
        if (!matched) out.push([...rows[0]?.map(() => null) ?? scope.shapes.slice(0, -1).map(() => null), right]);
      }
    } else {
      for (const left of rows) {
        let matched = false;
        for (const right of next.rows) {
          const candidate = [...left, right];
          if (join.type === 'cross' || truth(join.on!, scope, candidate) === true) { out.push(candidate); matched = true; }
        }
        if (!matched && join.type === 'left') out.push([...left, null]);
      }
    }
    rows = out;
  }
  return { scope, rows };
}

interface Projection {
  column: ResultColumn;
  value: (row: BoundRow, group?: BoundRow[]) => SqlValue;
}

export function projections(scope: Scope, items: SelectItem[]): Projection[] {
  const out: Projection[] = [];
  for (const item of items) {
    if (item.kind === 'star') {
      const qualifier = item.qualifier?.toLowerCase();
      let any = false;
      scope.shapes.forEach((shape, s) => {
        if (qualifier !== undefined && !shape.names.includes(qualifier)) return;
        any = true;
        shape.columns.forEach((c, i) => out.push({ column: { ...c, nullable: c.nullable || s > 0 }, value: (row) => row[s]?.[i] ?? null }));
      });
      if (!any) throw errors.invalidObject(item.qualifier ?? '*');
      continue;
    }
    const typed = typeOf(item.expr, scope);
    let column: ResultColumn;
    if (item.expr.kind === 'column') {
      const ref = resolveColumn(scope, item.expr.qualifier, item.expr.name);
      const shapeColumn = columnOf(scope, ref);
      // A column of an outer-joined source can be NULL whatever its definition says.
      const outerJoined = ref.depth === 0 && ref.source > 0;
      column = { ...shapeColumn, nullable: shapeColumn.nullable || outerJoined, name: item.alias ?? shapeColumn.name };
    } else {
      column = { name: item.alias ?? '', type: typed.type, nullable: true, readOnly: true };
    }
    const expr = item.expr;
    const type = typed.type;
    out.push({ column, value: (row, group) => {
      const v = evaluate(expr, scope, row, group);
      return v.value === null ? null : convert(v, type);
    } });
  }
  return out;
}

function sortRows<T>(rows: T[], keysOf: (r: T) => TypedValue[], descending: boolean[]): T[] {
  const keyed = rows.map((r) => ({ r, k: keysOf(r) }));
  keyed.sort((a, b) => {
    for (let i = 0; i < descending.length; i++) {
      const x = a.k[i]!;
      const y = b.k[i]!;
      let c: number;
      if (x.value === null || y.value === null) c = x.value === null ? (y.value === null ? 0 : -1) : 1;
      else c = compare(x, y) ?? 0;
      if (c !== 0) return descending[i] ? -c : c;
    }
    return 0;
  });
  return keyed.map((k) => k.r);
}

function limit(session: SessionContext, scope: Scope, e: SelectStatement['top']): number | undefined {
  if (!e) return undefined;
  const v = evaluate(e, scope, []).value;
  return v === null ? undefined : Number(toNumber(v));
}

export function runSelect(session: SessionContext, q: SelectStatement, outer?: Scope['outer']): QueryResult {
  const { scope, rows: joined } = joinedRows(session, q, outer);
  let rows = q.where ? joined.filter((r) => truth(q.where!, scope, r) === true) : joined;
  const projection = projections(scope, q.columns);
  const aggregated = q.groupBy !== undefined || q.columns.some((c) => c.kind === 'expr' && containsAggregate(c.expr)) || (q.having !== undefined);

  interface Output { values: SqlValue[]; row: BoundRow; group?: BoundRow[] }
  let outputs: Output[];
  if (aggregated) {
    const groups = new Map<string, BoundRow[]>();
    for (const r of rows) {
      const key = (q.groupBy ?? []).map((g) => keyPart(evaluate(g, scope, r))).join('\u0001');
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(r);
    }
    if (groups.size === 0 && !q.groupBy) groups.set('', []);
    outputs = [...groups.values()]
      .filter((g) => !q.having || truth(q.having, scope, g[0] ?? [], g) === true)
      .map((g) => ({ values: projection.map((p) => p.value(g[0] ?? scope.shapes.map(() => null), g)), row: g[0] ?? [], group: g }));
  } else {
    outputs = rows.map((r) => ({ values: projection.map((p) => p.value(r)), row: r }));
  }
  if (q.orderBy) {
    const items = q.orderBy;
    outputs = sortRows(outputs, (o) => items.map((item) => {
      const e = item.expr;
      if (e.kind === 'literal' && typeof e.value.value === 'number') {
        const i = e.value.value - 1;
        return { type: projection[i]!.column.type, value: o.values[i] ?? null };
      }
      if (e.kind === 'column' && !e.qualifier) {
        const i = projection.findIndex((p) => p.column.name.toLowerCase() === e.name.toLowerCase());
        if (i >= 0 && q.columns.some((c) => c.kind === 'expr' && c.alias?.toLowerCase() === e.name.toLowerCase())) return { type: projection[i]!.column.type, value: o.values[i] ?? null };
      }
      return evaluate(e, scope, o.row, o.group);
    }), items.map((i) => i.descending));
  }
  if (q.distinct) {
    const seen = new Set<string>();
    outputs = outputs.filter((o) => {
      const key = o.values.map((v, i) => keyPart({ type: projection[i]!.column.type, value: v })).join('\u0001');
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }
  const offset = limit(session, scope, q.offset) ?? 0;
  const fetch = limit(session, scope, q.fetch);
  const top = limit(session, scope, q.top);
  let result = outputs.slice(offset, fetch === undefined ? undefined : offset + fetch);
  if (top !== undefined) result = result.slice(0, top);
  rows = [];
  return { columns: projection.map((p) => p.column), rows: result.map((o) => o.values) };
}
