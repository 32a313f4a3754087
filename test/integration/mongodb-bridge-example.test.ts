import { runDemo } from '../../examples/mongodb-bridge/demo';

/** examples/mongodb-bridge runs end to end (against MONGO_URL when set, else the wire-level test server). */
test('the MongoDB bridge example runs both ways and prints what happened', async () => {
  const lines: string[] = [];
  const r = await runDemo((l) => lines.push(l));
  expect(r).toEqual({ captured: 1, applied: 2 });
  const text = lines.join('\n');
  expect(text).toMatch(/client \/catalog: 2 products; "Green tea" at 4\.50, tags \[tea, organic\]/);
  expect(text).toMatch(/client sees: stock 10, tags \[tea, organic, sale\]/);
  expect(text).toMatch(/mongodb: product price 4\.20 \(Decimal128\), stock 15; ann has 2 orders, the new one with _partition \/customers\/ann/);
}, 120_000);
