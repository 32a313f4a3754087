/**
 * The change set of a collection between two states, as realm-js reports it to listeners and the
 * global notifier: `deletions` and `oldModifications` (alias `modifications`) index the previous
 * state; `insertions` and `newModifications` index the new one. All arrays are ascending.
 */
export interface CollectionChangeSet {
  insertions: number[];
  deletions: number[];
  modifications: number[];
  oldModifications: number[];
  newModifications: number[];
}

export function emptyChangeSet(): CollectionChangeSet {
  return { insertions: [], deletions: [], modifications: [], oldModifications: [], newModifications: [] };
}

export function isEmptyChangeSet(c: CollectionChangeSet): boolean {
  return c.insertions.length === 0 && c.deletions.length === 0 && c.oldModifications.length === 0;
}

/** Beyond this many cells the exact LCS for collections with repeated keys is too costly. */
const MAX_LCS_CELLS = 4_000_000;

/**
 * Diffs two key sequences (a collection before and after a commit). Elements kept in place form
 * a longest common subsequence, so the change set is minimal: an element that moved (a sorted
 * collection after its sort key changed) is one deletion plus one insertion, and deleting one
 * element shifts the later ones without reporting them. A kept element whose key is in
 * `modified` is a modification.
 *
 * Keys are usually unique (objects of a Results); lists may repeat them, which is handled too.
 * Pure: no store, no schema, usable by the global notifier per type.
 *
 * @example
 * diff(['a', 'b', 'c'], ['a', 'c', 'd'], new Set(['c']))
 * // → { deletions: [1], insertions: [2], oldModifications: [2], newModifications: [1], … }
 */
export function diff(oldKeys: readonly string[], newKeys: readonly string[], modified: ReadonlySet<string> | ((key: string) => boolean)): CollectionChangeSet {
  const isModified = typeof modified === 'function' ? modified : (k: string) => modified.has(k);
  const pairs = matchKeys(oldKeys, newKeys);
  const keptOld = new Uint8Array(oldKeys.length);
  const keptNew = new Uint8Array(newKeys.length);
  const oldModifications: number[] = [];
  const newModifications: number[] = [];
  for (const [i, j] of pairs) {
    keptOld[i] = 1;
    keptNew[j] = 1;
    if (isModified(oldKeys[i])) {
      oldModifications.push(i);
      newModifications.push(j);
    }
  }
  const deletions: number[] = [];
  for (let i = 0; i < oldKeys.length; i++) if (!keptOld[i]) deletions.push(i);
  const insertions: number[] = [];
  for (let j = 0; j < newKeys.length; j++) if (!keptNew[j]) insertions.push(j);
  return { insertions, deletions, modifications: oldModifications, oldModifications, newModifications };
}

/** Index pairs (old, new) of a longest common subsequence, ascending in both. */
function matchKeys(a: readonly string[], b: readonly string[]): [number, number][] {
  // Common prefix and suffix first: most commits touch a few elements.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const out: [number, number][] = [];
  for (let i = 0; i < start; i++) out.push([i, i]);
  if (endA > start && endB > start) {
    const midA = a.slice(start, endA);
    const midB = b.slice(start, endB);
    const middle = isUnique(midA) && isUnique(midB) ? lisMatch(midA, midB) : midA.length * midB.length <= MAX_LCS_CELLS ? dpMatch(midA, midB) : lisMatch(numbered(midA), numbered(midB));
    for (const [i, j] of middle) out.push([i + start, j + start]);
  }
  for (let k = 0; k < a.length - endA; k++) out.push([endA + k, endB + k]);
  return out;
}

function isUnique(keys: readonly string[]): boolean {
  return new Set(keys).size === keys.length;
}

/** Makes repeated keys distinct by occurrence (`k`, `k\u0000 1`, …): a valid, not always minimal, match. */
function numbered(keys: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return keys.map((k) => {
    const n = seen.get(k) ?? 0;
    seen.set(k, n + 1);
    return n === 0 ? k : `${k}\u0000${n}`;
  });
}

/**
 * LCS of two sequences of unique keys: the longest increasing subsequence of the new positions
 * of the old keys (patience sorting, O(n log n)).
 */
function lisMatch(a: readonly string[], b: readonly string[]): [number, number][] {
  const position = new Map<string, number>();
  for (let j = 0; j < b.length; j++) position.set(b[j], j);
  const items: [number, number][] = [];
  for (let i = 0; i < a.length; i++) {
    const j = position.get(a[i]);
    if (j !== undefined) items.push([i, j]);
  }
  const tails: number[] = []; // index into items of the smallest tail of each length
  const previous = new Int32Array(items.length).fill(-1);
  for (let k = 0; k < items.length; k++) {
    const j = items[k][1];
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (items[tails[mid]][1] < j) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) previous[k] = tails[lo - 1];
    tails[lo] = k;
  }
  const out: [number, number][] = [];
  for (let k = tails.length ? tails[tails.length - 1] : -1; k >= 0; k = previous[k]) out.push(items[k]);
  return out.reverse();
}

/** Exact LCS by dynamic programming (for sequences with repeated keys). */
function dpMatch(a: readonly string[], b: readonly string[]): [number, number][] {
  const n = a.length;
  const m = b.length;
  const table = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[at(i, j)] = a[i] === b[j] ? table[at(i + 1, j + 1)] + 1 : Math.max(table[at(i + 1, j)], table[at(i, j + 1)]);
    }
  }
  const out: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push([i++, j++]);
    } else if (table[at(i + 1, j)] >= table[at(i, j + 1)]) i++;
    else j++;
  }
  return out;
}
