import type { AdapterInstruction } from '../../src/adapter/instructions';
import { decodeLogged, encodeLogged } from '../../src/adapter/adapter-log';

/**
 * The Adapter's log stores instructions as JSON with Dates and ArrayBuffers tagged; without either
 * it is plain JSON (no replacer or reviver). Both ways must read back exactly what was written,
 * whatever the strings contain.
 */
const bytes = (...b: number[]) => new Uint8Array(b).buffer;

test('instructions read back exactly, with and without Dates and binary values, whatever the strings hold', () => {
  const tricky = ['$date', '"$date"', '{"$date":1}', '"$data"', 'caf\u00e9 \u{1F600}', '\\"$data\\"'];
  const plain: AdapterInstruction[] = [
    { type: 'INSERT', object_type: 'Item', identity: 'a', values: { id: 'a', n: 1.5, ok: true, none: null } },
    ...tricky.map((t, i): AdapterInstruction => ({ type: 'SET', object_type: 'Item', identity: `k${i}`, values: { label: t } })),
    { type: 'LIST_INSERT', object_type: 'Item', identity: 'a', property: 'tags', list_index: 0, value: '$data' },
  ];
  const text = encodeLogged(plain);
  expect(text).toBe(JSON.stringify(plain)); // plain JSON when nothing is tagged
  expect(decodeLogged(text)).toEqual(plain);

  const tagged: AdapterInstruction[] = [
    ...plain,
    { type: 'SET', object_type: 'Item', identity: 'a', values: { at: new Date(1_700_000_000_123), blob: bytes(0, 1, 254, 255), label: '$date' } },
    { type: 'LIST_SET', object_type: 'Item', identity: 'a', property: 'times', list_index: 2, value: new Date(0) },
  ];
  const back = decodeLogged(encodeLogged(tagged));
  expect(back).toEqual(tagged);
  const set = back[back.length - 2] as Extract<AdapterInstruction, { type: 'SET' }>;
  expect(set.values.at).toBeInstanceOf(Date);
  expect(set.values.blob).toBeInstanceOf(ArrayBuffer);
  expect([...new Uint8Array(set.values.blob as ArrayBuffer)]).toEqual([0, 1, 254, 255]);
});
