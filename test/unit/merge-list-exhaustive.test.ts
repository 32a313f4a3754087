import type { ListInstruction } from '../../src/changeset';
import { transformListPair } from '../../src/merge/list-rules';

function ops(n: number, tag: string): ListInstruction[] {
  const base = { type: 'T', id: 1, property: 'l', prior: n };
  const out: ListInstruction[] = [{ ...base, op: 'ListClear' }];
  for (let i = 0; i <= n; i++) out.push({ ...base, op: 'ListInsert', index: i, value: `${tag}${i}` });
  for (let i = 0; i < n; i++) {
    out.push({ ...base, op: 'ListSet', index: i, value: `${tag}s${i}` });
    out.push({ ...base, op: 'ListErase', index: i });
    for (let j = 0; j < n; j++) out.push({ ...base, op: 'ListMove', from: i, to: j });
  }
  return out;
}

function run(list: string[], op: ListInstruction | null): string[] {
  if (!op) return list;
  if (op.prior !== list.length) throw new Error(`prior ${op.prior} but size ${list.length} for ${JSON.stringify(op)}`);
  const l = [...list];
  const inRange = (i: number, max: number) => {
    if (i < 0 || i > max) throw new Error(`index ${i} out of range 0..${max} for ${JSON.stringify(op)}`);
  };
  switch (op.op) {
    case 'ListSet':
      inRange(op.index, l.length - 1);
      l[op.index] = String(op.value);
      break;
    case 'ListInsert':
      inRange(op.index, l.length);
      l.splice(op.index, 0, String(op.value));
      break;
    case 'ListErase':
      inRange(op.index, l.length - 1);
      l.splice(op.index, 1);
      break;
    case 'ListMove': {
      inRange(op.from, l.length - 1);
      inRange(op.to, l.length - 1);
      const [e] = l.splice(op.from, 1);
      l.splice(op.to, 0, e!);
      break;
    }
    case 'ListClear':
      l.length = 0;
  }
  return l;
}

describe('list transformation, every pair of single instructions on lists of up to 5 elements', () => {
  for (let n = 0; n <= 5; n++) {
    test(`size ${n}: TP1 and symmetry`, () => {
      const list = Array.from({ length: n }, (_, i) => `e${i}`);
      let pairs = 0;
      for (const a of ops(n, 'a')) {
        for (const b of ops(n, 'b')) {
          for (const aLater of [false, true]) {
            const [a1, b1] = transformListPair(a, b, aLater);
            const [b2, a2] = transformListPair(b, a, !aLater);
            expect([a2, b2]).toEqual([a1, b1]);
            const ab = run(run(list, a), b1);
            const ba = run(run(list, b), a1);
            if (JSON.stringify(ab) !== JSON.stringify(ba)) {
              throw new Error(`TP1 fails: a=${JSON.stringify(a)} b=${JSON.stringify(b)} aLater=${aLater}: ${ab} vs ${ba}`);
            }
            pairs++;
          }
        }
      }
      expect(pairs).toBeGreaterThan(0);
    });
  }

  test('the erase follows a concurrently moved element', () => {
    const base = { type: 'T', id: 1, property: 'l', prior: 4 };
    const [e1, m1] = transformListPair({ ...base, op: 'ListErase', index: 0 }, { ...base, op: 'ListMove', from: 0, to: 3 }, false);
    expect(e1).toEqual({ ...base, op: 'ListErase', index: 3 });
    expect(m1).toBeNull();
  });

  test('the later of two moves of the same element wins', () => {
    const base = { type: 'T', id: 1, property: 'l', prior: 4 };
    const [a1, b1] = transformListPair({ ...base, op: 'ListMove', from: 1, to: 3 }, { ...base, op: 'ListMove', from: 1, to: 0 }, true);
    expect(a1).toEqual({ ...base, op: 'ListMove', from: 0, to: 3 });
    expect(b1).toBeNull();
  });
});
