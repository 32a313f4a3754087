import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Instruction } from '../../src/changeset';
import { REPLICA_FORMAT, Replica } from '../../src/store';
import { Prng, testSeed } from '../helpers/prng';

const schema: Instruction[] = [
  { op: 'AddType', type: 'Item', primaryKey: 'id', properties: [{ name: 'id', type: 'string', optional: false }, { name: 'n', type: 'int', optional: false }] },
  { op: 'AddType', type: 'Tag', primaryKey: 'id', properties: [{ name: 'id', type: 'string', optional: false }] },
];

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-replica-format-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Random keys (UUID-like): scattered in key order, which is what the format 2 layout is for. */
function randomKey(rng: Prng): string {
  return Array.from(rng.bytes(8), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Rewrites a replica file into the format 1 layout as earlier versions wrote it: `objects`
 * clustered by (type, key) with an `objects_order` index on (type, seq), and no `format` row.
 */
function downgradeToFormat1(file: string): void {
  const db = new Database(file);
  db.exec(`
    BEGIN;
    ALTER TABLE objects RENAME TO objects_new;
    DROP INDEX objects_key;
    CREATE TABLE objects (type TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (type, key)) WITHOUT ROWID;
    CREATE INDEX objects_order ON objects (type, seq);
    INSERT INTO objects (type, key, seq, data) SELECT type, key, seq, data FROM objects_new;
    DROP TABLE objects_new;
    DELETE FROM meta WHERE key = 'format';
    COMMIT;`);
  db.close();
}

function layout(file: string): { indexes: string[]; format: unknown } {
  const db = new Database(file, { readonly: true });
  try {
    const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'objects' AND sql IS NOT NULL").pluck().all() as string[]).sort();
    const format = db.prepare("SELECT value FROM meta WHERE key = 'format'").pluck().get();
    return { indexes, format };
  } finally {
    db.close();
  }
}

describe('replica file format', () => {
  test('a new file records the current format and keeps objects in creation order whatever their keys', () => {
    const rng = new Prng(testSeed('replica-format order'));
    const file = path.join(dir, 'new.db');
    const r = Replica.open({ path: file });
    const model: string[] = [];
    r.write((w) => w.apply(schema));
    for (let round = 0; round < 20; round++) {
      r.write((w) => {
        for (let i = 0; i < 10; i++) {
          if (model.length > 0 && rng.bool(0.2)) {
            // Deleting and re-creating moves an object to the end, as in Realm.
            const key = model.splice(rng.int(0, model.length - 1), 1)[0]!;
            w.apply([{ op: 'Delete', type: 'Item', id: key }]);
            if (rng.bool()) {
              w.apply([{ op: 'Create', type: 'Item', id: key, values: { n: round } }]);
              model.push(key);
            }
          } else {
            const key = randomKey(rng);
            w.apply([{ op: 'Create', type: 'Item', id: key, values: { n: round } }]);
            model.push(key);
          }
        }
      });
    }
    expect(r.objects('Item').map((o) => o.id)).toEqual(model);
    expect(r.objectKeys('Item')).toEqual(model.map((k) => `s${k}`));
    expect(r.count('Item')).toBe(model.length);
    r.close();
    expect(layout(file)).toEqual({ indexes: ['objects_key'], format: REPLICA_FORMAT });
  });

  test('a format 1 file is migrated on open: objects, order, cursors and history carry over', () => {
    const rng = new Prng(testSeed('replica-format migration'));
    const file = path.join(dir, 'old.db');
    const keys = Array.from({ length: 50 }, () => randomKey(rng));
    let r = Replica.open({ path: file });
    r.setIdent(7, 99);
    r.write((w) => w.apply(schema));
    r.write((w) => w.apply(keys.map((id, n) => ({ op: 'Create', type: 'Item', id, values: { n } }))));
    r.write((w) => w.apply([{ op: 'Create', type: 'Tag', id: 't1', values: {} }]));
    const before = { items: r.objects('Item'), history: r.changesetsAfter(0), last: r.lastClientVersion };
    r.close();
    downgradeToFormat1(file);
    expect(layout(file)).toEqual({ indexes: ['objects_order'], format: undefined });

    r = Replica.open({ path: file });
    expect(r.fileIdent).toBe(7);
    expect(r.objects('Item')).toEqual(before.items);
    expect(r.getObject('Item', keys[17]!)).toEqual(before.items[17]);
    expect(r.objectKeys('Tag')).toEqual(['st1']);
    expect(r.changesetsAfter(0)).toEqual(before.history);
    expect(r.lastClientVersion).toBe(before.last);
    // New objects go after the migrated ones; updates find migrated objects by key.
    r.write((w) => w.apply([{ op: 'Create', type: 'Item', id: 'zz-new', values: { n: -1 } }, { op: 'Set', type: 'Item', id: keys[3]!, values: { n: 1000 } }]));
    r.close();
    expect(layout(file)).toEqual({ indexes: ['objects_key'], format: REPLICA_FORMAT });

    r = Replica.open({ path: file });
    expect(r.objectKeys('Item')).toEqual([...keys, 'zz-new'].map((k) => `s${k}`));
    expect(r.getObject('Item', keys[3]!)?.values.n).toBe(1000);
    r.close();
  });

  test('a file of a newer format is refused and left as it is', () => {
    const file = path.join(dir, 'future.db');
    Replica.open({ path: file }).close();
    const db = new Database(file);
    db.prepare("UPDATE meta SET value = ? WHERE key = 'format'").run(REPLICA_FORMAT + 1);
    db.close();
    expect(() => Replica.open({ path: file })).toThrow(expect.objectContaining({ code: 'STORAGE_FAILURE', message: expect.stringContaining(`format ${REPLICA_FORMAT + 1}`) }));
    expect(layout(file).format).toBe(REPLICA_FORMAT + 1);
  });

  /** Tables, indexes and their SQL, the journal mode and the format, as SQLite reports them. */
  function anatomy(file: string): unknown {
    const db = new Database(file, { readonly: true });
    try {
      return {
        master: db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name').all(),
        journal: db.pragma('journal_mode', { simple: true }),
        meta: db.prepare('SELECT key, value FROM meta ORDER BY key').all(),
      };
    } finally {
      db.close();
    }
  }

  test('a new file is copied from a template: the same tables, format and WAL mode as one made with SQL, private, and nothing left beside it', () => {
    // Made with SQL: an empty file already there (as an older version, or a file system without
    // hard links, leaves it) gets its tables from openReplicaSchema.
    const plain = path.join(dir, 'plain.db');
    fs.writeFileSync(plain, '', { mode: 0o600 });
    Replica.open({ path: plain }).close();
    const copied = path.join(dir, 'sub', 'copied.db');
    const r = Replica.open({ path: copied });
    r.write((w) => w.apply([...schema, { op: 'Create', type: 'Item', id: 'a', values: { n: 1 } }]));
    r.close();
    const fresh = path.join(dir, 'fresh.db');
    Replica.open({ path: fresh }).close();
    expect(anatomy(fresh)).toEqual(anatomy(plain));
    expect((anatomy(fresh) as { journal: string }).journal).toBe('wal');
    if (process.platform !== 'win32') {
      expect(fs.statSync(copied).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.dirname(copied)).mode & 0o777).toBe(0o700);
    }
    expect(fs.readdirSync(path.dirname(copied)).filter((f) => f.endsWith('.new'))).toEqual([]);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.new'))).toEqual([]);
    const again = Replica.open({ path: copied });
    expect(again.getObject('Item', 'a')?.values.n).toBe(1);
    again.close();
  });

  test('a WAL file left beside a replica whose database file was deleted is not replayed into a new replica at that path', () => {
    // The old replica's committed frames, still only in its WAL (as after a crash), are copied to
    // where a new replica will be made, as deleting only the database file leaves them.
    const old = path.join(dir, 'old.db');
    const r = Replica.open({ path: old });
    r.write((w) => w.apply([...schema, { op: 'Create', type: 'Item', id: 'stale', values: { n: 7 } }]));
    expect(fs.statSync(`${old}-wal`).size).toBeGreaterThan(0);
    const reborn = path.join(dir, 'reborn.db');
    fs.copyFileSync(`${old}-wal`, `${reborn}-wal`);
    r.close();
    const fresh = Replica.open({ path: reborn });
    try {
      expect(fresh.getObject('Item', 'stale')).toBeUndefined();
      expect(fresh.getSchema('Item')).toBeUndefined();
      expect(fresh.lastClientVersion).toBe(0);
      // And the new file works: written, closed and read back.
      fresh.write((w) => w.apply([...schema, { op: 'Create', type: 'Item', id: 'new', values: { n: 1 } }]));
    } finally {
      fresh.close();
    }
    const again = Replica.open({ path: reborn });
    expect(again.getObject('Item', 'new')?.values.n).toBe(1);
    expect(again.getObject('Item', 'stale')).toBeUndefined();
    again.close();
  });

  test('many processes opening the same new file at once: one creates it, all of them see one intact replica', async () => {
    const file = path.join(dir, 'contended.db');
    const script = `
      const { Replica } = require(${JSON.stringify(path.resolve(__dirname, '../../src/store'))});
      for (;;) {
        try { Replica.open({ path: ${JSON.stringify(file)} }).close(); console.log('opened'); break; }
        catch (e) { if (e.code !== 'REPLICA_IN_USE') { console.log('failed ' + e.code + ' ' + e.message); break; } }
      }
    `;
    const { spawn } = await import('node:child_process');
    const runs = Array.from({ length: 6 }, () =>
      new Promise<string>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.on('close', () => resolve(out.trim()));
      }),
    );
    expect(await Promise.all(runs)).toEqual(Array(6).fill('opened'));
    expect(layout(file)).toEqual({ indexes: ['objects_key'], format: REPLICA_FORMAT });
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.new'))).toEqual([]);
  });
});
