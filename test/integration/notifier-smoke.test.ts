import * as path from 'node:path';
import { Notifier, type ChangeEvent } from '../../src/notifier';
import { adminFixture, waitFor, type AdminFixture } from '../helpers/admin-runtime';

const Dog = { name: 'Dog', primaryKey: 'id', properties: { id: 'int', name: 'string' } };

let fx: AdminFixture;
beforeEach(async () => {
  fx = await adminFixture();
});
afterEach(async () => {
  await fx.dispose();
});

test('smoke: available and change events', async () => {
  const w = fx.open('/' + 'a'.repeat(32) + '/dogs', [Dog], (await import('../../src/client')).User.adminUser((fx.admin as any).token, fx.server.url));
  w.write(() => w.create('Dog', { id: 1, name: 'Rex' }));
  await fx.upload(w);
  const notifier = new Notifier({ serverUrl: fx.realmUrl, adminUser: fx.admin, directory: path.join(fx.dir, 'listener') });
  const available: string[] = [];
  const events: ChangeEvent[] = [];
  const seen: any[] = [];
  await notifier.addListener('.*', 'available', (p: string) => void available.push(p));
  await notifier.addListener('/dogs$', 'change', (e: ChangeEvent) => {
    events.push(e);
    seen.push({ changes: JSON.parse(JSON.stringify(e.changes)), names: e.realm.objects<any>('Dog').map((d) => d.name), old: e.oldRealm ? e.oldRealm.objects<any>('Dog').map((d) => d.name) : null });
  });
  expect(available).toContain('/__admin');
  await waitFor(() => events.length >= 1, 10_000, 'first event');
  w.write(() => {
    w.create('Dog', { id: 2, name: 'Fido' });
    w.objectForPrimaryKey<any>('Dog', 1)!.name = 'Rex2';
  });
  await fx.upload(w);
  await waitFor(() => events.length >= 2, 10_000, 'second event');
  expect(seen[0]).toEqual({ changes: { Dog: { insertions: [0], deletions: [], modifications: [], oldModifications: [], newModifications: [] } }, names: ['Rex'], old: null });
  expect(seen[1]).toEqual({ changes: { Dog: { insertions: [1], deletions: [], modifications: [0], oldModifications: [0], newModifications: [0] } }, names: ['Rex2', 'Fido'], old: ['Rex'] });
  await notifier.close();
});
