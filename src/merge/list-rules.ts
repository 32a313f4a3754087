import type { ListErase, ListInsert, ListInstruction, ListMove, ListSet } from '../changeset/instructions';
import { TributaryError } from '../errors';

/**
 * Transformation of two concurrent instructions on the same list (same object and property), both
 * made against the same list of wire size `prior`. Returns `[a′, b′]` where a′ runs after b and b′
 * after a; `null` drops the instruction. `aLater` orders ties.
 *
 * Indices live in the wire index space (tombstones included), so a concurrent Delete elsewhere
 * never shifts them. Moves are reasoned about as "take the element out, put it in a gap of the
 * remaining list": two concurrent placements into the same gap of the list without both moved
 * or inserted elements are ordered by time (earlier first), which makes every pair below satisfy
 * TP1 (checked exhaustively for small lists in test/unit/merge-list-exhaustive.test.ts).
 */
export function transformListPair(a: ListInstruction, b: ListInstruction, aLater: boolean): [ListInstruction | null, ListInstruction | null] {
  if (a.op === 'ListClear' && b.op === 'ListClear') return [null, null];
  // The clear wins whatever the time: everything the other side did inside the list is gone.
  if (a.op === 'ListClear') return [withPrior(a, b.prior + sizeDelta(b)), null];
  if (b.op === 'ListClear') return [null, withPrior(b, a.prior + sizeDelta(a))];
  if (isNoopMove(a) || isNoopMove(b)) return [isNoopMove(a) ? null : a, isNoopMove(b) ? null : b];
  const [a1, b1] = core(a, b, aLater);
  return [a1 && settle(a1, a, b.prior + sizeDelta(b)), b1 && settle(b1, b, a.prior + sizeDelta(a))];
}

type Elementary = ListSet | ListInsert | ListErase | ListMove;
type Pair = [Elementary | null, Elementary | null];

const RANK = { ListSet: 0, ListInsert: 1, ListErase: 2, ListMove: 3 } as const;

function core(a: Elementary, b: Elementary, aLater: boolean): Pair {
  if (RANK[a.op] > RANK[b.op]) {
    const [b1, a1] = core(b, a, !aLater);
    return [a1, b1];
  }
  switch (a.op) {
    case 'ListSet':
      switch (b.op) {
        case 'ListSet':
          if (a.index !== b.index) return [a, b];
          return aLater ? [a, null] : [null, b];
        case 'ListInsert':
          return [a.index >= b.index ? at(a, a.index + 1) : a, b];
        case 'ListErase':
          if (a.index === b.index) return [null, b];
          return [a.index > b.index ? at(a, a.index - 1) : a, b];
        case 'ListMove':
          return [at(a, movedPosition(a.index, b.from, b.to)), b];
      }
      break;
    case 'ListInsert':
      switch (b.op) {
        case 'ListInsert':
          if (a.index < b.index || (a.index === b.index && !aLater)) return [a, at(b, b.index + 1)];
          return [at(a, a.index + 1), b];
        case 'ListErase':
          if (a.index <= b.index) return [a, at(b, b.index + 1)];
          return [at(a, a.index - 1), b];
        case 'ListMove':
          return insertVsMove(a, b, aLater);
      }
      break;
    case 'ListErase':
      switch (b.op) {
        case 'ListErase':
          if (a.index === b.index) return [null, null];
          return a.index < b.index ? [a, at(b, b.index - 1)] : [at(a, a.index - 1), b];
        case 'ListMove':
          return eraseVsMove(a, b);
      }
      break;
    case 'ListMove':
      return moveVsMove(a, b as ListMove, aLater);
  }
  throw new TributaryError('INTERNAL_ERROR', `unreachable list pair ${a.op}/${b.op}`);
}

/** Where the element at `p` ends after Move(from, to). */
export function movedPosition(p: number, from: number, to: number): number {
  if (p === from) return to;
  const q = p > from ? p - 1 : p;
  return q >= to ? q + 1 : q;
}

/**
 * Two elements placed into gaps `g1`, `g2` of a base list: their final positions. Equal gaps put
 * the first (the earlier one when `firstEarlier`) before the other.
 */
function place(g1: number, g2: number, firstEarlier: boolean): [number, number] {
  if (g1 < g2 || (g1 === g2 && firstEarlier)) return [g1, g2 + 1];
  return [g1 + 1, g2];
}

function insertVsMove(a: ListInsert, b: ListMove, aLater: boolean): Pair {
  // Base: the list without the moved element. The insert's gap there, and the move's target gap.
  const gx = a.index > b.from ? a.index - 1 : a.index;
  const [x, e] = place(gx, b.to, !aLater);
  const fromAfterInsert = b.from >= a.index ? b.from + 1 : b.from;
  const b1: ListMove | null = fromAfterInsert === e ? null : move(b, fromAfterInsert, e);
  return [at(a, x), b1];
}

function eraseVsMove(a: ListErase, b: ListMove): Pair {
  // The erase follows the element wherever the move took it; the move of an erased element is gone.
  if (a.index === b.from) return [at(a, b.to), null];
  const erasedInBase = a.index > b.from ? a.index - 1 : a.index;
  const to = b.to > erasedInBase ? b.to - 1 : b.to;
  const from = a.index < b.from ? b.from - 1 : b.from;
  return [at(a, movedPosition(a.index, b.from, b.to)), from === to ? null : move(b, from, to)];
}

function moveVsMove(a: ListMove, b: ListMove, aLater: boolean): Pair {
  if (a.from === b.from) {
    // Same element: the later move wins, starting from where the earlier one put it.
    if (!aLater) return [null, b.to === a.to ? null : move(b, a.to, b.to)];
    return [a.to === b.to ? null : move(a, b.to, a.to), null];
  }
  // Base: the list without either moved element; each target as a gap of the base.
  const aInB = a.from > b.from ? a.from - 1 : a.from; // a's element in the list without b's
  const bInA = b.from > a.from ? b.from - 1 : b.from;
  const ga = a.to > bInA ? a.to - 1 : a.to;
  const gb = b.to > aInB ? b.to - 1 : b.to;
  const [pa, pb] = place(ga, gb, !aLater);
  const aFrom = movedPosition(a.from, b.from, b.to);
  const bFrom = movedPosition(b.from, a.from, a.to);
  return [aFrom === pa ? null : move(a, aFrom, pa), bFrom === pb ? null : move(b, bFrom, pb)];
}

function isNoopMove(i: ListInstruction): boolean {
  return i.op === 'ListMove' && i.from === i.to;
}

/** How an instruction changes the list's wire size. */
export function sizeDelta(i: ListInstruction): number {
  switch (i.op) {
    case 'ListInsert':
      return 1;
    case 'ListErase':
      return -1;
    case 'ListClear':
      return -i.prior;
    default:
      return 0;
  }
}

function withPrior<T extends ListInstruction>(i: T, prior: number): T {
  if (i.prior === prior) return i;
  if (i.op === 'ListClear') return { op: 'ListClear', type: i.type, id: i.id, property: i.property, prior } as T;
  const c = i.op === 'ListMove' ? move(i, i.from, i.to) : at(i as ListSet | ListInsert | ListErase, (i as ListSet).index);
  c.prior = prior;
  return c as T;
}

// Copies are built as literals of one shape per kind: this is the innermost loop of list merges,
// and object spread is several times slower here.
function at<T extends ListSet | ListInsert | ListErase>(i: T, index: number): T {
  switch (i.op) {
    case 'ListErase':
      return { op: 'ListErase', type: i.type, id: i.id, property: i.property, prior: i.prior, index } as T;
    case 'ListSet':
    case 'ListInsert': {
      const c = { op: i.op, type: i.type, id: i.id, property: i.property, prior: i.prior, index, value: (i as ListSet | ListInsert).value } as ListSet | ListInsert;
      if ((i as ListSet | ListInsert).dead) c.dead = true;
      return c as T;
    }
  }
  throw new TributaryError('INTERNAL_ERROR', 'unreachable list rule');
}

function move(i: ListMove, from: number, to: number): ListMove {
  return { op: 'ListMove', type: i.type, id: i.id, property: i.property, prior: i.prior, from, to };
}

/** Sets the prior of a transformed instruction; `fresh` copies made by `core` are updated in place. */
function settle(i: Elementary, original: Elementary, prior: number): Elementary {
  if (i.prior === prior) return i;
  if (i === original) return withPrior(i, prior);
  i.prior = prior;
  return i;
}
