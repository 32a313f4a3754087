import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LazyReplica } from '../../src/admin-client';
import { keyString } from '../../src/model';
import { decodeRecord, type Instruction } from '../../src/changeset';
import { Replica, type CommitEvent, type DownloadBatch, type ExtensionStatement, type ExtensionStorage, type ReplicaExtension, type StoredRow } from '../../src/store';

const schema: Instruction[] = [
  {
    op: 'AddType',
    type: 'Item',
    primaryKey: 'id',
    properties: [
      { name: 'id', type: 'int', optional: false },
      { name: 'name', type: 'string', optional: false },
    ],
  },
];
const create = (id: number, name: string): Instruction => ({ op: 'Create', type: 'Item', id, values: { name } });
const rename = (id: number, name: string): Instruction => ({ op: 'Set', type: 'Item', id, values: { name } });

let dir: string;
const opened: { close(): void }[] = [];
function openReplica(file = 'r.db'): Replica {
  const r = Replica.open({ path: path.join(dir, file) });
  opened.push(r);
  return r;
}

/**
 * A DOWNLOAD carrying one peer changeset at server version `v`, made after the server integrated
 * (and acknowledged) our local changesets up to `clientVersion`: nothing concurrent to transform.
 */
function download(v: number, instructions: Instruction[], clientVersion = 0): DownloadBatch {
  return {
    serverVersion: v,
    lastIntegratedClientVersion: clientVersion,
    latestServerVersion: v,
    latestServerVersionSalt: 1,
    uploadClientVersion: clientVersion,
    uploadServerVersion: 0,
    changesets: [{ serverVersion: v, lastIntegratedClientVersion: clientVersion, originTimestamp: v, originFileIdent: 9, instructions }],
  };
}

const names = (r: Replica) => r.objects('Item').map((o) => o.values.name);

/** An extension keeping a table of its own: one row per object created, written by its observer. */
class CreationLog implements ReplicaExtension {
  storage!: ExtensionStorage;
  attached = 0;
  private insert!: ExtensionStatement;
  private all!: ExtensionStatement;
  readonly observer = {
    created: (type: string, id: unknown) => this.storage.transaction(() => this.insert.run(type, String(id))),
  };
  attach(storage: ExtensionStorage): void {
    this.storage = storage;
    this.attached++;
    storage.exec('CREATE TABLE IF NOT EXISTS creation_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, key TEXT NOT NULL)');
    this.insert = storage.prepare('INSERT INTO creation_log (type, key) VALUES (?, ?)');
    this.all = storage.prepare('SELECT type, key FROM creation_log ORDER BY seq');
  }
  get rows(): string[] {
    return (this.all.all() as { type: string; key: string }[]).map((r) => `${r.type}:${r.key}`);
  }
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-ext-'));
});
afterEach(() => {
  for (const r of opened.splice(0)) r.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('replica extensions', () => {
  test('commit observation: every committed transaction, with its origin, after it commits', () => {
    const r = openReplica();
    r.setIdent(5, 1);
    const events: CommitEvent[] = [];
    const versions: number[] = [];
    r.addExtension({
      committed: (e) => {
        events.push(e);
        versions.push(r.version);
      },
    });
    r.write((w) => w.apply(schema));
    r.write(() => undefined);
    r.beginWrite().cancel();
    r.integrate(download(1, [create(1, 'a')], 1));
    expect(() => r.integrate(download(0, [create(2, 'b')], 1))).toThrow(expect.objectContaining({ code: 'BAD_SERVER_VERSION' }));
    r.applySnapshot({ serverVersion: 4, serverVersionSalt: 2, lastIntegratedClientVersion: 1, instructions: [...schema, create(3, 'c')] });
    expect(events).toEqual([{ origin: 'local', clientVersion: 1 }, { origin: 'local', clientVersion: undefined }, { origin: 'download', clientVersion: undefined }, { origin: 'snapshot', clientVersion: undefined }]);
    expect(versions).toEqual([1, 2, 3, 4]);
  });

  test('the observer sees the effects of local, downloaded and snapshot instructions', () => {
    const r = openReplica();
    r.setIdent(5, 1);
    const seen: string[] = [];
    r.addExtension({
      observer: {
        schemaChanged: (type) => seen.push(`schema ${type}`),
        created: (type, id) => seen.push(`created ${type} ${String(id)}`),
        modified: (type, id, property) => seen.push(`modified ${type} ${String(id)} ${property}`),
        deleted: (type, id) => seen.push(`deleted ${type} ${String(id)}`),
      },
    });
    r.write((w) => w.apply([...schema, create(1, 'a')]));
    r.integrate(download(1, [rename(1, 'b'), { op: 'Delete', type: 'Item', id: 1 }], 1));
    r.applySnapshot({ serverVersion: 2, serverVersionSalt: 1, lastIntegratedClientVersion: 1, instructions: [...schema, create(7, 'z')] });
    expect(seen).toEqual(['schema Item', 'created Item 1', 'modified Item 1 name', 'deleted Item 1', 'schema Item', 'created Item 7']);
  });

  test('pre-image capture: the stored row before each change, and every row before a snapshot', () => {
    const r = openReplica();
    r.setIdent(5, 1);
    r.write((w) => w.apply([...schema, create(1, 'a')]));
    const objects: { type: string; key: string; row: StoredRow | undefined }[] = [];
    const schemas: { name: string; previous: unknown }[] = [];
    const resets: { rows: string[]; schemas: string[] }[] = [];
    r.addExtension({
      preImages: {
        object: (type, key, read) => objects.push({ type, key, row: read() }),
        schema: (name, previous) => schemas.push({ name, previous }),
        reset: (rows, all) => resets.push({ rows: [...rows()].map((x) => `${x.type}:${x.key}`), schemas: all.map((s) => s.name) }),
      },
    });
    r.write((w) => w.apply([rename(1, 'b'), create(2, 'c')]));
    expect(objects.map((o) => [o.type, o.key, o.row === undefined])).toEqual([
      ['Item', keyString(1), false],
      ['Item', keyString(2), true],
    ]);
    const rowBefore = objects[0]!.row!;
    expect(rowBefore.seq).toBe(1);
    expect(decodeRecord(rowBefore.data).values.name).toBe('a');
    expect(r.getObject('Item', 1)!.values.name).toBe('b');
    r.write((w) =>
      w.apply([{ op: 'AddProperties', type: 'Item', properties: [{ name: 'n', type: 'int', optional: true }] }]),
    );
    expect(schemas.map((s) => s.name)).toEqual(['Item']);
    expect((schemas[0]!.previous as { properties: unknown[] }).properties).toHaveLength(2);
    r.applySnapshot({ serverVersion: 3, serverVersionSalt: 1, lastIntegratedClientVersion: 3, instructions: schema });
    expect(resets).toEqual([{ rows: [`Item:${keyString(1)}`, `Item:${keyString(2)}`], schemas: ['Item'] }]);
  });

  test('remote apply: downloads and snapshots go through the applier, inside their transaction; local writes do not', () => {
    const r = openReplica();
    r.setIdent(5, 1);
    const calls: { origin: string; ops: string[] }[] = [];
    r.addExtension({
      applyRemote: (instructions, origin, applyNow) => {
        calls.push({ origin, ops: instructions.map((i) => i.op) });
        for (const ins of instructions) applyNow([ins]);
      },
    });
    r.write((w) => w.apply(schema));
    r.integrate(download(1, [create(1, 'a'), rename(1, 'b')], 1));
    expect(names(r)).toEqual(['b']);
    r.applySnapshot({ serverVersion: 2, serverVersionSalt: 1, lastIntegratedClientVersion: 1, instructions: [...schema, create(2, 'c')] });
    expect(names(r)).toEqual(['c']);
    expect(calls.map((c) => [c.origin, c.ops])).toEqual([
      ['download', ['Create', 'Set']],
      ['snapshot', ['AddType', 'Create']],
    ]);
  });

  test('an applier that does not call applyNow keeps the instructions out, and a throw rolls the download back', () => {
    const r = openReplica();
    r.setIdent(5, 1);
    r.write((w) => w.apply(schema));
    let mode: 'skip' | 'throw' = 'skip';
    r.addExtension({
      applyRemote: (instructions, _origin, applyNow) => {
        if (mode === 'throw') {
          applyNow(instructions);
          throw new Error('applier failed');
        }
      },
    });
    r.integrate(download(1, [create(1, 'a')], 1));
    expect(names(r)).toEqual([]);
    expect(r.progress.download.serverVersion).toBe(1);
    mode = 'throw';
    expect(() => r.integrate(download(2, [create(2, 'b')], 1))).toThrow('applier failed');
    expect(names(r)).toEqual([]);
    expect(r.progress.download.serverVersion).toBe(1);
  });

  test('two extensions: called in registration order, the pre-image read once, appliers nested first-outermost', () => {
    const r = openReplica();
    r.setIdent(5, 1);
    r.write((w) => w.apply([...schema, create(1, 'a')]));
    const order: string[] = [];
    const rows: (StoredRow | undefined)[] = [];
    const extension = (name: string): ReplicaExtension => ({
      observer: { modified: () => order.push(`${name} modified`) },
      preImages: {
        object: (_type, _key, read) => {
          order.push(`${name} pre-image`);
          rows.push(read());
        },
        schema: () => undefined,
        reset: () => undefined,
      },
      applyRemote: (instructions, _origin, applyNow) => {
        order.push(`${name} before`);
        applyNow(instructions);
        order.push(`${name} after`);
      },
      committed: (e) => order.push(`${name} committed ${e.origin}`),
    });
    r.addExtension(extension('A'));
    r.addExtension(extension('B'));
    r.integrate(download(1, [rename(1, 'b')], 1));
    expect(order).toEqual(['A before', 'B before', 'A pre-image', 'B pre-image', 'A modified', 'B modified', 'B after', 'A after', 'A committed download', 'B committed download']);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toBeDefined();
    expect(rows[1]).toBe(rows[0]);
  });

  test('a throwing commit observer neither undoes the commit nor keeps the next one from being told', () => {
    const r = openReplica();
    const told: string[] = [];
    r.addExtension({
      committed: () => {
        throw new Error('observer failed');
      },
    });
    r.addExtension({ committed: (e) => told.push(e.origin) });
    expect(r.write((w) => w.apply(schema))).toBeUndefined();
    expect(r.lastClientVersion).toBe(1);
    expect(told).toEqual(['local']);
  });

  test('removal: an extension removed is not called again, even by a commit being notified; removal is idempotent', () => {
    const r = openReplica();
    const told: string[] = [];
    let removeB: () => void = () => undefined;
    const removeA = r.addExtension({
      observer: { created: () => told.push('A created') },
      committed: () => {
        told.push('A committed');
        removeB();
      },
    });
    removeB = r.addExtension({ committed: () => told.push('B committed') });
    r.write((w) => w.apply([...schema, create(1, 'a')]));
    expect(told).toEqual(['A created', 'A committed']);
    removeA();
    removeA();
    removeB();
    r.write((w) => w.apply([create(2, 'b')]));
    expect(told).toEqual(['A created', 'A committed']);
  });

  test('an extension registered twice is refused; one whose attach throws is not registered', () => {
    const r = openReplica();
    const ext: ReplicaExtension = { committed: () => undefined };
    r.addExtension(ext);
    expect(() => r.addExtension(ext)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    let told = 0;
    expect(() =>
      r.addExtension({
        attach: () => {
          throw new Error('no tables for me');
        },
        committed: () => told++,
      }),
    ).toThrow('no tables for me');
    r.write((w) => w.apply(schema));
    expect(told).toBe(0);
  });

  test('closing the replica removes every extension; a closed replica takes none', () => {
    const r = openReplica();
    const told: string[] = [];
    r.addExtension({ committed: (e) => told.push(e.origin) });
    r.close();
    expect(() => r.addExtension({})).toThrow(expect.objectContaining({ code: 'REALM_CLOSED' }));
    expect(told).toEqual([]);
  });
});

describe('extension storage', () => {
  test('extension tables are written in the same transaction as the commit', () => {
    const r = openReplica();
    r.setIdent(5, 1);
    const log = new CreationLog();
    r.addExtension(log);
    r.write((w) => w.apply([...schema, create(1, 'a')]));
    r.integrate(download(1, [create(2, 'b')], 1));
    expect(names(r)).toEqual(['a', 'b']);
    expect(log.rows).toEqual(['Item:1', 'Item:2']);

    // a cancelled local write leaves neither its objects nor the extension's rows
    const w = r.beginWrite();
    w.apply([create(3, 'c')]);
    expect(log.rows).toEqual(['Item:1', 'Item:2', 'Item:3']);
    w.cancel();
    expect(names(r)).toEqual(['a', 'b']);
    expect(log.rows).toEqual(['Item:1', 'Item:2']);

    // a local write whose callback throws
    expect(() =>
      r.write((x) => {
        x.apply([create(4, 'd')]);
        throw new Error('changed my mind');
      }),
    ).toThrow('changed my mind');
    // a batch that fails part-way inside a write (its savepoint rolls back), the write going on
    r.write((x) => {
      expect(() => x.apply([create(5, 'e'), { op: 'Set', type: 'Item', id: 404, values: { name: 'nobody' } }])).toThrow();
      x.apply([create(6, 'f')]);
    });
    // a download that fails in its second DOWNLOAD: the first one's rows go too
    expect(() => r.integrateAll([download(2, [create(7, 'g')], 2), download(1, [create(8, 'h')], 2)])).toThrow(expect.objectContaining({ code: 'BAD_SERVER_VERSION' }));
    expect(names(r)).toEqual(['a', 'b', 'f']);
    expect(log.rows).toEqual(['Item:1', 'Item:2', 'Item:6']);

    // and both survive a reopen
    r.close();
    const again = openReplica();
    const log2 = new CreationLog();
    again.addExtension(log2);
    expect(names(again)).toEqual(['a', 'b', 'f']);
    expect(log2.rows).toEqual(['Item:1', 'Item:2', 'Item:6']);
  });

  test('outside a replica transaction, storage.transaction commits on its own, atomically, without a commit event', () => {
    const r = openReplica();
    const log = new CreationLog();
    r.addExtension(log);
    const events: string[] = [];
    r.addExtension({ committed: (e) => events.push(e.origin) });
    log.storage.transaction(() => log.storage.prepare("INSERT INTO creation_log (type, key) VALUES ('T', 'x')").run());
    expect(log.rows).toEqual(['T:x']);
    expect(() =>
      log.storage.transaction(() => {
        log.storage.prepare("INSERT INTO creation_log (type, key) VALUES ('T', 'y')").run();
        throw new Error('half done');
      }),
    ).toThrow('half done');
    expect(log.rows).toEqual(['T:x']);
    expect(events).toEqual([]);
    expect(r.version).toBe(0);
  });

  test('inside a replica transaction, a throwing storage.transaction undoes only its own writes', () => {
    const r = openReplica();
    const log = new CreationLog();
    r.addExtension(log);
    r.write((w) => {
      w.apply([...schema, create(1, 'a')]);
      expect(() =>
        log.storage.transaction(() => {
          log.storage.prepare("INSERT INTO creation_log (type, key) VALUES ('T', 'y')").run();
          throw new Error('half done');
        }),
      ).toThrow('half done');
    });
    expect(names(r)).toEqual(['a']);
    expect(log.rows).toEqual(['Item:1']);
  });

  test('storage of a closed replica refuses with REALM_CLOSED', () => {
    const r = openReplica();
    const log = new CreationLog();
    r.addExtension(log);
    r.close();
    expect(() => log.storage.prepare('SELECT 1')).toThrow(expect.objectContaining({ code: 'REALM_CLOSED' }));
  });
});

describe('LazyReplica', () => {
  test('keeps its extensions across an eviction, in order, attaching them to the reopened file', () => {
    const transitions: boolean[] = [];
    const lazy = new LazyReplica({ path: path.join(dir, 'lazy.db') }, (open) => transitions.push(open));
    opened.push(lazy);
    const order: string[] = [];
    lazy.addExtension({ committed: (e) => order.push(`A ${e.origin}`) });
    expect(lazy.isOpen).toBe(false);
    const log = new CreationLog();
    lazy.addExtension(log); // it keeps tables: the file opens for its attach
    expect(lazy.isOpen).toBe(true);
    lazy.addExtension({ committed: (e) => order.push(`C ${e.origin}`) });
    lazy.write((w) => w.apply([...schema, create(1, 'a')]));
    const version = lazy.version;
    expect(lazy.evict()).toBe(true);
    expect(lazy.isOpen).toBe(false);
    expect(lazy.version).toBeGreaterThan(version);
    lazy.write((w) => w.apply([create(2, 'b')]));
    expect(log.attached).toBe(2);
    expect(log.rows).toEqual(['Item:1', 'Item:2']);
    expect(order).toEqual(['A local', 'C local', 'A local', 'C local']);
    expect(transitions).toEqual([true, false, true]);
  });

  test('an extension removed while the file is closed is not registered again', () => {
    const lazy = new LazyReplica({ path: path.join(dir, 'lazy.db') });
    opened.push(lazy);
    const told: string[] = [];
    const remove = lazy.addExtension({ committed: (e) => told.push(e.origin) });
    lazy.write((w) => w.apply(schema));
    lazy.evict();
    remove();
    lazy.write((w) => w.apply([create(1, 'a')]));
    expect(told).toEqual(['local']);
    expect(lazy.evict()).toBe(true);
  });

  test('does not evict during a write', () => {
    const lazy = new LazyReplica({ path: path.join(dir, 'lazy.db') });
    opened.push(lazy);
    const w = lazy.beginWrite();
    expect(lazy.isInWrite).toBe(true);
    expect(lazy.evict()).toBe(false);
    w.cancel();
    expect(lazy.evict()).toBe(true);
  });
});
