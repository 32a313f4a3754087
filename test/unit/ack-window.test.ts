import { AckWindow } from '../../src/patterns/sources/ack-window';
import { Prng, testSeed } from '../helpers/prng';

function delivered(n: number): AckWindow {
  const w = new AckWindow();
  for (let t = 1; t <= n; t++) w.delivered(t);
  return w;
}

describe('AckWindow', () => {
  test('acknowledges cumulatively only up to the first open delivery', () => {
    const w = delivered(5);
    expect(w.settle(2, 'acknowledge')).toBe(0);
    expect(w.settle(3, 'acknowledge')).toBe(0);
    expect(w.settle(1, 'acknowledge')).toBe(3);
    expect(w.outstanding).toBe(2);
    expect(w.settle(5, 'acknowledge')).toBe(0);
    expect(w.settle(4, 'acknowledge')).toBe(5);
    expect(w.outstanding).toBe(0);
  });

  test('never sends a cumulative ack for a tag the broker already settled', () => {
    const w = delivered(4);
    expect(w.settle(3, 'settled')).toBe(0);
    expect(w.settle(2, 'acknowledge')).toBe(0);
    // 1 settled at the broker, 2 to send, 3 settled: up to 2, not 3.
    expect(w.settle(1, 'settled')).toBe(2);
    expect(w.settle(4, 'settled')).toBe(0);
  });

  test('hands back acknowledgements stuck behind a gap, once', () => {
    const w = delivered(4);
    w.settle(2, 'acknowledge');
    w.settle(4, 'acknowledge');
    w.settle(3, 'settled');
    expect(w.takeUnsent().sort()).toEqual([2, 4]);
    expect(w.takeUnsent()).toEqual([]);
    expect(w.settle(1, 'acknowledge')).toBe(1);
  });

  test('random settlement orders: every acknowledgement is sent exactly once, never past an open delivery', () => {
    const seed = testSeed('ack-window');
    const rng = new Prng(seed);
    for (let round = 0; round < 200; round++) {
      const n = rng.int(1, 500);
      const w = delivered(n);
      const order = Array.from({ length: n }, (_, i) => i + 1);
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const how = new Map(order.map((t) => [t, rng.int(0, 9) === 0 ? ('settled' as const) : ('acknowledge' as const)]));
      const open = new Set(order);
      const brokerAcked = new Set<number>();
      let sentUpTo = 0;
      for (const t of order) {
        open.delete(t);
        const upTo = w.settle(t, how.get(t)!);
        if (upTo === 0) continue;
        expect(how.get(upTo)).toBe('acknowledge');
        expect(upTo).toBeGreaterThan(sentUpTo);
        for (let k = sentUpTo + 1; k <= upTo; k++) expect({ seed, tag: k, open: open.has(k) }).toEqual({ seed, tag: k, open: false });
        for (let k = sentUpTo + 1; k <= upTo; k++) if (how.get(k) === 'acknowledge') brokerAcked.add(k);
        sentUpTo = upTo;
      }
      expect(w.outstanding).toBe(0);
      expect(brokerAcked.size).toBe([...how.values()].filter((h) => h === 'acknowledge').length);
    }
  });
});
