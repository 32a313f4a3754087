import type { AdapterInstruction, AdapterPropertyDescription, Identity } from '../../src/adapter/instructions';
import { ObjectId, UUID, type ObjectKey } from '../../src/model';
import type { Logger } from '../../src/shared/logger';
import { objectKeyId } from './keys';
import { STATE_TYPE } from './position';

/**
 * What a batch of realm transactions touched (the apply side): objects and which of their
 * properties ('all' for inserts and deletes), counters' summed increments, cleared types, schema
 * additions. Pure: instructions in, a description out; what has no database effect is reported to
 * `note`. Apply writes the realm's *current state* of the touched objects rather than replaying
 * instructions, which makes list edits, counters and CLEAR exact whatever was merged in between.
 */

/** An object a batch touched, and which of its properties ('all' for inserts and deletes). */
export interface Touched<T> {
  table: T;
  key: ObjectKey;
  props: Set<string> | 'all';
  /** Sums of ADD_INTEGER per property, for counter columns (written as `n = n + δ`). */
  deltas?: Map<string, number>;
  /** Properties the batch assigned (SET / INSERT): a counter assigned in the batch is written as its value. */
  assigned?: Set<string>;
}

export interface Collected<T> {
  /** By {@link objectKeyId} of type and key. */
  objects: Map<string, Touched<T>>;
  clears: Set<T>;
  schema: { table: T; properties: Record<string, AdapterPropertyDescription> }[];
}

/** What the collector needs of the mapping. */
export interface TouchMapping<T extends { type: string }> {
  tableOfType(type: string): T | undefined;
  /** The realm key of an Adapter identity for an object of `t` (see {@link identityKey}). */
  keyFromIdentity(t: T, identity: Identity): ObjectKey;
}

export type Note = (id: string, message: string, fields: Record<string, unknown>) => void;

/** The realm primary-key types (and `composite`, a string encoding several columns). */
export type KeyKind = 'int' | 'string' | 'uuid' | 'objectId' | 'composite';

/** An Adapter identity → a realm key of that kind. */
export function identityKey(kind: KeyKind, identity: Identity): ObjectKey {
  switch (kind) {
    case 'uuid':
      return new UUID(String(identity));
    case 'objectId':
      return new ObjectId(String(identity));
    case 'int':
      return Number(identity);
    default:
      return String(identity);
  }
}

export function objectIdOf<T extends { type: string }>(t: T, key: ObjectKey): string {
  return objectKeyId(t.type, key);
}

export function touch<T extends { type: string }>(c: Collected<T>, t: T, key: ObjectKey, props: Iterable<string> | 'all'): Touched<T> {
  const id = objectKeyId(t.type, key);
  let o = c.objects.get(id);
  if (!o) c.objects.set(id, (o = { table: t, key, props: new Set() }));
  if (o.props === 'all') return o;
  if (props === 'all') o.props = 'all';
  else for (const p of props) o.props.add(p);
  return o;
}

export function collectTouched<T extends { type: string }>(mapping: TouchMapping<T>, path: string, txs: readonly (readonly AdapterInstruction[])[], note: Note): Collected<T> {
  const c: Collected<T> = { objects: new Map(), clears: new Set(), schema: [] };
  for (const tx of txs) {
    for (const i of tx) {
      if (i.object_type === STATE_TYPE) continue; // the connector's own bookkeeping type
      const t = mapping.tableOfType(i.object_type);
      if (!t) {
        if (i.type !== 'ADD_TYPE' && i.type !== 'ADD_PROPERTIES') note(`type:${i.object_type}`, `type ${i.object_type} is not mapped to a table; its changes stay in the realm`, { path });
        continue;
      }
      switch (i.type) {
        case 'ADD_TYPE':
        case 'ADD_PROPERTIES':
          c.schema.push({ table: t, properties: i.properties });
          break;
        case 'INSERT':
        case 'DELETE':
          touch(c, t, mapping.keyFromIdentity(t, i.identity), 'all');
          break;
        case 'SET': {
          const o = touch(c, t, mapping.keyFromIdentity(t, i.identity), Object.keys(i.values));
          for (const p of Object.keys(i.values)) (o.assigned ??= new Set()).add(p);
          break;
        }
        case 'ADD_INTEGER': {
          const o = touch(c, t, mapping.keyFromIdentity(t, i.identity), [i.property]);
          o.deltas ??= new Map();
          o.deltas.set(i.property, (o.deltas.get(i.property) ?? 0) + i.value);
          break;
        }
        case 'LIST_SET':
        case 'LIST_INSERT':
        case 'LIST_ERASE':
        case 'LIST_MOVE':
        case 'LIST_CLEAR':
          touch(c, t, mapping.keyFromIdentity(t, i.identity), [i.property]);
          break;
        case 'CLEAR':
          c.clears.add(t);
          break;
        case 'CHANGE_IDENTITY':
          note(`identity:${i.object_type}`, `CHANGE_IDENTITY on ${i.object_type} is not applied (a primary key never changes in the realm)`, { path });
          break;
      }
    }
  }
  return c;
}

/**
 * What a batch leaves out (unmapped types and properties, CHANGE_IDENTITY): noted while the batch
 * runs, counted and logged once it commits — not again when it is retried, and once per kind.
 */
export class InstructionNotes {
  private notes: [string, string, Record<string, unknown>][] = [];
  private readonly warned = new Set<string>();

  constructor(
    private readonly status: { skippedInstructions: number },
    private readonly log: Logger,
    private readonly label: string,
  ) {}

  readonly note: Note = (id, message, fields) => {
    this.notes.push([id, message, fields]);
  };

  /** A new batch (or a rejected transaction, whose left-out instructions are not reported). */
  reset(): void {
    this.notes = [];
  }

  /** The batch committed: counts its notes and logs each kind the first time. */
  committed(): void {
    for (const [id, message, fields] of this.notes.splice(0)) {
      this.status.skippedInstructions++;
      if (this.warned.has(id)) continue;
      this.warned.add(id);
      this.log.warn(`${this.label} apply: ${message}`, fields);
    }
  }

  /** Runs `fn` without keeping what it notes (collecting for conflict protection reports nothing). */
  silently<R>(fn: () => R): R {
    const saved = this.notes;
    this.notes = [];
    try {
      return fn();
    } finally {
      this.notes = saved;
    }
  }
}
