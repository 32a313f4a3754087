/**
 * Plain-JS helpers for the hand-written oracles. Deliberately written differently from the engine
 * (code point arrays, a dynamic-programming LIKE matcher) so they check it rather than mirror it.
 */

export const lc = (s: string): string => s.toLowerCase();
export const strip = (s: string): string => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
/** [d]: diacritics removed, compared in composed form. */
export const dia = (s: string): string => strip(s).normalize('NFC');
/** [cd] */
export const cd = (s: string): string => lc(strip(s));

/** Code point order (UTF-8 byte order), as Realm compares strings. */
export function cp(a: string, b: string): number {
  const A = Array.from(a, (c) => c.codePointAt(0)!);
  const B = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(A.length, B.length); i++) if (A[i] !== B[i]) return A[i]! - B[i]!;
  return A.length - B.length;
}

/** LIKE: '*' any run, '?' one code point, whole-string match (DP over code points). */
export function like(s: string, p: string): boolean {
  const S = Array.from(s);
  const P = Array.from(p);
  let row = new Array<boolean>(S.length + 1).fill(false);
  row[0] = true;
  for (const pc of P) {
    const next = new Array<boolean>(S.length + 1).fill(false);
    if (pc === '*') {
      let seen = false;
      for (let j = 0; j <= S.length; j++) {
        seen = seen || row[j]!;
        next[j] = seen;
      }
    } else {
      for (let j = 1; j <= S.length; j++) next[j] = row[j - 1]! && (pc === '?' || S[j - 1] === pc);
    }
    row = next;
  }
  return row[S.length]!;
}

export const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

export function bytesEqual(a: Uint8Array | null, b: number[]): boolean {
  return a !== null && a.length === b.length && a.every((x, i) => x === b[i]);
}
export function bytesStart(a: Uint8Array | null, b: number[]): boolean {
  return a !== null && a.length >= b.length && b.every((x, i) => a[i] === x);
}

export const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
export const avg = (xs: number[]): number | null => (xs.length === 0 ? null : sum(xs) / xs.length);
export const min = (xs: number[]): number | null => (xs.length === 0 ? null : Math.min(...xs));
export const max = (xs: number[]): number | null => (xs.length === 0 ? null : Math.max(...xs));
export const nonNull = <T>(xs: Array<T | null>): T[] => xs.filter((x): x is T => x !== null);

/** Sort comparator for nullable values: null first, then ascending. */
export function nullsFirst<T>(cmp: (a: T, b: T) => number): (a: T | null, b: T | null) => number {
  return (a, b) => (a === null ? (b === null ? 0 : -1) : b === null ? 1 : cmp(a, b));
}
export const num = (a: number, b: number): number => a - b;
