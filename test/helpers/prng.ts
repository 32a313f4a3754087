/**
 * A small seeded PRNG (mulberry32) for reproducible generated tests. The seed comes from
 * `TRIBUTARY_SEED` when set, so a failure printed as "seed=…" can be replayed exactly.
 */
export class Prng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max] inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }
}

/** The seed for this run: `TRIBUTARY_SEED` or a fresh one. Logged so failures can be replayed. */
export function testSeed(label: string): number {
  const fromEnv = process.env.TRIBUTARY_SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) >>> 0 : (Date.now() ^ (Math.random() * 0x100000000)) >>> 0;
  // eslint-disable-next-line no-console
  console.log(`${label}: seed=${seed} (replay with TRIBUTARY_SEED=${seed})`);
  return seed;
}
