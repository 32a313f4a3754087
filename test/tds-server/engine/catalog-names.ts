/**
 * Name lookups shared by the functions and the catalog views: tables by object id or by the text
 * OBJECT_ID takes ('dbo.t', '[dbo].[t]', 't', 'db.dbo.t'), and the system type ids of sys.types.
 */
import { Database } from './database';
import { TableSchema, tableKey } from './schema';
import { SqlType } from './sql-types';

export function tableByObjectId(db: Database, id: number): TableSchema | undefined {
  for (const t of db.tables.values()) if (t.objectId === id) return t;
  return undefined;
}

/** Splits a multi-part name written as text, brackets and quotes allowed. */
export function splitName(text: string): string[] {
  const parts: string[] = [];
  const re = /\s*(?:\[((?:[^\]]|\]\])*)\]|"((?:[^"]|"")*)"|([^.\s]*))\s*(\.|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    parts.push((m[1] ?? m[2] ?? m[3] ?? '').replace(/\]\]/g, ']'));
    if (m[4] === '' || re.lastIndex >= text.length) break;
  }
  return parts;
}

export function tableByText(db: Database, text: string): TableSchema | undefined {
  const parts = splitName(text.trim());
  if (parts.length === 0 || parts.length > 3) return undefined;
  const name = parts[parts.length - 1]!;
  const schema = parts.length >= 2 ? parts[parts.length - 2] || 'dbo' : 'dbo';
  if (parts.length === 3 && parts[0]!.toLowerCase() !== db.name.toLowerCase()) return undefined;
  return db.tables.get(tableKey(schema, name));
}

/** sys.types: name, system_type_id (= user_type_id for the built-ins). */
export const SYSTEM_TYPES: Array<{ name: string; id: number; maxLength: number; precision: number; scale: number }> = [
  { name: 'image', id: 34, maxLength: 16, precision: 0, scale: 0 },
  { name: 'text', id: 35, maxLength: 16, precision: 0, scale: 0 },
  { name: 'uniqueidentifier', id: 36, maxLength: 16, precision: 0, scale: 0 },
  { name: 'date', id: 40, maxLength: 3, precision: 10, scale: 0 },
  { name: 'time', id: 41, maxLength: 5, precision: 16, scale: 7 },
  { name: 'datetime2', id: 42, maxLength: 8, precision: 27, scale: 7 },
  { name: 'datetimeoffset', id: 43, maxLength: 10, precision: 34, scale: 7 },
  { name: 'tinyint', id: 48, maxLength: 1, precision: 3, scale: 0 },
  { name: 'smallint', id: 52, maxLength: 2, precision: 5, scale: 0 },
  { name: 'int', id: 56, maxLength: 4, precision: 10, scale: 0 },
  { name: 'smalldatetime', id: 58, maxLength: 4, precision: 16, scale: 0 },
  { name: 'real', id: 59, maxLength: 4, precision: 24, scale: 0 },
  { name: 'money', id: 60, maxLength: 8, precision: 19, scale: 4 },
  { name: 'datetime', id: 61, maxLength: 8, precision: 23, scale: 3 },
  { name: 'float', id: 62, maxLength: 8, precision: 53, scale: 0 },
  { name: 'ntext', id: 99, maxLength: 16, precision: 0, scale: 0 },
  { name: 'bit', id: 104, maxLength: 1, precision: 1, scale: 0 },
  { name: 'decimal', id: 106, maxLength: 17, precision: 38, scale: 38 },
  { name: 'numeric', id: 108, maxLength: 17, precision: 38, scale: 38 },
  { name: 'smallmoney', id: 122, maxLength: 4, precision: 10, scale: 4 },
  { name: 'bigint', id: 127, maxLength: 8, precision: 19, scale: 0 },
  { name: 'varbinary', id: 165, maxLength: 8000, precision: 0, scale: 0 },
  { name: 'varchar', id: 167, maxLength: 8000, precision: 0, scale: 0 },
  { name: 'binary', id: 173, maxLength: 8000, precision: 0, scale: 0 },
  { name: 'char', id: 175, maxLength: 8000, precision: 0, scale: 0 },
  { name: 'timestamp', id: 189, maxLength: 8, precision: 0, scale: 0 },
  { name: 'nvarchar', id: 231, maxLength: 8000, precision: 0, scale: 0 },
  { name: 'nchar', id: 239, maxLength: 8000, precision: 0, scale: 0 },
  { name: 'xml', id: 241, maxLength: -1, precision: 0, scale: 0 },
];

export function systemTypeId(t: SqlType): number {
  const name = t.name === 'rowversion' ? 'timestamp' : t.name;
  return SYSTEM_TYPES.find((s) => s.name === name)!.id;
}

export function typeNameById(id: number): string | null {
  return SYSTEM_TYPES.find((s) => s.id === id)?.name ?? null;
}
