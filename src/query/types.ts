import type { ObjectRecord } from '../changeset/state';
import type { ObjectKey, ObjectSchema, PrimitiveType, Value } from '../model';

/** A Realm object passed as a query argument (`owner == $0`): its type and key. */
export class LinkArg {
  constructor(
    readonly type: string,
    readonly id: ObjectKey,
  ) {}
}

/**
 * What the query engine reads. A {@link StateStore} satisfies it. `schemas` is only needed for
 * `@links.@count` (which counts links from every type); `referrers` is an optional index used to
 * find the objects that link to an object (without it, the linking type is scanned).
 */
export interface QueryStore {
  getSchema(type: string): ObjectSchema | undefined;
  getObject(type: string, id: ObjectKey): ObjectRecord | undefined;
  objects(type: string): Iterable<ObjectRecord>;
  schemas?(): ObjectSchema[];
  referrers?(type: string, id: ObjectKey, fromType: string): Iterable<ObjectRecord>;
}

export interface CompiledQuery {
  readonly type: string;
  /** The query text, for messages and caching. */
  readonly text: string;
  matches(record: ObjectRecord, store: QueryStore): boolean;
  /** Applies the trailing SORT / DISTINCT / LIMIT clauses, in the order written, to matching records (in their current order). */
  post(records: ObjectRecord[], store: QueryStore): ObjectRecord[];
  readonly hasPostClauses: boolean;
}

/** The static type of an operand; `link` carries its target type, `null` is the type of the null literal. */
export interface ValueType {
  kind: PrimitiveType | 'link' | 'null';
  objectType?: string;
}

/** SUBQUERY variables in scope hold the element being tested, by slot. */
export type Vars = ObjectRecord[];
export type Reader = (record: ObjectRecord, store: QueryStore, vars: Vars) => Value;
export type MultiReader = (record: ObjectRecord, store: QueryStore, vars: Vars) => Value[];

/**
 * A compiled operand. `single` and `multi` read from the object under test (`multi` when the key
 * path goes through a list, so that a comparison needs ANY / ALL / NONE); `const` is a literal or
 * argument; `list` is `{…}` or an array argument, only valid after IN and BETWEEN.
 */
export type Operand =
  | { form: 'const'; value: Value; type: ValueType; offset: number }
  | { form: 'list'; values: Value[]; types: ValueType[]; offset: number }
  | { form: 'single'; read: Reader; type: ValueType; offset: number; text: string }
  | { form: 'multi'; readAll: MultiReader; type: ValueType; offset: number; text: string };

export type Matcher = (record: ObjectRecord, store: QueryStore, vars: Vars) => boolean;

/** What the compile step carries: the query text (for error positions) and the variables in scope. */
export interface CompileContext {
  store: QueryStore;
  text: string;
  rootType: string;
  args: unknown[];
  variables: Map<string, { slot: number; type: string }>;
  /** Number of variable slots the compiled query needs. */
  slots: { count: number };
}
