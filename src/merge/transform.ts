import { type Changeset, type Instruction, compareDiscriminants } from '../changeset';
import { TributaryError } from '../errors';
import { ConflictIndex } from './conflict-index';
import { LinkResolver, type SchemaLookup } from './links';
import { transformPair } from './pair-rules';

export type { SchemaLookup } from './links';

/**
 * Operational transformation of two concurrent changesets made against the same state.
 * Returns `[a′, b′]` such that apply(apply(S, a), b′) == apply(apply(S, b), a′) (TP1).
 * Conflicts are decided by the discriminants (timestamp, fileIdent) of `a` and `b` following
 * PROTOCOL.md §5 (the rules as implemented: docs/merge.md). Throws
 * TributaryError('INVALID_SCHEMA_CHANGE') for incompatible schema changes.
 *
 * `schema` tells which properties are links (any replica's current schema will do, see
 * {@link SchemaLookup}); without it only the schema instructions inside `a` and `b` are known, and
 * a link to a concurrently deleted object in a property declared elsewhere would be left dangling.
 *
 * The function is symmetric — transform(b, a) returns the swap of transform(a, b) — and pure: the
 * inputs are not modified.
 *
 * @example
 * const [a1, b1] = transform(a, b, state);
 * apply(stateAfterA, b1); // equals apply(stateAfterB, a1)
 */
export function transform(a: Changeset, b: Changeset, schema?: SchemaLookup): [Instruction[], Instruction[]] {
  return transformVisiting(a, b, schema, 'auto');
}

/**
 * {@link transform}, visiting the instruction pairs the conflict index names (`index`), every pair
 * (`all`), or whichever is cheaper for the sizes (`auto`, what `transform` does). The three give
 * the same result; the choice is exposed for the property test that checks so.
 * @internal
 */
export function transformVisiting(a: Changeset, b: Changeset, schema: SchemaLookup | undefined, visit: 'auto' | 'index' | 'all'): [Instruction[], Instruction[]] {
  if (a.instructions.length === 0 || b.instructions.length === 0) return [a.instructions, b.instructions];
  const order = compareDiscriminants(a, b);
  if (order === 0) {
    throw new TributaryError('INVALID_ARGUMENT', `cannot merge two changesets with the same origin (${a.timestamp}, ${a.fileIdent})`);
  }
  const aLater = order > 0;
  const links = new LinkResolver(schema, [a.instructions, b.instructions]);
  if (visit === 'all' || (visit === 'auto' && a.instructions.length * b.instructions.length <= DIRECT_PAIRS)) return direct(a.instructions, b.instructions, aLater, links);
  const index = new ConflictIndex(b.instructions, links);

  // The classic grid: each instruction of `a` is carried past every instruction of `b`, and each
  // `b` instruction is replaced by its transformation past the `a` instructions seen so far. Pairs
  // that cannot conflict transform to themselves, so only the index's candidates are visited.
  const bs: (Instruction | null)[] = [...b.instructions];
  const out: Instruction[] = [];
  for (const original of a.instructions) {
    let cur: Instruction | null = original;
    for (const j of index.candidates(original)) {
      const bj = bs[j];
      if (!bj) continue;
      const [a1, b1] = transformPair(cur, bj, aLater, links);
      bs[j] = b1;
      cur = a1;
      if (!cur) break;
    }
    if (cur) out.push(cur);
  }
  return [out, bs.filter((i): i is Instruction => i !== null)];
}

/**
 * Up to this many instruction pairs, {@link direct} visits them all rather than indexing `b`:
 * building the index (four Maps and a candidate list per instruction) cost more than the pairs
 * it spares. Most transformed pairs of a merge are two small changesets on the same object.
 */
const DIRECT_PAIRS = 16;

/**
 * The grid of {@link transform} over every pair, in the same order; pairs the index would skip
 * transform to themselves, so the result is the same. Returns the inputs themselves when no
 * instruction changed.
 */
function direct(aIns: readonly Instruction[], bIns: readonly Instruction[], aLater: boolean, links: LinkResolver): [Instruction[], Instruction[]] {
  let bs: (Instruction | null)[] | undefined; // copied on the first change
  let out: Instruction[] | undefined; // likewise
  for (let i = 0; i < aIns.length; i++) {
    const original = aIns[i]!;
    let cur: Instruction | null = original;
    for (let j = 0; j < bIns.length; j++) {
      const bj = bs ? bs[j] : bIns[j];
      if (!bj) continue;
      const [a1, b1] = transformPair(cur, bj, aLater, links);
      if (b1 !== bj) (bs ??= bIns.slice())[j] = b1;
      cur = a1;
      if (!cur) break;
    }
    if (cur !== original) out ??= aIns.slice(0, i);
    if (out && cur) out.push(cur);
  }
  return [out ?? (aIns as Instruction[]), bs ? bs.filter((x): x is Instruction => x !== null) : (bIns as Instruction[])];
}
