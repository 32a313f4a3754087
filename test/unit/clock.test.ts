import { HLC_COUNTER_BITS, HybridLogicalClock, MAX_OBSERVED_SKEW_MS, hlcPhysicalTime } from '../../src/model/clock';
import { Prng, testSeed } from '../helpers/prng';

// A replica's clock cannot be dragged into the far future by what it downloads: timestamps beyond
// MAX_OBSERVED_SKEW_MS ahead of its own time (or not safe integers) are ignored, so its next
// timestamps stay encodable and ordered. (An observed 2^53 − 1 made every later write fail.)

test('observe follows plausible timestamps and ignores impossible ones; tick stays increasing and safe', () => {
  const rng = new Prng(testSeed('clock'));
  let now = 1_700_000_000_000;
  const clock = new HybridLogicalClock(() => now);
  let last = clock.tick();
  for (let i = 0; i < 5000; i++) {
    now += rng.int(0, 5);
    const kind = rng.int(0, 3);
    const ts =
      kind === 0
        ? (now + rng.int(-60_000, 60_000)) * HLC_COUNTER_BITS + rng.int(0, 1023)
        : kind === 1
          ? (now + MAX_OBSERVED_SKEW_MS + rng.int(1, 10 ** 9)) * HLC_COUNTER_BITS
          : kind === 2
            ? rng.pick([2 ** 53 - 1, 2 ** 53, Number.NaN, -5, 1.5, Infinity])
            : 0;
    const accepted = clock.observe(ts);
    expect(accepted).toBe(kind === 0 || kind === 3);
    const t = clock.tick();
    expect(Number.isSafeInteger(t)).toBe(true);
    expect(t).toBeGreaterThan(last);
    expect(hlcPhysicalTime(t)).toBeLessThanOrEqual(now + MAX_OBSERVED_SKEW_MS);
    last = t;
  }
});
