import type { Instruction } from '../changeset';
import { ObjectKey, ObjectSchema, PropertySchema, isLinkList, isObjectKey, keyString } from '../model';

/**
 * Where `transform` learns which properties are links. Values in instructions carry no type: a
 * link to a `Person` keyed "alice" looks exactly like the string "alice", so the merge needs the
 * schema to turn a link to a concurrently deleted object into null or a tombstone.
 *
 * Any replica's current schema works (a `StateStore` satisfies this interface): sync only adds
 * types and properties and never changes the shape of an existing one, so a later schema answers
 * every question about an earlier state the same way. Schema instructions inside the changesets
 * being merged are consulted first.
 *
 * @example
 * transform(a, b, serverState) // serverState: StateStore
 */
export interface SchemaLookup {
  getSchema(type: string): ObjectSchema | undefined;
}

/** The target of a link-valued property: a single link or a list of links. */
export interface LinkTarget {
  kind: 'object' | 'list';
  objectType: string;
}

/** One object a value links to. */
export interface LinkRef {
  type: string;
  id: ObjectKey;
}

/** What {@link LinkResolver.linksOf} returns for an instruction without links (shared). */
const NO_LINKS: readonly LinkRef[] = Object.freeze([]);

/** Resolves link properties from a schema plus the schema instructions of the merged changesets. */
export class LinkResolver {
  // Both made on first use: a resolver is built for every transformed pair and every footprint of
  // a merge, most of which never meet a schema instruction or a link (two empty Maps each were a
  // fifth of what a 10,000 × 10,000 offline merge allocated on the server).
  private added: Map<string, Map<string, PropertySchema>> | undefined;
  private cache: Map<string, LinkTarget | null> | undefined;

  constructor(
    private readonly schema: SchemaLookup | undefined,
    changesets: readonly (readonly Instruction[])[],
  ) {
    for (const instructions of changesets) {
      for (const ins of instructions) {
        if (ins.op !== 'AddType' && ins.op !== 'AddProperties') continue;
        this.added ??= new Map();
        let props = this.added.get(ins.type);
        if (!props) this.added.set(ins.type, (props = new Map()));
        for (const p of ins.properties) if (!props.has(p.name)) props.set(p.name, p);
      }
    }
  }

  /** The link target of `type.property`, or undefined when it is not a link (or unknown). */
  target(type: string, property: string): LinkTarget | undefined {
    const key = `${type}\u0000${property}`;
    this.cache ??= new Map();
    let t = this.cache.get(key);
    if (t === undefined) {
      const p = this.added?.get(type)?.get(property) ?? this.schema?.getSchema(type)?.properties.find((q) => q.name === property);
      t = !p ? null : p.type === 'object' ? { kind: 'object', objectType: p.objectType! } : isLinkList(p) ? { kind: 'list', objectType: p.objectType! } : null;
      this.cache.set(key, t);
    }
    return t ?? undefined;
  }

  /** Every live link an instruction writes (values of Create/Set, the element of ListInsert/ListSet); not to be modified. */
  linksOf(ins: Instruction): readonly LinkRef[] {
    switch (ins.op) {
      case 'Create':
      case 'Set': {
        let out: LinkRef[] | undefined;
        const values = ins.values;
        for (const name in values) {
          const v = values[name];
          if (v === null || !isObjectKey(v)) continue;
          const t = this.target(ins.type, name);
          if (t?.kind === 'object') (out ??= []).push({ type: t.objectType, id: v });
        }
        return out ?? NO_LINKS;
      }
      case 'ListInsert':
      case 'ListSet': {
        if (ins.dead || !isObjectKey(ins.value)) return NO_LINKS;
        const t = this.target(ins.type, ins.property);
        return t?.kind === 'list' ? [{ type: t.objectType, id: ins.value }] : NO_LINKS;
      }
      default:
        return NO_LINKS;
    }
  }

  /**
   * `ins` with every link matching `dies` removed: single links become null, list elements become
   * tombstones. Returns `ins` itself when nothing matched.
   */
  killLinks(ins: Instruction, dies: (ref: LinkRef) => boolean): Instruction {
    switch (ins.op) {
      case 'Create':
      case 'Set': {
        let values: Record<string, unknown> | undefined;
        for (const [name, v] of Object.entries(ins.values)) {
          if (v === null || !isObjectKey(v)) continue;
          const t = this.target(ins.type, name);
          if (t?.kind !== 'object' || !dies({ type: t.objectType, id: v })) continue;
          values ??= { ...ins.values };
          values[name] = null;
        }
        return values ? ({ ...ins, values } as Instruction) : ins;
      }
      case 'ListInsert':
      case 'ListSet': {
        if (ins.dead || !isObjectKey(ins.value)) return ins;
        const t = this.target(ins.type, ins.property);
        if (t?.kind !== 'list' || !dies({ type: t.objectType, id: ins.value })) return ins;
        return { ...ins, dead: true };
      }
      default:
        return ins;
    }
  }
}

/** A map key for one object. */
export function objectKey(type: string, id: ObjectKey): string {
  return `${type}\u0000${keyString(id)}`;
}

export function sameKey(a: ObjectKey, b: ObjectKey): boolean {
  if (a === b) return true;
  // Numbers and strings are equal keys only when identical (1 and '1' are different keys).
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  return keyString(a) === keyString(b);
}
