import { commonFields, commonTableFields } from '../../connectors/kit/config';
import { ConfigError, integer, object, oneOf, record, required, string, validate } from '../../connectors/kit/config-schema';
import { errorClassifier } from '../../connectors/kit/errors';
import { decodeCompositeKey, encodeCompositeKey } from '../../connectors/kit/keys';
import { loadProgressLogger } from '../../connectors/kit/load-progress';
import { PlacementRouter, placementPattern, type PlacedTable } from '../../connectors/kit/placement';
import { collectTouched } from '../../connectors/kit/touched';
import { PositionWaiters } from '../../connectors/kit/waiters';
import { TributaryError } from '../../src/errors';
import { JsonLogger } from '../../src/shared/logger';

describe('config schema', () => {
  const schema = object({ ...commonFields, database: required(string(), 'a URL'), tables: record(object({ ...commonTableFields }), { minKeys: 1, expected: 'map at least one table' }) });
  const good = { name: 'ok', serverUrl: 'realm://h:1', localPath: '/tmp/x', database: 'db://x', tables: { t: {} } };

  test('defaults are resolved', () => {
    const v = validate(schema, good, 'test config');
    expect(v).toMatchObject({ conflict: 'database-wins', applyBatch: 100, initialLoad: 'from-database', batchSize: 2000, schemaChanges: { addProperties: true, addColumns: false }, compositeKeyProperty: 'key' });
  });

  test('every problem at once, with a code and the path of its key; unknown keys named with the known ones', () => {
    let e: ConfigError | null = null;
    try {
      validate(schema, { ...good, name: 7, serverUrl: 'ftp://x', batchSize: -1, initialLoad: 'all', extra: true, schemaChanges: { addColumn: true }, tables: { t: { realm: { follow: 3, also: 1 }, columns: { a: 5 }, primaryKey: [] } } }, 'test config');
    } catch (x) {
      e = x as ConfigError;
    }
    expect(e).toBeInstanceOf(ConfigError);
    expect(e).toBeInstanceOf(TributaryError);
    expect(e!.code).toBe('CONFIG_INVALID');
    expect(e!.issues.map((i) => `${i.path} ${i.code}`).sort()).toEqual(
      [
        'name CONFIG_TYPE',
        'serverUrl CONFIG_VALUE',
        'batchSize CONFIG_VALUE',
        'initialLoad CONFIG_VALUE',
        'extra CONFIG_UNKNOWN_KEY',
        'schemaChanges.addColumn CONFIG_UNKNOWN_KEY',
        'tables.t.realm.follow CONFIG_TYPE',
        'tables.t.realm.also CONFIG_UNKNOWN_KEY',
        'tables.t.columns.a CONFIG_TYPE',
        'tables.t.primaryKey CONFIG_VALUE',
      ].sort(),
    );
    expect(e!.message).toMatch(/^test config: 10 problems:\n {2}name: expected a lowercase identifier/);
    expect(e!.issues.find((i) => i.path === 'extra')!.message).toBe(`unknown option; expected ${[...Object.keys(commonFields), 'database', 'tables'].join(', ')}`);
  });

  test('missing required keys are CONFIG_MISSING; one problem reads as one line', () => {
    const e = (() => {
      try {
        validate(schema, { tables: {} }, 'test config');
      } catch (x) {
        return x as ConfigError;
      }
    })()!;
    expect(e.issues.filter((i) => i.code === 'CONFIG_MISSING').map((i) => i.path)).toEqual(['name', 'serverUrl', 'localPath', 'database']);
    expect(e.issues.find((i) => i.path === 'tables')).toMatchObject({ code: 'CONFIG_VALUE', message: 'expected map at least one table' });
    expect(() => validate(object({ n: integer() }), { n: 0 }, 'x')).toThrow(/^x: n: expected a positive integer, got 0$/);
    expect(() => validate(object({ c: oneOf(['a', 'b'] as const) }), { c: 'z' }, 'x')).toThrow("x: c: expected 'a' or 'b', got \"z\"");
    expect(() => validate(object({}), 'text', 'x')).toThrow('x: (root): expected an object, got "text"');
  });
});

describe('error classification hook', () => {
  const codes = errorClassifier({
    codeOf: (e) => (typeof (e as { number?: unknown })?.number === 'number' ? String((e as { number: number }).number) : null),
    transient: (code) => code === '1205',
    applyKind: (code) => (code === '2627' ? 'refused' : code === '229' ? 'configuration' : null),
    lostConnection: (e) => (e as Error)?.name === 'ConnectionLost',
  });
  const driver = (n: number) => Object.assign(new Error(`error ${n}`), { number: n });

  test('by driver code, Node network code, coded wrapper, cause, AggregateError; never by message', () => {
    expect(codes.classify(driver(1205))).toBe('transient');
    expect(codes.classify(driver(2627))).toBe('permanent');
    expect(codes.classify(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe('transient');
    expect(codes.classify(new TributaryError('CONNECTOR_SOURCE_UNAVAILABLE', 'x'))).toBe('transient');
    expect(codes.classify(new Error('wrapped', { cause: driver(1205) }))).toBe('transient');
    expect(codes.classify(new AggregateError([new Error('a'), driver(1205)]))).toBe('transient');
    expect(codes.classify(Object.assign(new Error('deadlock victim'), { name: 'ConnectionLost' }))).toBe('transient');
    expect(codes.classify(new Error('deadlock victim, connection lost'))).toBe('permanent');
  });

  test('apply failures: transient, race, refused, configuration, failed; the driver code kept through wrappers', () => {
    expect(codes.classifyApply(driver(1205))).toBe('transient');
    expect(codes.classifyApply(driver(2627))).toBe('refused');
    expect(codes.classifyApply(new TributaryError('CONNECTOR_SOURCE_FAILED', 'x', { cause: driver(229) }))).toBe('configuration');
    expect(codes.classifyApply(driver(50000))).toBe('failed');
    expect(codes.classifyApply(new TributaryError('OBJECT_INVALIDATED', 'x'))).toBe('race');
    expect(codes.classifyApply(new TypeError('bug'))).toBe('failed');
    expect(codes.driverCode(new TributaryError('CONNECTOR_APPLY_REFUSED', 'x', { cause: driver(2627) }))).toBe('2627');
    expect(codes.fromDriverError(driver(1205), 'polling')).toMatchObject({ code: 'CONNECTOR_SOURCE_UNAVAILABLE', message: 'polling: error 1205' });
  });
});

describe('placement', () => {
  type T = PlacedTable & { keyProperty: string };
  const tables = new Map<string, T>([
    ['shop', { table: 'shop', type: 'Shop', keyProperty: 'id', placement: { kind: 'template', template: '/s/{region}/{id}', columns: ['region', 'id'] } }],
    ['item', { table: 'item', type: 'Item', keyProperty: 'id', placement: { kind: 'follow', column: 'shop_id', targetTable: 'shop' } }],
    ['note', { table: 'note', type: 'Note', keyProperty: 'id', placement: { kind: 'function', fn: (row) => `/n/${String(row.who)}` } }],
    ['conf', { table: 'conf', type: 'Conf', keyProperty: 'id', placement: { kind: 'fixed', path: '/c' } }],
  ]);
  type Row = Record<string, unknown>;
  const router = new PlacementRouter<T, Row>(tables, {
    templateValue: (_t, row, c) => (row[c] === null || row[c] === undefined ? null : String(row[c])),
    followedKey: (_t, row, c) => (row[c] === null || row[c] === undefined ? null : (row[c] as number)),
    plainRow: (_t, row) => row,
  });

  test('fixed, template (escaped), followed reference, function', () => {
    const shop = tables.get('shop')!;
    expect(router.pathFor(shop, { id: 7, region: 'north/east' })).toBe('/s/north%2Feast/7');
    expect(router.pathFor(shop, { id: 7, region: null })).toBeNull();
    router.remember(shop, 7, '/s/n/7');
    expect(router.pathFor(tables.get('item')!, { shop_id: 7 })).toBe('/s/n/7');
    expect(router.pathFor(tables.get('item')!, { shop_id: 8 })).toBeNull();
    expect(router.pathFor(tables.get('note')!, { who: 'ann' })).toBe('/n/ann');
    expect(router.pathFor(tables.get('conf')!, {})).toBe('/c');
    expect(placementPattern(tables.get('item')!.placement, (t) => tables.get(t)!.placement)!.test('/s/x/9')).toBe(true);
    expect(placementPattern(tables.get('note')!.placement, (t) => tables.get(t)!.placement)).toBeNull();
  });

  test('a key found in several realms at start keeps every path until it is remembered in one', () => {
    const item = tables.get('item')!;
    router.found(item, 1, '/s/a/1');
    router.found(item, 1, '/s/b/2');
    expect(router.pathsOfKey(item, 1)).toEqual(['/s/a/1', '/s/b/2']);
    expect(router.pathsOf(item).sort()).toEqual(['/s/a/1', '/s/b/2']);
    router.remember(item, 1, '/s/b/2');
    expect(router.pathsOfKey(item, 1)).toEqual(['/s/b/2']);
    router.forget(item, 1);
    expect(router.pathsOfKey(item, 1)).toEqual([]);
  });
});

test('composite keys round-trip with the separator and escape inside parts', () => {
  for (const parts of [['a', 'b'], ['a|b', 'c\\d', ''], ['|', '\\', '\\|']]) expect(decodeCompositeKey(encodeCompositeKey(parts))).toEqual(parts);
});

test('what a batch touched: properties, summed increments, assignments, clears, schema; unmapped types and identity changes noted', () => {
  const t = { type: 'Item' };
  const notes: string[] = [];
  const c = collectTouched({ tableOfType: (type) => (type === 'Item' ? t : undefined), keyFromIdentity: (_t, id) => Number(id) }, '/p', [
    [
      { type: 'SET', object_type: 'Item', identity: 1, values: { a: 1 } } as never,
      { type: 'ADD_INTEGER', object_type: 'Item', identity: 1, property: 'n', value: 2 } as never,
      { type: 'ADD_INTEGER', object_type: 'Item', identity: 1, property: 'n', value: 3 } as never,
      { type: 'INSERT', object_type: 'Item', identity: 2, values: {} } as never,
      { type: 'SET', object_type: 'Other', identity: 1, values: {} } as never,
      { type: 'CHANGE_IDENTITY', object_type: 'Item', identity: 1, new_identity: 5 } as never,
      { type: 'CLEAR', object_type: 'Item' } as never,
      { type: 'SET', object_type: 'TributaryConnectorState', identity: 'x', values: {} } as never,
    ],
  ], (id) => notes.push(id));
  const one = c.objects.get('Item\u0000number:1')!;
  expect({ props: [...(one.props as Set<string>)], deltas: Object.fromEntries(one.deltas!), assigned: [...one.assigned!] }).toEqual({ props: ['a', 'n'], deltas: { n: 5 }, assigned: ['a'] });
  expect(c.objects.get('Item\u0000number:2')!.props).toBe('all');
  expect([...c.clears]).toEqual([t]);
  expect(notes).toEqual(['type:Other', 'identity:Item']);
});

test('position waiters resolve at or after their position, time out, and fail together', async () => {
  const w = new PositionWaiters<number>((a, b) => a - b);
  const order: string[] = [];
  const a = w.wait(5, 10_000, () => new Error('t')).then(() => order.push('a'));
  const b = w.wait(9, 10_000, () => new Error('t')).then(() => order.push('b'));
  w.reached(6);
  await a;
  expect(order).toEqual(['a']);
  const failed = w.wait(20, 10_000, () => new Error('t'));
  w.rejectAll(new Error('stopping'));
  await expect(b).rejects.toThrow('stopping');
  await expect(failed).rejects.toThrow('stopping');
  await expect(w.wait(1, 5, () => new Error('late'))).rejects.toThrow('late');
});

test('load progress lines: throttled, the finished table always, with rate and percentage', () => {
  const lines: Record<string, unknown>[] = [];
  let now = 0;
  const log = new JsonLogger('info', {}, (line) => lines.push(JSON.parse(line)));
  const on = loadProgressLogger(log, 1000, () => now);
  on({ table: 't', rows: 0, estimate: 100, done: false });
  now = 500;
  on({ table: 't', rows: 50, estimate: 100, done: false });
  now = 2000;
  on({ table: 't', rows: 80, estimate: 100, done: false });
  on({ table: 't', rows: 100, estimate: 100, done: true });
  expect(lines.map((l) => [l.msg, l.rows, l.percent, l.done])).toEqual([
    ['initial load', 0, 0, false],
    ['initial load', 80, 80, false],
    ['initial load', 100, 100, true],
  ]);
  expect(lines[1]!.rowsPerSecond).toBe(40);
});
