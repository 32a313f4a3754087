import type { Instruction } from '../changeset';
import { type LinkResolver, objectKey } from './links';

/**
 * What a changeset touches, at the granularity the merge rules can conflict on (the same relation
 * {@link ConflictIndex} uses for single instructions): the objects it writes or links to, the types
 * of those, the types it clears, and the types whose schema it changes.
 *
 * Two changesets whose footprints do not meet transform to themselves: transform(a, b) visits only
 * instruction pairs the conflict index names, and transformation never adds a target to an
 * instruction, so a footprint computed from a changeset's original text also covers every
 * transformed copy of it. That is what lets a merge of n changesets past m history entries visit
 * only the pairs that meet instead of all n·m.
 */
export interface Footprint {
  objects: string[];
  /** Own and linked types of object instructions (met by a Clear of the type). */
  types: string[];
  clears: string[];
  schema: string[];
}

/**
 * The footprint of `instructions`, each list without repeats. Lists, not Sets: most changesets
 * have one to a few instructions, and a merge takes the footprint of every changeset and history
 * entry it meets (four Sets each were a tenth of what a large offline merge allocated); a long
 * changeset is collected in Sets first, so its lists stay linear to build.
 */
export function footprintOf(instructions: readonly Instruction[], links: LinkResolver): Footprint {
  const f: Footprint = { objects: [], types: [], clears: [], schema: [] };
  if (instructions.length <= SHORT_CHANGESET) {
    visit(instructions, links, (kind, key) => {
      const list = f[kind];
      if (!list.includes(key)) list.push(key);
    });
    return f;
  }
  const sets = { objects: new Set<string>(), types: new Set<string>(), clears: new Set<string>(), schema: new Set<string>() };
  visit(instructions, links, (kind, key) => sets[kind].add(key));
  return { objects: [...sets.objects], types: [...sets.types], clears: [...sets.clears], schema: [...sets.schema] };
}

/** Up to this many instructions, a footprint's lists are kept free of repeats by a linear check. */
const SHORT_CHANGESET = 8;

function visit(instructions: readonly Instruction[], links: LinkResolver, add: (kind: keyof Footprint, key: string) => void): void {
  for (const ins of instructions) {
    if (ins.op === 'AddType' || ins.op === 'AddProperties') add('schema', ins.type);
    else if (ins.op === 'Clear') {
      add('clears', ins.type);
      add('types', ins.type);
    } else {
      add('objects', objectKey(ins.type, ins.id));
      add('types', ins.type);
      for (const ref of links.linksOf(ins)) {
        add('objects', objectKey(ref.type, ref.id));
        add('types', ref.type);
      }
    }
  }
}

/**
 * Footprints of a sequence of changesets (history entries, or a client's pending changesets),
 * indexed so that the positions whose footprint meets a given one are found without a scan.
 */
export class FootprintIndex {
  private readonly byObject = new Map<string, number[]>();
  private readonly byType = new Map<string, number[]>();
  private readonly byClear = new Map<string, number[]>();
  private readonly bySchema = new Map<string, number[]>();

  /** Adds the footprint of position `i`; positions must be added in ascending order. */
  add(i: number, f: Footprint): void {
    for (const o of f.objects) push(this.byObject, o, i);
    for (const t of f.types) push(this.byType, t, i);
    for (const t of f.clears) push(this.byClear, t, i);
    for (const t of f.schema) push(this.bySchema, t, i);
  }

  /** Ascending positions (greater than `after`) whose footprint meets `f`. */
  meeting(f: Footprint, after = -1): number[] {
    const lists: number[][] = [];
    const take = (map: Map<string, number[]>, key: string) => {
      const l = map.get(key);
      if (l && l[l.length - 1]! > after) lists.push(l);
    };
    for (const t of f.schema) take(this.bySchema, t);
    for (const t of f.clears) take(this.byType, t);
    for (const o of f.objects) take(this.byObject, o);
    for (const t of f.types) take(this.byClear, t);
    if (lists.length === 0) return [];
    // One list (a changeset on one object, the usual case): already ascending and without repeats.
    if (lists.length === 1) return lists[0]!.slice(firstAbove(lists[0]!, after));
    const out = new Set<number>();
    for (const l of lists) for (let k = firstAbove(l, after); k < l.length; k++) out.add(l[k]!);
    return [...out].sort((x, y) => x - y);
  }
}

function push(map: Map<string, number[]>, key: string, i: number): void {
  const l = map.get(key);
  if (!l) map.set(key, [i]);
  else if (l[l.length - 1] !== i) l.push(i);
}

/** Index of the first element of ascending `l` greater than `after`. */
function firstAbove(l: number[], after: number): number {
  let lo = 0;
  let hi = l.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (l[mid]! > after) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
