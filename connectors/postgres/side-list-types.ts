import type { ObjectKey } from '../../src/model';
import type { RawRow, ResolvedTable } from './mapping';

/** The side-list index's types and small helpers (side-lists.ts). */

/** A side-row change in a source transaction (JSON-safe: it may spill to disk with the rest). */
export type SideListChange =
  | { op: 'side-list'; table: string; kind: 'upsert'; row: RawRow; old: RawRow | null }
  | { op: 'side-list'; table: string; kind: 'delete'; old: RawRow }
  | { op: 'side-list'; table: string; kind: 'truncate' };

/** An object a batch of realm transactions touched (apply.ts). */
export interface TouchedObject {
  table: ResolvedTable;
  key: ObjectKey;
  props: Set<string> | 'all';
}

/** For `realm-wins` (capture's protection): a list with unapplied realm edits is left alone. */
export interface ListProtection {
  protectedProperties(path: string, t: ResolvedTable, key: ObjectKey): Set<string> | 'all' | null;
}

/** A comparable text of a realm value (the kind included, so 1 and '1' differ). */
export function canonValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof Date) return `date:${v.getTime()}`;
  if (v instanceof Uint8Array) return `data:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}`;
  if (v instanceof ArrayBuffer) return `data:${Buffer.from(v).toString('base64')}`;
  if (typeof v === 'object') return `${v.constructor.name}:${String(v)}`;
  return `${typeof v}:${String(v)}`;
}

export interface SideRow {
  /** keyText of the owner's realm key. */
  owner: string;
  key: ObjectKey;
  value: string | null;
  position: number | null;
}

/** One list's rows by identity, and the identities of each owner. */
export class ListIndex {
  readonly rows = new Map<string, SideRow>();
  readonly byOwner = new Map<string, Set<string>>();
}

/** A side row read by apply, with its physical address (valid while the transaction holds its lock). */
export interface DbRow {
  tableoid: string;
  ctid: string;
  raw: RawRow;
  canon: string;
  position: number | null;
}

export interface RealmListLike extends Iterable<unknown> {
  splice(start: number, deleteCount: number, ...items: unknown[]): unknown;
  move(from: number, to: number): void;
}

/** Where an owner row's realm is (the RealmRouter answers it; structural, so this module needs no import of it). */
export interface OwnerPaths {
  pathOf(table: ResolvedTable, key: ObjectKey): string | null;
}

export function groupBy<T>(items: T[], by: (x: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of items) (out.get(by(x)) ?? out.set(by(x), []).get(by(x))!).push(x);
  return out;
}
