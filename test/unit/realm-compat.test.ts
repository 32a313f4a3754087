import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Realm from '../../src/index';

// realm-js file-level API of local realms: schemaVersion and migration, Realm.schemaVersion,
// Realm.defaultPath, Realm.deleteFile; and the query-based-sync permission objects.

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-compat-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const PersonV1 = { name: 'Person', properties: { name: 'string' } };
const PersonV2 = { name: 'Person', properties: { name: 'string', shout: { type: 'string', default: '' } } };

describe('schemaVersion and migration', () => {
  test('an older file is migrated once; the version is recorded; a newer file is refused', () => {
    const file = path.join(dir, 'people.db');
    expect(Realm.schemaVersion(file)).toBe(-1);
    const v1 = new Realm({ path: file, schema: [PersonV1], schemaVersion: 1 });
    v1.write(() => ['ada', 'grace'].forEach((name) => v1.create('Person', { name })));
    v1.close();
    expect(Realm.schemaVersion(file)).toBe(1);

    const calls: number[] = [];
    const migration = (oldRealm: Realm, newRealm: Realm) => {
      calls.push(oldRealm.objects('Person').length);
      expect(newRealm.isInTransaction).toBe(true);
      const olds = oldRealm.objects<any>('Person');
      const news = newRealm.objects<any>('Person');
      for (let i = 0; i < olds.length; i++) news[i].shout = olds[i].name.toUpperCase();
    };
    const v2 = new Realm({ path: file, schema: [PersonV2], schemaVersion: 2, migration });
    expect(v2.objects<any>('Person').map((p) => p.shout)).toEqual(['ADA', 'GRACE']);
    v2.close();
    expect(calls).toEqual([2]);
    expect(Realm.schemaVersion(file)).toBe(2);
    new Realm({ path: file, schema: [PersonV2], schemaVersion: 2, migration }).close();
    expect(calls).toEqual([2]);
    expect(() => new Realm({ path: file, schema: [PersonV2], schemaVersion: 1 })).toThrow(expect.objectContaining({ code: 'SCHEMA_INVALID', message: expect.stringContaining('less than last set version 2') }));
  });

  test('a new file takes the version without a migration; a failing migration leaves the version', () => {
    const file = path.join(dir, 'fresh.db');
    const migration = jest.fn();
    new Realm({ path: file, schema: [PersonV1], schemaVersion: 5, migration }).close();
    expect(migration).not.toHaveBeenCalled();
    expect(Realm.schemaVersion(file)).toBe(5);
    expect(
      () =>
        new Realm({
          path: file,
          schema: [PersonV2],
          schemaVersion: 6,
          migration: () => {
            throw new Error('bad migration');
          },
        }),
    ).toThrow('bad migration');
    expect(Realm.schemaVersion(file)).toBe(5);
  });
});

describe('files', () => {
  test('defaultPath is where a realm without path goes; deleteFile removes it, not while open', () => {
    const before = Realm.defaultPath;
    try {
      Realm.defaultPath = path.join(dir, 'my-default.db');
      expect(Realm.defaultPath).toBe(path.join(dir, 'my-default.db'));
      const realm = new Realm({ schema: [PersonV1] });
      expect(realm.path).toBe(path.join(dir, 'my-default.db'));
      realm.write(() => realm.create('Person', { name: 'x' }));
      expect(() => Realm.deleteFile({})).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
      realm.close();
      expect(fs.existsSync(Realm.defaultPath)).toBe(true);
      Realm.deleteFile({});
      expect(fs.readdirSync(dir)).toEqual([]);
      const fresh = new Realm({ schema: [PersonV1] });
      expect(fresh.objects('Person').length).toBe(0);
      fresh.close();
    } finally {
      for (const r of [Realm.defaultPath]) if (fs.existsSync(r)) Realm.deleteFile({ path: r } as never);
      Realm.defaultPath = before;
    }
  });
});

describe('Realm.Permissions (query-based sync object permissions)', () => {
  test('realm.permissions() and findOrCreate build __Realm, __Role and __Permission objects that persist', () => {
    const file = path.join(dir, 'perm.db');
    const realm = new Realm({ path: file, schema: [PersonV1, Realm.Permissions.Permission, Realm.Permissions.Role, Realm.Permissions.User] });
    const perms: any = realm.permissions();
    expect(perms).toBeInstanceOf(Realm.Permissions.Realm);
    realm.write(() => {
      const everyone = perms.findOrCreate('everyone');
      everyone.canRead = true;
      everyone.canQuery = true;
      const cls: any = realm.permissions('Person');
      cls.findOrCreate('everyone').canCreate = true;
      expect(perms.findOrCreate('everyone')).toBeDefined();
    });
    realm.close();
    const again = new Realm({ path: file });
    const p: any = again.objects('__Realm')[0];
    expect([p.id, p.permissions.length, p.permissions[0].role.name, p.permissions[0].canRead, p.permissions[0].canUpdate]).toEqual([0, 1, 'everyone', true, false]);
    expect((again.objects('__Class')[0] as any).permissions[0].canCreate).toBe(true);
    expect(again.objects('__Role').length).toBe(1);
    again.close();
  });

  test('subscribe() on a local realm completes; unsubscribe invalidates; subscriptions() finds them by name', async () => {
    const realm = new Realm({ path: path.join(dir, 'subs.db'), schema: [PersonV1] });
    const sub = realm.objects('Person').filtered('name BEGINSWITH "a"').subscribe('a-people');
    expect(sub.state).toBe(Realm.Sync.SubscriptionState.Pending);
    const states: number[] = [];
    await new Promise<void>((resolve) =>
      sub.addListener((_s, state) => {
        states.push(state);
        if (state === Realm.Sync.SubscriptionState.Complete) resolve();
      }),
    );
    expect(realm.subscriptions('a-*').map((s) => s.name)).toEqual(['a-people']);
    realm.unsubscribe('a-people');
    expect(sub.state).toBe(Realm.Sync.SubscriptionState.Invalidated);
    expect(states).toEqual([Realm.Sync.SubscriptionState.Complete, Realm.Sync.SubscriptionState.Invalidated]);
    expect(realm.subscriptions()).toEqual([]);
    realm.close();
  });
});
