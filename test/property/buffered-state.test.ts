import { BufferedState, MemoryState, apply, canonicalState } from '../../src/changeset';
import { Prng, randomChangeset, randomState } from '../helpers/generators';
import { testSeed } from '../helpers/prng';

// Applying changesets through the write-back layer and flushing gives exactly the state that
// applying them to the store directly gives — deletes, re-creates, list edits, clears included —
// and the layer reads what it holds (a later instruction sees an earlier one's write).

test('BufferedState over a store equals the store itself after flush', () => {
  const rng = new Prng(testSeed('buffered state'));
  for (let trial = 0; trial < 300; trial++) {
    const base = randomState(rng);
    const direct = base.clone();
    const underneath = base.clone();
    const buffered = new BufferedState(underneath);
    const generator = base.clone();
    const rounds = rng.int(1, 6);
    for (let r = 0; r < rounds; r++) {
      const { instructions } = randomChangeset(rng, generator, { mutate: true, size: rng.int(1, 12), weights: { Delete: 6, Clear: 2, Create: 12 } });
      apply(direct, instructions);
      apply(buffered, instructions);
      // Reads through the layer already see everything applied so far.
      expect(canonicalState(materialise(buffered))).toEqual(canonicalState(direct));
      if (rng.bool(0.3)) buffered.flush();
    }
    buffered.flush();
    expect([trial, canonicalState(underneath)]).toEqual([trial, canonicalState(direct)]);
  }
});

/** A MemoryState holding what a store shows (schemas and every type's objects). */
function materialise(store: BufferedState): MemoryState {
  const out = new MemoryState();
  for (const s of store.schemas()) out.putSchema(s);
  for (const s of store.schemas()) for (const r of store.objects(s.name)) out.putObject(s.name, structuredClone(r));
  return out;
}
