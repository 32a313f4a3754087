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
  if (a.instructions.length === 0 || b.instructions.length === 0) return [a.instructions, b.instructions];
  const order = compareDiscriminants(a, b);
  if (order === 0) {
    throw new TributaryError('INVALID_ARGUMENT', `cannot merge two changesets with the same origin (${a.timestamp}, ${a.fileIdent})`);
  }
  const aLater = order > 0;
  const links = new LinkResolver(schema, [a.instructions, b.instructions]);
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
