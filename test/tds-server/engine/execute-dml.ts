/**
 * INSERT, UPDATE, DELETE and MERGE, with OUTPUT. Rows to change are found first and changed
 * after, so every SET expression, WHERE and ON sees the table as it was before the statement,
 * as in SQL Server. OUTPUT rows see INSERTED and DELETED (and MERGE's source and $action).
 */
import { DeleteStatement, InsertStatement, MergeClause, MergeStatement, OutputClause, UpdateStatement } from '../sql/ast';
import { Row } from './database';
import { errors } from './errors';
import { evaluate, truth } from './evaluate';
import { joinedRows, projections, resolveTable, runSelect, tableColumns } from './execute-select';
import { RowWriter, WriteContext } from './row-writer';
import { TableSchema, findColumn } from './schema';
import { BoundRow, QueryResult, Scope, SourceShape } from './scope';
import { TypedValue } from './sql-types';

export interface DmlResult {
  rowCount: number;
  output?: QueryResult;
}

function columnIndex(t: TableSchema, name: string): number {
  const i = findColumn(t, name);
  if (i < 0) throw errors.invalidColumn(name);
  return i;
}

function outputScope(ctx: WriteContext, t: TableSchema, extra: SourceShape[] = []): Scope {
  const columns = tableColumns(t).map((c) => ({ ...c, nullable: true }));
  return { session: ctx, shapes: [{ names: ['inserted'], columns }, { names: ['deleted'], columns }, ...extra] };
}

class OutputCollector {
  private readonly rows: BoundRow[] = [];
  private readonly actions: string[] = [];
  constructor(private readonly clause: OutputClause | undefined, private readonly scope: Scope) {
    // Resolve the OUTPUT list now, so a bad column fails before anything is written.
    if (clause) projections(scope, clause.items);
  }
  add(inserted: Row | null, deleted: Row | null, extra: BoundRow = [], action?: string): void {
    if (!this.clause) return;
    this.rows.push([inserted, deleted, ...extra]);
    this.actions.push(action ?? '');
  }
  result(): QueryResult | undefined {
    if (!this.clause) return undefined;
    const base = projections(this.scope, this.clause.items);
    return {
      columns: base.map((p) => p.column),
      rows: this.rows.map((row, i) => {
        const scope = { ...this.scope, action: this.actions[i] };
        return projections(scope, this.clause!.items).map((p) => p.value(row));
      }),
    };
  }
}

export function runInsert(ctx: WriteContext, s: InsertStatement): DmlResult {
  const t = resolveTable(ctx, s.table);
  const targets = s.columns
    ? s.columns.map((c) => columnIndex(t, c))
    : t.columns.map((c, i) => ({ c, i })).filter(({ c }) => !c.computed && c.type.name !== 'rowversion' && (!c.identity || ctx.identityInsert === t.key)).map(({ i }) => i);
  let rows: TypedValue[][];
  const empty: Scope = { session: ctx, shapes: [] };
  const defaults = new Set<string>();
  if (s.source.kind === 'values') {
    rows = s.source.rows.map((r, ri) => {
      if (r.length !== targets.length) throw errors.columnCountMismatch();
      return r.map((e, ci) => {
        if (e.kind === 'default') { defaults.add(`${ri}:${ci}`); return { type: { name: 'int' }, value: null }; }
        return evaluate(e, empty, []);
      });
    });
  } else if (s.source.kind === 'select') {
    const result = runSelect(ctx, s.source.query);
    if (result.columns.length !== targets.length) throw errors.columnCountMismatch();
    rows = result.rows.map((r) => r.map((value, i) => ({ type: result.columns[i]!.type, value })));
  } else {
    rows = [[]];
  }
  const writer = new RowWriter(ctx, t, 'INSERT');
  const output = new OutputCollector(s.output, outputScope(ctx, t));
  rows.forEach((values, ri) => {
    const given = new Map<number, TypedValue>();
    values.forEach((v, ci) => { if (!defaults.has(`${ri}:${ci}`)) given.set(targets[ci]!, v); });
    const row = writer.insert(given);
    output.add(row, null);
  });
  return { rowCount: rows.length, output: output.result() };
}

function targetScope(ctx: WriteContext, t: TableSchema, alias: string | undefined): Scope {
  const names = alias ? [alias.toLowerCase(), t.name.toLowerCase()] : [t.name.toLowerCase(), `${t.schema}.${t.name}`.toLowerCase()];
  return { session: ctx, shapes: [{ names, columns: tableColumns(t) }] };
}

function limitOf(ctx: WriteContext, top: UpdateStatement['top']): number {
  if (!top) return Infinity;
  return Number(evaluate(top, { session: ctx, shapes: [] }, []).value);
}

export function runUpdate(ctx: WriteContext, s: UpdateStatement): DmlResult {
  const t = resolveTable(ctx, s.table);
  const scope = targetScope(ctx, t, s.alias);
  const matches = [...ctx.db.rows(ctx.transaction(), t.key)].filter(([, r]) => !s.where || truth(s.where, scope, [r]) === true).slice(0, limitOf(ctx, s.top));
  const assignments = s.set.map((a) => ({ column: columnIndex(t, a.column), expr: a.expr }));
  const writer = new RowWriter(ctx, t, 'UPDATE');
  const output = new OutputCollector(s.output, outputScope(ctx, t));
  const planned = matches.map(([key, old]) => ({ key, old, values: new Map(assignments.map((a) => [a.column, evaluate(a.expr, scope, [old])])) }));
  for (const p of planned) output.add(writer.update(p.key, p.old, p.values), p.old);
  return { rowCount: planned.length, output: output.result() };
}

export function runDelete(ctx: WriteContext, s: DeleteStatement): DmlResult {
  const t = resolveTable(ctx, s.table);
  const scope = targetScope(ctx, t, s.alias);
  const matches = [...ctx.db.rows(ctx.transaction(), t.key)].filter(([, r]) => !s.where || truth(s.where, scope, [r]) === true).slice(0, limitOf(ctx, s.top));
  const writer = new RowWriter(ctx, t, 'DELETE');
  const output = new OutputCollector(s.output, outputScope(ctx, t));
  for (const [key, old] of matches) {
    // A cascade from an earlier row may already have removed this one.
    if (!ctx.db.rows(ctx.transaction(), t.key).has(key)) continue;
    writer.delete(key, old);
    output.add(null, old);
  }
  return { rowCount: matches.length, output: output.result() };
}

function firstClause(clauses: MergeClause[], when: MergeClause['when'], scope: Scope, row: BoundRow): MergeClause | undefined {
  return clauses.find((c) => c.when === when && (!c.condition || truth(c.condition, scope, row) === true));
}

export function runMerge(ctx: WriteContext, s: MergeStatement): DmlResult {
  const t = resolveTable(ctx, s.target);
  const { scope: sourceScope, rows: sourceRows } = joinedRows(ctx, { from: { source: s.source, joins: [] } });
  const sourceShape = sourceScope.shapes[0]!;
  const target = targetScope(ctx, t, s.targetAlias);
  const scope: Scope = { session: ctx, shapes: [target.shapes[0]!, sourceShape] };
  const targetRows = [...ctx.db.rows(ctx.transaction(), t.key)];
  const matchedTargets = new Set<string>();
  type Plan = { kind: 'update' | 'delete' | 'insert'; key?: string; old?: Row; source: BoundRow; clause: MergeClause };
  const plans: Plan[] = [];
  for (const src of sourceRows) {
    const sourceValues = src[0]!;
    const hits = targetRows.filter(([, r]) => truth(s.on, scope, [r, sourceValues]) === true);
    if (hits.length > 0) {
      for (const [key, r] of hits) {
        const clause = firstClause(s.clauses, 'matched', scope, [r, sourceValues]);
        if (matchedTargets.has(key) && clause) throw errors.mergeDuplicateSource();
        matchedTargets.add(key);
        if (clause) plans.push({ kind: clause.action.kind === 'delete' ? 'delete' : 'update', key, old: r, source: [sourceValues], clause });
      }
    } else {
      const clause = firstClause(s.clauses, 'notMatchedByTarget', scope, [null, sourceValues]);
      if (clause) plans.push({ kind: 'insert', source: [sourceValues], clause });
    }
  }
  for (const [key, r] of targetRows) {
    if (matchedTargets.has(key)) continue;
    const clause = firstClause(s.clauses, 'notMatchedBySource', scope, [r, null]);
    if (clause) plans.push({ kind: clause.action.kind === 'delete' ? 'delete' : 'update', key, old: r, source: [null], clause });
  }
  const writer = new RowWriter(ctx, t, 'MERGE');
  const output = new OutputCollector(s.output, outputScope(ctx, t, [{ ...sourceShape }]));
  for (const p of plans) {
    const action = p.clause.action;
    const row: BoundRow = [p.old ?? null, p.source[0] ?? null];
    if (p.kind === 'insert' && action.kind === 'insert') {
      const given = new Map<number, TypedValue>();
      if (action.values !== 'default') {
        const columns = action.columns ? action.columns.map((c) => columnIndex(t, c)) : t.columns.map((c, i) => ({ c, i })).filter(({ c }) => !c.computed && !c.identity && c.type.name !== 'rowversion').map(({ i }) => i);
        if (columns.length !== action.values.length) throw errors.columnCountMismatch();
        action.values.forEach((e, i) => { if (e.kind !== 'default') given.set(columns[i]!, evaluate(e, scope, row)); });
      }
      output.add(writer.insert(given), null, p.source, 'INSERT');
    } else if (p.kind === 'update' && action.kind === 'update') {
      const values = new Map(action.set.map((a) => [columnIndex(t, a.column), evaluate(a.expr, scope, row)]));
      output.add(writer.update(p.key!, p.old!, values), p.old!, p.source, 'UPDATE');
    } else {
      if (!ctx.db.rows(ctx.transaction(), t.key).has(p.key!)) continue;
      writer.delete(p.key!, p.old!);
      output.add(null, p.old!, p.source, 'DELETE');
    }
  }
  return { rowCount: plans.length, output: output.result() };
}
