/**
 * The DDL a connector's tests set up with: CREATE TABLE (types, NULL/NOT NULL, IDENTITY, DEFAULT,
 * computed columns, rowversion, PRIMARY KEY/UNIQUE/FOREIGN KEY … ON DELETE CASCADE, inline or as
 * table constraints), CREATE [UNIQUE] INDEX, DROP TABLE [IF EXISTS], TRUNCATE TABLE, ALTER TABLE
 * … ENABLE/DISABLE CHANGE_TRACKING and ADD, ALTER DATABASE … SET CHANGE_TRACKING /
 * ALLOW_SNAPSHOT_ISOLATION / READ_COMMITTED_SNAPSHOT. CHECK constraints are parsed and ignored.
 */
import { ColumnDefinition, ForeignKeyDefinition, Statement, TableConstraint } from './ast';
import { Cursor } from './cursor';
import { parseExpression } from './parse-expression';

function skipBalanced(c: Cursor): void {
  c.expectOp('(');
  let depth = 1;
  while (depth > 0 && !c.atEnd()) {
    const t = c.next();
    if (t.kind === 'op' && t.value === '(') depth++;
    if (t.kind === 'op' && t.value === ')') depth--;
  }
}

function keyColumns(c: Cursor): Array<{ name: string; descending: boolean }> {
  c.expectOp('(');
  const out: Array<{ name: string; descending: boolean }> = [];
  do {
    const name = c.identifier();
    const descending = c.acceptKeyword('DESC');
    if (!descending) c.acceptKeyword('ASC');
    out.push({ name, descending });
  } while (c.acceptOp(','));
  c.expectOp(')');
  return out;
}

function referentialAction(c: Cursor): ForeignKeyDefinition['onDelete'] {
  if (c.acceptKeyword('CASCADE')) return 'CASCADE';
  if (c.acceptKeyword('NO', 'ACTION')) return 'NO ACTION';
  if (c.acceptKeyword('SET', 'NULL')) return 'SET NULL';
  if (c.acceptKeyword('SET', 'DEFAULT')) return 'SET DEFAULT';
  return c.fail();
}

function references(c: Cursor, columns: string[], name?: string): ForeignKeyDefinition {
  c.expectKeyword('REFERENCES');
  const referencedTable = c.objectName();
  const referencedColumns = c.isOp('(') ? c.identifierList() : [];
  const fk: ForeignKeyDefinition = { name, columns, referencedTable, referencedColumns, onDelete: 'NO ACTION', onUpdate: 'NO ACTION' };
  while (c.isKeyword('ON') && (c.isKeyword('DELETE', 1) || c.isKeyword('UPDATE', 1))) {
    c.next();
    if (c.acceptKeyword('DELETE')) fk.onDelete = referentialAction(c);
    else { c.expectKeyword('UPDATE'); fk.onUpdate = referentialAction(c); }
  }
  c.acceptKeyword('NOT', 'FOR', 'REPLICATION');
  return fk;
}

function tableConstraint(c: Cursor): TableConstraint | null {
  let name: string | undefined;
  if (c.acceptKeyword('CONSTRAINT')) name = c.identifier();
  if (c.acceptKeyword('PRIMARY', 'KEY')) {
    c.acceptKeyword('CLUSTERED') || c.acceptKeyword('NONCLUSTERED');
    const columns = keyColumns(c);
    if (c.isKeyword('WITH')) { c.next(); skipBalanced(c); }
    return { kind: 'primaryKey', name, columns };
  }
  if (c.acceptKeyword('UNIQUE')) {
    c.acceptKeyword('CLUSTERED') || c.acceptKeyword('NONCLUSTERED');
    return { kind: 'unique', name, columns: keyColumns(c) };
  }
  if (c.acceptKeyword('FOREIGN', 'KEY')) {
    const columns = c.identifierList();
    return { kind: 'foreignKey', definition: references(c, columns, name) };
  }
  if (c.acceptKeyword('CHECK')) {
    c.acceptKeyword('NOT', 'FOR', 'REPLICATION');
    skipBalanced(c);
    return null;
  }
  return c.fail();
}

function columnDefinition(c: Cursor): { column: ColumnDefinition; constraints: TableConstraint[] } {
  const name = c.identifier();
  const constraints: TableConstraint[] = [];
  if (c.acceptKeyword('AS')) {
    const start = c.index;
    const expr = parseExpression(c);
    const text = c.textFrom(start);
    const persisted = c.acceptKeyword('PERSISTED');
    c.acceptKeyword('NOT', 'NULL');
    return { column: { name, computed: { expr, text, persisted } }, constraints };
  }
  const column: ColumnDefinition = { name, type: c.dataType() };
  for (;;) {
    if (c.acceptKeyword('COLLATE')) { c.identifier(); continue; }
    if (c.acceptKeyword('NOT', 'NULL')) { column.nullable = false; continue; }
    if (c.acceptKeyword('NULL')) { column.nullable = true; continue; }
    if (c.acceptKeyword('IDENTITY')) {
      let seed = 1;
      let increment = 1;
      if (c.acceptOp('(')) {
        seed = c.integer();
        c.expectOp(',');
        increment = c.integer();
        c.expectOp(')');
      }
      column.identity = { seed, increment };
      continue;
    }
    if (c.acceptKeyword('ROWGUIDCOL') || c.acceptKeyword('SPARSE')) continue;
    let constraintName: string | undefined;
    if (c.acceptKeyword('CONSTRAINT')) constraintName = c.identifier();
    if (c.acceptKeyword('DEFAULT')) {
      column.default = parseExpression(c);
      continue;
    }
    if (c.acceptKeyword('PRIMARY', 'KEY')) {
      c.acceptKeyword('CLUSTERED') || c.acceptKeyword('NONCLUSTERED');
      column.primaryKey = { name: constraintName };
      continue;
    }
    if (c.acceptKeyword('UNIQUE')) {
      c.acceptKeyword('CLUSTERED') || c.acceptKeyword('NONCLUSTERED');
      column.unique = { name: constraintName };
      continue;
    }
    if (c.isKeyword('FOREIGN') || c.isKeyword('REFERENCES')) {
      c.acceptKeyword('FOREIGN', 'KEY');
      column.references = references(c, [name], constraintName);
      continue;
    }
    if (c.acceptKeyword('CHECK')) { skipBalanced(c); continue; }
    if (constraintName !== undefined) c.fail();
    break;
  }
  return { column, constraints };
}

function tableElements(c: Cursor): { columns: ColumnDefinition[]; constraints: TableConstraint[] } {
  const columns: ColumnDefinition[] = [];
  const constraints: TableConstraint[] = [];
  do {
    if (c.isKeyword('CONSTRAINT') || c.isKeyword('PRIMARY') || c.isKeyword('UNIQUE') || c.isKeyword('FOREIGN') || c.isKeyword('CHECK')) {
      const k = tableConstraint(c);
      if (k) constraints.push(k);
    } else {
      const d = columnDefinition(c);
      columns.push(d.column);
      constraints.push(...d.constraints);
    }
  } while (c.acceptOp(','));
  return { columns, constraints };
}

export function parseCreate(c: Cursor, from: number): Statement {
  c.expectKeyword('CREATE');
  if (c.acceptKeyword('TABLE')) {
    const table = c.objectName();
    c.expectOp('(');
    const { columns, constraints } = tableElements(c);
    c.expectOp(')');
    if (c.acceptKeyword('ON')) c.identifier();
    if (c.isKeyword('WITH')) { c.next(); skipBalanced(c); }
    return { kind: 'createTable', text: c.textFrom(from), table, columns, constraints };
  }
  const unique = c.acceptKeyword('UNIQUE');
  c.acceptKeyword('CLUSTERED') || c.acceptKeyword('NONCLUSTERED');
  c.expectKeyword('INDEX');
  const name = c.identifier();
  c.expectKeyword('ON');
  const table = c.objectName();
  const columns = keyColumns(c);
  if (c.acceptKeyword('INCLUDE')) c.identifierList();
  if (c.isKeyword('WITH')) { c.next(); skipBalanced(c); }
  return { kind: 'createIndex', text: c.textFrom(from), unique, name, table, columns };
}

export function parseDrop(c: Cursor, from: number): Statement {
  c.expectKeyword('DROP', 'TABLE');
  const ifExists = c.acceptKeyword('IF', 'EXISTS');
  const tables = [c.objectName()];
  while (c.acceptOp(',')) tables.push(c.objectName());
  return { kind: 'dropTable', text: c.textFrom(from), tables, ifExists };
}

function onOff(c: Cursor): boolean {
  if (c.acceptKeyword('ON')) return true;
  c.expectKeyword('OFF');
  return false;
}

export function parseAlter(c: Cursor, from: number): Statement {
  c.expectKeyword('ALTER');
  if (c.acceptKeyword('TABLE')) {
    const table = c.objectName();
    if (c.acceptKeyword('ENABLE', 'CHANGE_TRACKING')) {
      let trackColumnsUpdated: boolean | undefined;
      if (c.acceptKeyword('WITH')) {
        c.expectOp('(');
        c.expectKeyword('TRACK_COLUMNS_UPDATED');
        c.expectOp('=');
        trackColumnsUpdated = onOff(c);
        c.expectOp(')');
      }
      return { kind: 'alterTableChangeTracking', text: c.textFrom(from), table, enable: true, trackColumnsUpdated };
    }
    if (c.acceptKeyword('DISABLE', 'CHANGE_TRACKING')) return { kind: 'alterTableChangeTracking', text: c.textFrom(from), table, enable: false };
    c.expectKeyword('ADD');
    const { columns, constraints } = tableElements(c);
    return { kind: 'alterTableAdd', text: c.textFrom(from), table, columns, constraints };
  }
  c.expectKeyword('DATABASE');
  const database = c.isKeyword('CURRENT') ? (c.next(), 'CURRENT') : c.identifier();
  c.expectKeyword('SET');
  if (c.acceptKeyword('CHANGE_TRACKING')) {
    c.expectOp('=');
    const on = onOff(c);
    let retentionDays: number | undefined;
    let autoCleanup: boolean | undefined;
    if (c.acceptOp('(')) {
      do {
        if (c.acceptKeyword('CHANGE_RETENTION')) {
          c.expectOp('=');
          const n = c.integer();
          const unit = c.identifier().toUpperCase();
          retentionDays = unit.startsWith('DAY') ? n : unit.startsWith('HOUR') ? n / 24 : n / 1440;
        } else {
          c.expectKeyword('AUTO_CLEANUP');
          c.expectOp('=');
          autoCleanup = onOff(c);
        }
      } while (c.acceptOp(','));
      c.expectOp(')');
    }
    return { kind: 'alterDatabase', text: c.textFrom(from), database, option: 'CHANGE_TRACKING', on, retentionDays, autoCleanup };
  }
  const option = c.identifier().toUpperCase();
  if (option !== 'ALLOW_SNAPSHOT_ISOLATION' && option !== 'READ_COMMITTED_SNAPSHOT') c.fail();
  const on = onOff(c);
  if (c.acceptKeyword('WITH')) { c.identifier(); if (c.acceptOp('=')) c.next(); }
  return { kind: 'alterDatabase', text: c.textFrom(from), database, option, on };
}
