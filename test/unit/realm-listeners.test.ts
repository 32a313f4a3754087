import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Realm from '../../src/index';
import { diff } from '../../src/realm';

const Item = { name: 'Item', primaryKey: 'id', properties: { id: 'int', v: 'int', tags: 'string[]', next: 'Item' } };

let dir: string;
const open: Realm[] = [];
function makeRealm(): Realm {
  const r = new Realm({ schema: [Item], path: path.join(dir, 'l.db') });
  open.push(r);
  return r;
}
const tick = () => new Promise((r) => setImmediate(r));

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-listen-'));
});
afterEach(() => {
  for (const r of open.splice(0)) r.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('collection diff (pure)', () => {
  test('deleting one shifts the rest: one deletion, no move-last-over pair', () => {
    const old = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
    const now = old.filter((k) => k !== '4');
    expect(diff(old, now, new Set())).toEqual({ insertions: [], deletions: [4], modifications: [], oldModifications: [], newModifications: [] });
  });

  test('modifications index both states; a move is a deletion plus an insertion', () => {
    const c = diff(['a', 'b', 'c', 'd'], ['x', 'a', 'c', 'd', 'b'], new Set(['c', 'b']));
    expect(c.deletions).toEqual([1]);
    expect(c.insertions).toEqual([0, 4]);
    expect(c.oldModifications).toEqual([2]);
    expect(c.newModifications).toEqual([2]);
    expect(c.modifications).toBe(c.oldModifications);
  });

  test('repeated keys (lists) diff exactly', () => {
    const c = diff(['a', 'b', 'a'], ['b', 'a'], new Set());
    expect(c.deletions.length).toBe(1);
    expect(c.insertions).toEqual([]);
    expect(diff(['a', 'a'], ['a', 'a', 'a'], (k) => k === 'a')).toMatchObject({ insertions: [2], oldModifications: [0, 1], newModifications: [0, 1] });
  });
});

describe('listeners', () => {
  test('a collection listener first gets empty changes, then indices per commit', async () => {
    const realm = makeRealm();
    realm.write(() => {
      for (let i = 0; i < 5; i++) realm.create('Item', { id: i, v: i });
    });
    const items = realm.objects<any>('Item');
    const calls: any[] = [];
    items.addListener((c, changes) => calls.push({ length: c.length, ...changes }));
    expect(calls).toEqual([]);
    await tick();
    expect(calls).toEqual([{ length: 5, insertions: [], deletions: [], modifications: [], oldModifications: [], newModifications: [] }]);
    realm.write(() => {
      realm.delete(items[1]);
      items[3].v = 30; // live: after the delete, index 3 is the object that was at 4
      realm.create('Item', { id: 9, v: 9 });
    });
    expect(calls[1]).toEqual({ length: 5, insertions: [4], deletions: [1], modifications: [4], oldModifications: [4], newModifications: [3] });
    realm.write(() => {}); // nothing changed: no call
    expect(calls).toHaveLength(2);
  });

  test('sorted results report a moved object as deletion + insertion', async () => {
    const realm = makeRealm();
    realm.write(() => [3, 1, 2].forEach((v) => realm.create('Item', { id: v, v })));
    const sorted = realm.objects<any>('Item').sorted('v');
    const calls: any[] = [];
    sorted.addListener((_c, ch) => calls.push(ch));
    await tick();
    realm.write(() => (realm.objectForPrimaryKey<any>('Item', 1)!.v = 10));
    expect(calls[1]).toMatchObject({ deletions: [0], insertions: [2], modifications: [] });
  });

  test('list listeners, object listeners, realm change listener, removal', async () => {
    const realm = makeRealm();
    const a = realm.write(() => realm.create<any>('Item', { id: 1, v: 1, tags: ['x'] }));
    const listCalls: any[] = [];
    const objCalls: any[] = [];
    const realmCalls: string[] = [];
    const onList = (_l: any, ch: any) => listCalls.push(ch);
    const onObj = (_o: any, ch: any) => objCalls.push(ch);
    const onChange = (r: Realm, name: string) => realmCalls.push(`${r === realm}:${name}`);
    a.tags.addListener(onList);
    a.addListener(onObj);
    realm.addListener('change', onChange);
    await tick();
    expect(objCalls).toEqual([{ deleted: false, changedProperties: [] }]);
    realm.write(() => a.tags.push('y'));
    expect(listCalls[1]).toMatchObject({ insertions: [1] });
    expect(objCalls[1]).toEqual({ deleted: false, changedProperties: ['tags'] });
    expect(realmCalls).toEqual(['true:change']);
    realm.write(() => (a.v = 2));
    expect(objCalls[2]).toEqual({ deleted: false, changedProperties: ['v'] });
    a.tags.removeListener(onList); // another handle of the same list removes it
    realm.removeListener('change', onChange);
    realm.write(() => realm.delete(a));
    expect(objCalls[3]).toEqual({ deleted: true, changedProperties: [] });
    expect(listCalls).toHaveLength(2);
    expect(realmCalls).toHaveLength(2);
    expect(() => realm.addListener('nope' as any, onChange)).toThrow(/Unknown event name/);
  });

  test('a cancelled write notifies nothing; a listener that writes sees its commit next', async () => {
    const realm = makeRealm();
    const items = realm.objects<any>('Item');
    const calls: any[] = [];
    items.addListener((c, ch) => {
      calls.push({ n: c.length, ins: ch.insertions });
      if (c.length === 1) realm.write(() => realm.create('Item', { id: 2, v: 2 }));
    });
    await tick();
    realm.beginTransaction();
    realm.create('Item', { id: 7, v: 7 });
    realm.cancelTransaction();
    expect(calls).toHaveLength(1);
    realm.write(() => realm.create('Item', { id: 1, v: 1 }));
    expect(calls).toEqual([
      { n: 0, ins: [] },
      { n: 1, ins: [0] },
      { n: 2, ins: [1] },
    ]);
  });

  test("a 'schema' listener sees types and properties added by another instance", () => {
    const realm = makeRealm();
    const seen: string[][] = [];
    realm.addListener('schema', (_r, name, schema: any) => seen.push([name, ...schema.map((s: any) => `${s.name}:${Object.keys(s.properties).length}`)]));
    const other = new Realm({ schema: [{ ...Item, properties: { ...Item.properties, extra: 'string?' } }, { name: 'New', properties: { a: 'int' } }], path: path.join(dir, 'l.db') });
    open.push(other);
    expect(seen).toEqual([['schema', 'Item:5', 'New:1']]);
    expect(realm.schema.find((s) => s.name === 'Item')!.properties.extra).toMatchObject({ type: 'string', optional: true });
  });

  test('removeAllListeners and close stop notifications', async () => {
    const realm = makeRealm();
    const items = realm.objects<any>('Item');
    let n = 0;
    items.addListener(() => n++);
    items.removeAllListeners();
    await tick();
    realm.write(() => realm.create('Item', { id: 1, v: 1 }));
    expect(n).toBe(0);
    items.addListener(() => n++);
    realm.close();
    await tick();
    expect(n).toBe(0);
  });

  test("a listener's exception goes to the realm's log; the other listeners still run and the commit stands", async () => {
    const logged: [string, Record<string, unknown> | undefined][] = [];
    const realm = new Realm({ schema: [Item], path: path.join(dir, 'log.db'), log: { error: (msg, fields) => logged.push([msg, fields]) } });
    open.push(realm);
    const after: number[] = [];
    realm.addListener('change', () => {
      throw new Error('listener broke');
    });
    realm.addListener('change', (r: Realm) => after.push(r.objects('Item').length));
    realm.write(() => realm.create('Item', { id: 1, v: 1 }));
    expect(after).toEqual([1]);
    expect(realm.objects('Item').length).toBe(1);
    expect(logged).toEqual([['a change listener threw', { error: expect.objectContaining({ message: 'listener broke' }) }]]);
  });
});
