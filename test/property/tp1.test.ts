import { Changeset, Instruction, MemoryState, apply, canonicalState, compareDiscriminants, isListInstruction } from '../../src/changeset';
import { TributaryError } from '../../src/errors';
import { transform } from '../../src/merge';
import { transformVisiting } from '../../src/merge/transform';
import { LinkResolver, sameKey } from '../../src/merge/links';
import { Prng, describeChangeset, describeState, randomChangeset, randomFocus, randomState, seedFrom } from '../helpers/generators';

const seed = seedFrom('TP1_SEED');
const CASES = Number(process.env.TP1_CASES ?? 12_000);
const MAX_SIZE = Number(process.env.TP1_MAX_SIZE ?? 6);
const PAIRS_PER_STATE = 3;
const LIST_HEAVY = { ListMove: 25, ListErase: 12, ListSet: 10, ListInsert: 15, Set: 4, Create: 3, AddInteger: 3 };

/** Rows of the PROTOCOL.md §5 table (and the cross-object interactions) that must be exercised. */
const REQUIRED = [
  'Set×Set',
  'Create×Set',
  'Create×Create',
  'default×real write',
  'AddInteger×AddInteger',
  'AddInteger×Set (set earlier)',
  'AddInteger×Set (set later)',
  'Delete×Create',
  'Delete×Set',
  'Delete×AddInteger',
  'Delete×list op',
  'Delete×Delete',
  'Delete×link (single)',
  'Delete×link (list element)',
  'Clear×op on its objects',
  'Clear×link to its objects',
  'Clear×Clear',
  'ListInsert×ListInsert',
  'ListInsert×ListInsert same index',
  'ListErase×ListInsert',
  'ListErase×ListErase',
  'ListErase×ListErase same index',
  'ListErase×ListSet same index',
  'ListSet×ListSet',
  'ListMove×ListMove',
  'ListMove×ListMove same source',
  'ListErase×ListMove same element',
  'ListInsert×ListMove',
  'ListMove×ListSet',
  'ListClear×list op',
  'ListClear×ListClear',
  'schema×schema same type',
  'schema conflict (rejected)',
];

function classify(a: Instruction, b: Instruction, aLater: boolean, links: LinkResolver, tags: Set<string>): void {
  const pair = (x: string, y: string) => (x < y ? `${x}×${y}` : `${y}×${x}`);
  const schemaOp = (i: Instruction) => i.op === 'AddType' || i.op === 'AddProperties';
  if (schemaOp(a) || schemaOp(b)) {
    if (schemaOp(a) && schemaOp(b) && a.type === b.type) tags.add('schema×schema same type');
    return;
  }
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    if (x.op === 'Clear') {
      if (y.op === 'Clear' && y.type === x.type) tags.add('Clear×Clear');
      else if (y.op !== 'Clear' && y.type === x.type) tags.add('Clear×op on its objects');
      else if (links.linksOf(y).some((r) => r.type === x.type)) tags.add('Clear×link to its objects');
      return;
    }
  }
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    if (x.op !== 'Delete' || y.op === 'Clear') continue;
    if (y.type === x.type && sameKey(y.id, x.id)) {
      tags.add(y.op === 'Delete' ? 'Delete×Delete' : isListInstruction(y) ? 'Delete×list op' : `Delete×${y.op}`);
      return;
    }
    if (links.linksOf(y).some((r) => r.type === x.type && sameKey(r.id, x.id))) {
      tags.add(isListInstruction(y) ? 'Delete×link (list element)' : 'Delete×link (single)');
      return;
    }
  }
  if (a.op === 'Clear' || b.op === 'Clear' || a.op === 'Delete' || b.op === 'Delete') return;
  if (a.type !== b.type || !sameKey(a.id, b.id)) return;
  if (isListInstruction(a) && isListInstruction(b)) {
    if (a.property !== b.property) return;
    if (a.op === 'ListClear' && b.op === 'ListClear') return void tags.add('ListClear×ListClear');
    if (a.op === 'ListClear' || b.op === 'ListClear') return void tags.add('ListClear×list op');
    tags.add(pair(a.op, b.op));
    const idx = (i: Instruction) => ('index' in i ? i.index : i.op === 'ListMove' ? i.from : -1);
    if (a.op === b.op && a.op !== 'ListMove' && idx(a) === idx(b)) tags.add(`${pair(a.op, b.op)} same index`);
    if (a.op === 'ListMove' && b.op === 'ListMove' && a.from === b.from) tags.add('ListMove×ListMove same source');
    if ((a.op === 'ListErase' && b.op === 'ListMove') || (a.op === 'ListMove' && b.op === 'ListErase')) {
      if (idx(a) === idx(b)) tags.add('ListErase×ListMove same element');
    }
    if ((a.op === 'ListErase' && b.op === 'ListSet') || (a.op === 'ListSet' && b.op === 'ListErase')) {
      if (idx(a) === idx(b)) tags.add('ListErase×ListSet same index');
    }
    return;
  }
  const writes = (i: Instruction) => i.op === 'Create' || i.op === 'Set';
  if (a.op === 'AddInteger' && b.op === 'AddInteger') {
    if (a.property === b.property) tags.add('AddInteger×AddInteger');
    return;
  }
  for (const [x, y, xLater] of [
    [a, b, aLater],
    [b, a, !aLater],
  ] as const) {
    if (x.op === 'AddInteger' && (y.op === 'Create' || y.op === 'Set') && x.property in y.values) {
      tags.add(xLater || y.defaults?.includes(x.property) ? 'AddInteger×Set (set earlier)' : 'AddInteger×Set (set later)');
      return;
    }
  }
  if ((a.op === 'Create' || a.op === 'Set') && (b.op === 'Create' || b.op === 'Set')) {
    const shared = Object.keys(a.values).filter((k) => k in b.values);
    if (a.op === 'Create' && b.op === 'Create') tags.add('Create×Create');
    if (shared.length === 0) return;
    if (writes(a) && writes(b) && a.op !== b.op) tags.add('Create×Set');
    if (a.op === 'Set' && b.op === 'Set') tags.add('Set×Set');
    if (shared.some((k) => (a.defaults?.includes(k) ?? false) !== (b.defaults?.includes(k) ?? false))) tags.add('default×real write');
  }
}

function canonical(s: MemoryState): string {
  return JSON.stringify(canonicalState(s));
}

test(`TP1 holds for ${CASES} generated (state, A, B) cases covering every conflict row (seed ${seed})`, () => {
  // eslint-disable-next-line no-console
  console.log(`tp1.test: seed=${seed} (replay with TP1_SEED=${seed})`);
  const rng = new Prng(seed);
  const coverage = new Map<string, number>();
  let transformed = 0;
  let state: MemoryState | undefined;
  // Rare rows (Clear×Clear) can fall short of the minimum in CASES cases for some seeds: the run
  // then goes on, from the same generator, until every row has it (at most 4 × CASES cases).
  const short = () => REQUIRED.some((t) => (coverage.get(t) ?? 0) < 10);
  for (let c = 0; c < CASES || (c < 4 * CASES && short()); c++) {
    if (c % PAIRS_PER_STATE === 0) state = randomState(rng, { rounds: rng.int(0, 2) });
    const S = state!;
    const focus = randomFocus(rng, S);
    const incompatibleSchema = rng.bool(0.03);
    const mode = rng.next();
    const weights = incompatibleSchema ? { AddProperties: 40 } : mode < 0.3 ? LIST_HEAVY : undefined;
    const ga = randomChangeset(rng, S, { focus, incompatibleSchema, weights, size: rng.int(1, MAX_SIZE) });
    const gb = randomChangeset(rng, S, { focus, incompatibleSchema, weights, size: rng.int(1, MAX_SIZE) });
    const identA = rng.int(1, 2);
    const A: Changeset = { instructions: ga.instructions, timestamp: rng.int(1, 3), fileIdent: identA };
    const B: Changeset = { instructions: gb.instructions, timestamp: rng.int(1, 3), fileIdent: 3 - identA };
    const aLater = compareDiscriminants(A, B) > 0;
    const failure = (what: string) =>
      `${what}\nseed=${seed} case=${c} (replay with TP1_SEED=${seed})\nstate:\n${describeState(S)}\nA (ts ${A.timestamp}, ident ${A.fileIdent}):\n${describeChangeset(A.instructions)}\nB (ts ${B.timestamp}, ident ${B.fileIdent}):\n${describeChangeset(B.instructions)}`;

    const links = new LinkResolver(S, [A.instructions, B.instructions]);
    const tags = new Set<string>();
    for (const a of A.instructions) for (const b of B.instructions) classify(a, b, aLater, links, tags);

    let a1: Instruction[];
    let b1: Instruction[];
    try {
      [a1, b1] = transform(A, B, S);
    } catch (e) {
      if (e instanceof TributaryError && e.code === 'INVALID_SCHEMA_CHANGE') {
        if (!incompatibleSchema) throw new Error(failure(`unexpected schema conflict: ${e.message}`));
        coverage.set('schema conflict (rejected)', (coverage.get('schema conflict (rejected)') ?? 0) + 1);
        continue;
      }
      throw new Error(failure(`transform threw: ${(e as Error).stack}`));
    }
    for (const t of tags) coverage.set(t, (coverage.get(t) ?? 0) + 1);

    // Visiting only the indexed pairs and visiting every pair must agree (transform picks one by size).
    for (const visit of ['index', 'all'] as const) {
      const other = JSON.stringify(transformVisiting(A, B, S, visit));
      if (other !== JSON.stringify([a1, b1])) throw new Error(failure(`visiting ${visit} pairs gives ${other}, transform ${JSON.stringify([a1, b1])}`));
    }
    const [b2, a2] = transform(B, A, S);
    if (JSON.stringify([a1, b1]) !== JSON.stringify([a2, b2])) {
      throw new Error(failure(`transform is not symmetric:\nT(A,B) = ${JSON.stringify([a1, b1])}\nT(B,A) = ${JSON.stringify([a2, b2])}`));
    }

    const ab = ga.after;
    const ba = gb.after;
    try {
      apply(ab, b1);
    } catch (e) {
      throw new Error(failure(`B′ does not apply after A: ${(e as Error).message}\nB′:\n${describeChangeset(b1)}\nA′:\n${describeChangeset(a1)}`));
    }
    try {
      apply(ba, a1);
    } catch (e) {
      throw new Error(failure(`A′ does not apply after B: ${(e as Error).message}\nA′:\n${describeChangeset(a1)}\nB′:\n${describeChangeset(b1)}`));
    }
    const left = canonical(ab);
    const right = canonical(ba);
    if (left !== right) {
      throw new Error(
        failure(`TP1 fails\nA′:\n${describeChangeset(a1)}\nB′:\n${describeChangeset(b1)}\nS·A·B′:\n${describeState(ab)}\nS·B·A′:\n${describeState(ba)}`),
      );
    }
    transformed++;
  }
  const missing = REQUIRED.filter((t) => (coverage.get(t) ?? 0) < 10);
  if (missing.length > 0 || process.env.TP1_VERBOSE) {
    // eslint-disable-next-line no-console
    console.log([...coverage.entries()].sort().map(([k, v]) => `${k}: ${v}`).join('\n'));
  }
  expect(missing).toEqual([]);
  expect(transformed).toBeGreaterThan(CASES * 0.9);
});
