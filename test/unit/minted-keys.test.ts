import { randomBytes } from 'node:crypto';
import { mintObjectKey } from '../../src/model';
import { Prng, testSeed } from '../helpers/prng';

// Minted keys (types without a primary key) put the time first and never repeat or go backwards
// within a process, so a replica's key index takes them in order (issue 11).

test('a minted key is `_` and 24 hex digits, the first 12 the time in milliseconds', () => {
  const now = Date.UTC(2026, 11, 7, 12, 0, 0);
  const key = mintObjectKey(randomBytes, now + 10_000_000);
  expect(key).toMatch(/^_[0-9a-f]{24}$/);
  expect(parseInt(key.slice(1, 13), 16)).toBe(now + 10_000_000);
});

test('keys minted one after another sort one after another, whatever the clock does (generated)', () => {
  const seed = testSeed('minted keys');
  const rng = new Prng(seed);
  // Start past anything an earlier test minted in this process.
  let clock = Date.now() + 3_600_000;
  const keys: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    // Mostly the same millisecond or a little later; sometimes the clock steps back.
    const r = rng.int(0, 99);
    if (r < 60) clock += 0;
    else if (r < 95) clock += rng.int(1, 5);
    else clock -= rng.int(1, 5_000);
    keys.push(mintObjectKey(randomBytes, clock));
  }
  for (let i = 1; i < keys.length; i++) {
    if (!(keys[i - 1]! < keys[i]!)) throw new Error(`seed=${seed}: key ${i} (${keys[i]}) is not after key ${i - 1} (${keys[i - 1]})`);
  }
  expect(new Set(keys).size).toBe(keys.length);
});

test('the random part of the first key of each millisecond is random', () => {
  const at = Date.now() + 7_200_000;
  const a = mintObjectKey(randomBytes, at);
  const b = mintObjectKey(randomBytes, at + 1);
  // Same millisecond: the next key increments the random part by one.
  const c = mintObjectKey(randomBytes, at + 1);
  expect(parseInt(c.slice(13), 16)).toBe(parseInt(b.slice(13), 16) + 1);
  // A new millisecond draws anew: the random parts of a and b are independent (equal by chance once in 2^48).
  expect(a.slice(13)).not.toBe(b.slice(13));
});
