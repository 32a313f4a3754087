import type { ObjectKey, PropertySchema, Value } from '../model';

/**
 * The instruction set. A changeset is an ordered list of these; `apply()` runs them against a
 * replica, `transform()` (src/merge) rebases them past concurrent ones.
 *
 * List instructions address the list's *wire index space*, which includes tombstones (entries
 * whose link target was deleted); `prior` is the list's wire size before the instruction and is
 * checked by the strict applier.
 */
export type Instruction =
  | AddType
  | AddProperties
  | Create
  | SetValues
  | AddInteger
  | DeleteObject
  | ClearType
  | ListSet
  | ListInsert
  | ListErase
  | ListMove
  | ListClear;

export type InstructionOp = Instruction['op'];

export interface AddType {
  op: 'AddType';
  type: string;
  primaryKey: string | null;
  properties: PropertySchema[];
}

export interface AddProperties {
  op: 'AddProperties';
  type: string;
  properties: PropertySchema[];
}

/**
 * Creates an object, or — when it exists already (a concurrent create of the same primary key) —
 * acts as a Set of `values`. `values` never holds list properties (lists start empty and are
 * filled by ListInsert) nor the primary key (that is `id`). `defaults` names the values that came
 * from schema defaults rather than from the user: a real write beats them whatever the time.
 */
export interface Create {
  op: 'Create';
  type: string;
  id: ObjectKey;
  values: Record<string, Value>;
  defaults?: string[];
}

export interface SetValues {
  op: 'Set';
  type: string;
  id: ObjectKey;
  values: Record<string, Value>;
  defaults?: string[];
}

export interface AddInteger {
  op: 'AddInteger';
  type: string;
  id: ObjectKey;
  property: string;
  delta: number;
}

export interface DeleteObject {
  op: 'Delete';
  type: string;
  id: ObjectKey;
}

/** Deletes every object of a type. */
export interface ClearType {
  op: 'Clear';
  type: string;
}

interface ListOp {
  type: string;
  id: ObjectKey;
  property: string;
  /** The list's wire size before this instruction. */
  prior: number;
}

export interface ListSet extends ListOp {
  op: 'ListSet';
  index: number;
  value: Value;
  /** The entry is a tombstone: a link to an object deleted concurrently. */
  dead?: boolean;
}

export interface ListInsert extends ListOp {
  op: 'ListInsert';
  index: number;
  value: Value;
  dead?: boolean;
}

export interface ListErase extends ListOp {
  op: 'ListErase';
  index: number;
}

/** Removes the entry at `from` and inserts it so that it ends at index `to`. */
export interface ListMove extends ListOp {
  op: 'ListMove';
  from: number;
  to: number;
}

export interface ListClear extends ListOp {
  op: 'ListClear';
}

export type ListInstruction = ListSet | ListInsert | ListErase | ListMove | ListClear;
export type ObjectInstruction = Create | SetValues | AddInteger | DeleteObject | ListInstruction;
export type SchemaInstruction = AddType | AddProperties;

export function isListInstruction(i: Instruction): i is ListInstruction {
  return i.op === 'ListSet' || i.op === 'ListInsert' || i.op === 'ListErase' || i.op === 'ListMove' || i.op === 'ListClear';
}

export function isSchemaInstruction(i: Instruction): i is SchemaInstruction {
  return i.op === 'AddType' || i.op === 'AddProperties';
}

/**
 * A changeset with the discriminant that orders its conflicts: (origin timestamp, origin file
 * ident), compared lexicographically. A larger discriminant is "later" and wins LWW conflicts.
 */
export interface Changeset {
  instructions: Instruction[];
  /** Hybrid-logical-clock timestamp of the changeset's birth (kept through every transform). */
  timestamp: number;
  /** Client file ident of the replica that made it (kept through every transform). */
  fileIdent: number;
}

/** Negative when `a` is earlier than `b`. Never 0 for changesets of different origins. */
export function compareDiscriminants(a: Pick<Changeset, 'timestamp' | 'fileIdent'>, b: Pick<Changeset, 'timestamp' | 'fileIdent'>): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  if (a.fileIdent !== b.fileIdent) return a.fileIdent < b.fileIdent ? -1 : 1;
  return 0;
}
