import type { Changeset, Instruction } from '../changeset';

/**
 * Operational transformation of two concurrent changesets made against the same state.
 * Returns `[a′, b′]` such that apply(apply(S, a), b′) == apply(apply(S, b), a′) (TP1).
 * Conflicts are decided by the discriminants (timestamp, fileIdent) of `a` and `b` following
 * PROTOCOL.md §5. Throws TributaryError('INVALID_SCHEMA_CHANGE') for incompatible schema changes.
 */
export function transform(a: Changeset, b: Changeset): [Instruction[], Instruction[]] {
  void a;
  void b;
  throw new Error('transform: not implemented yet');
}
