import * as path from 'node:path';
import { Adapter, type AdapterInstruction } from '../../src/adapter';
import Realm from '../../src/index';
import { adminFixture, waitFor, type AdminFixture } from '../helpers/admin-runtime';

const Person = {
  name: 'Person',
  primaryKey: 'id',
  properties: { id: 'string', name: 'string', age: 'int', born: 'date?', avatar: 'data?', friend: 'Person', tags: 'string[]', pets: 'Dog[]' },
};
const Dog = { name: 'Dog', properties: { name: 'string' } };

let fx: AdminFixture;
beforeEach(async () => {
  fx = await adminFixture();
});
afterEach(async () => {
  await fx.dispose();
});

/** The loop from the ROS "Data integration" documentation: current/advance until undefined. */
function sampleLoop(adapter: Adapter, into: AdapterInstruction[][]): (path: string) => void {
  return (realmPath) => {
    let instructions;
    while ((instructions = adapter.current(realmPath))) {
      const seen: AdapterInstruction[] = [];
      for (const instruction of instructions) {
        switch (instruction.type) {
          case 'INSERT':
          case 'SET':
          case 'DELETE':
          case 'CLEAR':
          case 'LIST_SET':
          case 'LIST_INSERT':
          case 'LIST_ERASE':
          case 'LIST_MOVE':
          case 'LIST_CLEAR':
          case 'ADD_TYPE':
          case 'ADD_PROPERTIES':
          case 'ADD_INTEGER':
            seen.push(instruction);
            break;
          default:
            throw new Error(`unknown instruction ${JSON.stringify(instruction)}`);
        }
      }
      expect(adapter.current(realmPath)).toBe(instructions); // the same array until advance
      into.push(seen);
      adapter.advance(realmPath);
    }
  };
}

function newAdapter(filter: ConstructorParameters<typeof Adapter>[3], into: AdapterInstruction[][], dir = 'adapter'): Adapter {
  let adapter: Adapter | null = null;
  const loop = (p: string) => sampleLoop(adapter!, into)(p);
  adapter = new Realm.Sync.Adapter(path.join(fx.dir, dir), fx.realmUrl, fx.admin, filter, loop);
  return adapter;
}

describe('Adapter instruction stream', () => {
  test('a scripted session arrives as schema first, then INSERT/SET/ADD_INTEGER/LIST_*/DELETE/CLEAR, one array per transaction', async () => {
    const p = fx.userPath('crm');
    const w = fx.open(p, [Person, Dog]);
    await fx.upload(w);
    const txs: AdapterInstruction[][] = [];
    const adapter = newAdapter('^/[0-9a-f]+/crm$', txs);
    await waitFor(() => txs.length >= 1, 15_000, 'schema transaction');
    const step = async (fn: () => void) => {
      w.write(fn);
      await fx.upload(w);
    };
    await step(() => {
      const ann = w.create<any>('Person', { id: 'ann', name: 'Ann', age: 30, born: new Date(1000), avatar: new Uint8Array([1, 2]).buffer, tags: ['a', 'b'] });
      ann.pets.push({ name: 'Rex' });
    });
    await step(() => {
      const ann = w.objectForPrimaryKey<any>('Person', 'ann');
      ann.name = 'Anne';
      ann.age = 31;
    });
    await step(() => w.increment(w.objectForPrimaryKey('Person', 'ann'), 'age', 2));
    await step(() => {
      const ann = w.objectForPrimaryKey<any>('Person', 'ann');
      ann.tags[1] = 'c';
      ann.tags.push('d');
      ann.tags.move(0, 2);
      ann.tags.splice(0, 1);
    });
    await step(() => {
      const bob = w.create<any>('Person', { id: 'bob', name: 'Bob', age: 5 });
      w.objectForPrimaryKey<any>('Person', 'ann').friend = bob;
    });
    await step(() => w.objectForPrimaryKey<any>('Person', 'ann').pets.clear());
    await step(() => w.delete(w.objectForPrimaryKey('Person', 'bob')));
    await step(() => w.delete(w.objects('Dog')));
    await step(() => w.deleteAll());
    // A marker transaction after the scripted ones: the Adapter hands transactions over in order,
    // so once the marker is here everything the ten produced is here too, and nothing more.
    await step(() => w.create('Dog', { name: 'marker' }));
    const isMarker = (tx: AdapterInstruction[]) => tx.some((i) => i.type === 'INSERT' && (i as unknown as { values: { name?: string } }).values.name === 'marker');
    await waitFor(() => txs.some(isMarker), 15_000, 'the marker transaction');
    expect(txs).toHaveLength(11);
    expect(txs.pop()).toEqual([{ type: 'INSERT', object_type: 'Dog', identity: expect.any(String), values: { name: 'marker' } }]);

    const dog = (txs[1][3] as { identity: string }).identity;
    expect(typeof dog).toBe('string');
    const ann = { object_type: 'Person', identity: 'ann' };
    expect(txs).toEqual([
      [
        {
          type: 'ADD_TYPE',
          object_type: 'Person',
          primary_key: 'id',
          properties: {
            id: { type: 'string', nullable: false },
            name: { type: 'string', nullable: false },
            age: { type: 'int', nullable: false },
            born: { type: 'date', nullable: true },
            avatar: { type: 'data', nullable: true },
            friend: { type: 'object', object_type: 'Person', nullable: true },
            tags: { type: 'list', object_type: 'string', nullable: false },
            pets: { type: 'list', object_type: 'Dog' },
          },
        },
        { type: 'ADD_TYPE', object_type: 'Dog', primary_key: null, properties: { name: { type: 'string', nullable: false } } },
      ],
      [
        { type: 'INSERT', ...ann, values: { id: 'ann', name: 'Ann', age: 30, born: new Date(1000), avatar: expect.any(ArrayBuffer), friend: null } },
        { type: 'LIST_INSERT', ...ann, property: 'tags', list_index: 0, value: 'a' },
        { type: 'LIST_INSERT', ...ann, property: 'tags', list_index: 1, value: 'b' },
        { type: 'INSERT', object_type: 'Dog', identity: dog, values: { name: 'Rex' } },
        { type: 'LIST_INSERT', ...ann, property: 'pets', list_index: 0, object_identity: dog },
      ],
      [{ type: 'SET', ...ann, values: { name: 'Anne', age: 31 } }],
      [{ type: 'ADD_INTEGER', ...ann, property: 'age', value: 2 }],
      [
        { type: 'LIST_SET', ...ann, property: 'tags', list_index: 1, value: 'c' },
        { type: 'LIST_INSERT', ...ann, property: 'tags', list_index: 2, value: 'd' },
        { type: 'LIST_MOVE', ...ann, property: 'tags', list_index: 0, new_index: 2 },
        { type: 'LIST_ERASE', ...ann, property: 'tags', list_index: 0 },
      ],
      [
        { type: 'INSERT', object_type: 'Person', identity: 'bob', values: { id: 'bob', name: 'Bob', age: 5, born: null, avatar: null, friend: null } },
        { type: 'SET', ...ann, values: { friend: 'bob' } },
      ],
      [{ type: 'LIST_CLEAR', ...ann, property: 'pets' }],
      [{ type: 'DELETE', object_type: 'Person', identity: 'bob' }],
      [{ type: 'DELETE', object_type: 'Dog', identity: dog }],
      [
        { type: 'CLEAR', object_type: 'Person' },
        { type: 'CLEAR', object_type: 'Dog' },
      ],
    ]);
    const insert = txs[1][0] as unknown as { values: { born: unknown; avatar: ArrayBuffer } };
    expect(insert.values.born).toBeInstanceOf(Date);
    expect([...new Uint8Array(insert.values.avatar)]).toEqual([1, 2]);
    expect(adapter.current(p)).toBeUndefined();
    adapter.close();
  });

  test('a list entry whose target was deleted concurrently is invisible: list_index skips tombstones', async () => {
    const p = fx.userPath('tomb');
    const a = fx.open(p, [Person, Dog]);
    a.write(() => {
      const ann = a.create<any>('Person', { id: 'ann', name: 'Ann', age: 1 });
      ann.pets.push({ name: 'd0' }, { name: 'd1' });
    });
    await fx.upload(a);
    const b = fx.open(p, [Person, Dog]);
    await b.syncSession!.downloadAllServerChanges(10_000);
    const txs: AdapterInstruction[][] = [];
    const adapter = newAdapter((x: string) => x === p, txs);
    await waitFor(() => txs.length >= 1, 15_000, 'bootstrap');
    // b deletes d0 while a (offline) appends d2: d0's slot stays as a tombstone in the wire list.
    a.syncSession!.pause();
    b.write(() => b.delete(b.objects<any>('Dog').filtered('name == "d0"')[0]));
    await fx.upload(b);
    await waitFor(() => txs.length >= 2, 15_000, 'delete');
    a.write(() => a.objectForPrimaryKey<any>('Person', 'ann').pets.push({ name: 'd2' }));
    a.syncSession!.resume();
    await fx.upload(a);
    await waitFor(() => txs.length >= 3, 15_000, 'append');
    const inserts = txs[2].filter((i) => i.type === 'LIST_INSERT');
    expect(inserts).toEqual([expect.objectContaining({ property: 'pets', list_index: 1 })]);
    adapter.close();
  });
});

describe('Adapter filters and writes', () => {
  test('filters: whole-path regex strings, slash-wrapped strings, RegExp and predicates', async () => {
    const paths = [fx.userPath('private'), fx.userPath('private-notes'), fx.userPath('other')];
    for (const p of paths) await fx.upload(fx.open(p, [Dog]));
    const make = (filter: ConstructorParameters<typeof Adapter>[3], dir: string) => {
      const a = new Adapter(path.join(fx.dir, dir), fx.realmUrl, fx.admin, filter, () => undefined);
      return a.ready.then(() => a);
    };
    const cases: [ConstructorParameters<typeof Adapter>[3], string[]][] = [
      ['/^\\/([0-9a-f]+)\\/private$/', [paths[0]]],
      ['private', []], // the whole path must match
      ['.*private.*', [paths[0], paths[1]]],
      [/^\/[0-9a-f]+\/other$/, [paths[2]]],
      [(p: string) => p.endsWith('notes'), [paths[1]]],
    ];
    let i = 0;
    for (const [filter, expected] of cases) {
      const a = await make(filter, `f${i++}`);
      expect(a.paths.sort()).toEqual(expected.sort());
      a.close();
    }
  });

  test('writes through realmAtPath reach clients and never come back through current', async () => {
    const p = fx.userPath('two-way');
    const w = fx.open(p, [Dog]);
    w.write(() => w.create('Dog', { name: 'from-client' }));
    await fx.upload(w);
    const txs: AdapterInstruction[][] = [];
    const adapter = newAdapter((x: string) => x === p, txs);
    await waitFor(() => txs.length >= 1, 15_000, 'bootstrap');
    const local = adapter.realmAtPath(p, [Dog]);
    local.write(() => local.create('Dog', { name: 'from-adapter' }));
    await local.syncSession!.uploadAllLocalChanges(10_000);
    await waitFor(() => w.objects<any>('Dog').some((d) => d.name === 'from-adapter'), 15_000, 'client sees the adapter write');
    // The client writes after it has seen the Adapter's write, so the server orders that write
    // before this one: were the Adapter's write to come back through current(), it would arrive
    // before 'later'. Waiting for 'later' is waiting past it.
    w.write(() => w.create('Dog', { name: 'later' }));
    await fx.upload(w);
    const names = () => txs.flat().filter((i) => i.type === 'INSERT').map((i) => (i as unknown as { values: { name: string } }).values.name);
    await waitFor(() => names().includes('later'), 15_000, 'the client write after it');
    expect(names()).toEqual(['from-client', 'later']);
    local.close();
    adapter.close();
  });

  test('the cursor survives a restart: a new Adapter on the same directory resumes after the last advance', async () => {
    const p = fx.userPath('resume');
    const w = fx.open(p, [Dog]);
    await fx.upload(w);
    const first: AdapterInstruction[][] = [];
    const a1 = newAdapter((x: string) => x === p, first, 'resume');
    await waitFor(() => first.length >= 1, 15_000, 'bootstrap');
    w.write(() => w.create('Dog', { name: 'one' }));
    await fx.upload(w);
    await waitFor(() => first.length >= 2, 15_000, 'one');
    a1.close();
    w.write(() => w.create('Dog', { name: 'two' }));
    await fx.upload(w);
    const second: AdapterInstruction[][] = [];
    const a2 = newAdapter((x: string) => x === p, second, 'resume');
    await waitFor(() => second.length >= 1, 15_000, 'two');
    // A later write as the marker: transactions come in order, so anything the new Adapter would
    // hand over again (the bootstrap, 'one') arrives before it.
    w.write(() => w.create('Dog', { name: 'three' }));
    await fx.upload(w);
    await waitFor(() => second.flat().some((i) => i.type === 'INSERT' && (i as unknown as { values: { name: string } }).values.name === 'three'), 15_000, 'three');
    expect(second).toEqual([
      [{ type: 'INSERT', object_type: 'Dog', identity: expect.any(String), values: { name: 'two' } }],
      [{ type: 'INSERT', object_type: 'Dog', identity: expect.any(String), values: { name: 'three' } }],
    ]);
    a2.close();
  });
});
