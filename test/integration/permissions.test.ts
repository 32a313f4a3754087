import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Realm, { TributaryError, User } from '../../src/index';
import { readAdminToken, Server, silentLogger } from '../../src/server';

// Realm-level permissions as realm-js programs use them (user.applyPermissions and friends),
// and what a change does to sessions that are already open.

let server: Server;
let dataPath: string;
let clientDir: string;
let base: string;
let n = 0;

const Note = { name: 'Note', primaryKey: 'id', properties: { id: 'int', text: 'string' } };

beforeAll(async () => {
  dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-perm-'));
  clientDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-perm-client-'));
  server = new Server({ dataPath, port: 0, address: '127.0.0.1', logger: silentLogger });
  await server.start();
  base = server.url.replace('http', 'realm');
});
afterEach(async () => {
  for (const u of Object.values(User.all)) await u.logout();
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(dataPath, { recursive: true, force: true });
  fs.rmSync(clientDir, { recursive: true, force: true });
});

const register = (name: string) => User.register(server.url, `${name}-${++n}`, 'pw');

/** What a session reports, as a queue the test can wait on. */
class Errors {
  private readonly waiting: ((e: Error) => void)[] = [];
  readonly seen: Error[] = [];
  readonly push = (e: Error): void => {
    const w = this.waiting.shift();
    if (w) w(e);
    else this.seen.push(e);
  };
  next(): Promise<Error> {
    const e = this.seen.shift();
    return e ? Promise.resolve(e) : new Promise((resolve) => this.waiting.push(resolve));
  }
}

/** Opens `url` as `user`; `errors` collects what the session reports. */
async function open(user: User, url: string, errors = new Errors()): Promise<Realm> {
  return Realm.open({ schema: [Note], sync: { user, url, error: (_s: unknown, e: Error) => errors.push(e) }, path: path.join(clientDir, `${++n}.db`) });
}

const nextError = (errors: Errors) => errors.next();

/** Resolves with the object once `done(object)` holds, checking after every change of its realm. */
function whenObject(realm: Realm, type: string, id: string, done: (o: any) => boolean): Promise<any> {
  return new Promise((resolve) => {
    const check = () => {
      const o = realm.objectForPrimaryKey(type, id);
      if (o && done(o)) {
        realm.removeListener('change', check);
        resolve(o);
      }
    };
    realm.addListener('change', check);
    check();
  });
}

async function ownRealmWithNotes(owner: User, name: string, count = 2): Promise<{ realm: Realm; url: string }> {
  const realm = await open(owner, `${base}/~/${name}`);
  realm.write(() => {
    for (let i = 0; i < count; i++) realm.create('Note', { id: i, text: `note ${i}` });
  });
  await realm.syncSession!.uploadAllLocalChanges();
  return { realm, url: `${base}/${owner.identity}/${name}` };
}

test('read: the grantee reads and follows changes, and its writes are refused with PERMISSION_DENIED', async () => {
  const alice = await register('alice');
  const bob = await register('bob');
  const { realm: mine, url } = await ownRealmWithNotes(alice, 'shared');
  await expect(open(bob, url)).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });

  await alice.applyPermissions({ userId: bob.identity }, url, 'read');
  const errors = new Errors();
  const theirs = await open(bob, url, errors);
  expect(theirs.objects('Note').map((o: any) => o.text)).toEqual(['note 0', 'note 1']);
  mine.write(() => mine.create('Note', { id: 2, text: 'note 2' }));
  await mine.syncSession!.uploadAllLocalChanges();
  await theirs.syncSession!.downloadAllServerChanges();
  expect(theirs.objects('Note').length).toBe(3);

  const refused = nextError(errors);
  theirs.write(() => theirs.create('Note', { id: 99, text: 'sneaky' }));
  expect(await refused).toMatchObject({ code: 'PERMISSION_DENIED' });
  await mine.syncSession!.downloadAllServerChanges();
  expect(mine.objectForPrimaryKey('Note', 99)).toBeUndefined();
  mine.close();
  theirs.close();
});

test('write: the grantee writes; a downgrade to read refuses the next upload of the open session', async () => {
  const alice = await register('alice');
  const bob = await register('bob');
  const { realm: mine, url } = await ownRealmWithNotes(alice, 'team');
  await alice.applyPermissions({ userId: bob.identity }, url, 'write');
  const errors = new Errors();
  const theirs = await open(bob, url, errors);
  theirs.write(() => theirs.create('Note', { id: 10, text: 'from bob' }));
  await theirs.syncSession!.uploadAllLocalChanges();
  await mine.syncSession!.downloadAllServerChanges();
  expect((mine.objectForPrimaryKey('Note', 10) as any).text).toBe('from bob');

  await alice.applyPermissions({ userId: bob.identity }, url, 'read');
  const refused = nextError(errors);
  theirs.write(() => theirs.create('Note', { id: 11, text: 'too late' }));
  expect(await refused).toMatchObject({ code: 'PERMISSION_DENIED' });
  mine.close();
  theirs.close();
});

test('revoking read access ends the open session with PERMISSION_DENIED; binding again is refused', async () => {
  const alice = await register('alice');
  const bob = await register('bob');
  const { realm: mine, url } = await ownRealmWithNotes(alice, 'secret');
  await alice.applyPermissions({ userId: bob.identity }, url, 'read');
  const errors = new Errors();
  const theirs = await open(bob, url, errors);
  const ended = nextError(errors);
  await alice.applyPermissions({ userId: bob.identity }, url, 'none');
  expect(await ended).toMatchObject({ code: 'PERMISSION_DENIED', message: expect.stringContaining('revoked') });
  expect(theirs.syncSession!.state).toBe('inactive');
  await expect(open(bob, url)).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
  mine.close();
  theirs.close();
});

test("'*' grants everyone; getGrantedPermissions shows both sides; only managers may grant", async () => {
  const alice = await register('alice');
  const bob = await register('bob');
  const carol = await register('carol');
  const { realm: mine, url } = await ownRealmWithNotes(alice, 'public', 1);
  await alice.applyPermissions({ userId: '*' }, url, 'read');
  const theirs = await open(carol, url);
  expect(theirs.objects('Note').length).toBe(1);
  theirs.close();

  await expect(bob.applyPermissions({ userId: carol.identity }, url, 'write')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
  await alice.applyPermissions({ userId: bob.identity }, url, 'admin');
  await bob.applyPermissions({ userId: carol.identity }, url, 'write');

  const granted = await carol.getGrantedPermissions('currentUser');
  expect(granted.map((p: any) => [p.path, p.userId, p.mayRead, p.mayWrite, p.mayManage])).toEqual([[`/${alice.identity}/public`, carol.identity, true, true, false]]);
  const given = await alice.getGrantedPermissions('otherUser');
  expect(given.map((p: any) => p.userId).sort()).toEqual(['*', bob.identity, carol.identity].sort());
  // Live: a later change shows in the same Results.
  await alice.applyPermissions({ userId: carol.identity }, url, 'none');
  await new Promise<void>((resolve) => {
    const check = () => given.length === 2 && resolve();
    given.addListener(check);
    check();
  });
  expect(given.map((p: any) => p.userId).sort()).toEqual(['*', bob.identity].sort());
  await expect(alice.applyPermissions({ metadataKey: 'team', metadataValue: 'x' }, url, 'read')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  await expect(alice.applyPermissions({ userId: 'f'.repeat(32) }, url, 'read')).rejects.toMatchObject({ code: 'NO_SUCH_USER' });
  await expect(alice.applyPermissions({ userId: bob.identity }, `${base}/__admin`, 'read')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
  mine.close();
});

test('offers: accept gives access; an invalidated or expired offer is INVALID_OFFER; only the creator invalidates', async () => {
  const alice = await register('alice');
  const bob = await register('bob');
  const carol = await register('carol');
  const { realm: mine, url } = await ownRealmWithNotes(alice, 'offered', 1);
  const token = await alice.offerPermissions(url, 'write');
  expect(await bob.acceptPermissionOffer(token)).toBe(url);
  const theirs = await open(bob, url);
  theirs.write(() => theirs.create('Note', { id: 5, text: 'via offer' }));
  await theirs.syncSession!.uploadAllLocalChanges();
  theirs.close();

  await expect(carol.invalidatePermissionOffer(token)).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
  await alice.invalidatePermissionOffer(token);
  await expect(carol.acceptPermissionOffer(token)).rejects.toMatchObject({ code: 'INVALID_OFFER' });

  const expiring = await alice.offerPermissions(url, 'read', Date.now() + 150);
  await new Promise((r) => setTimeout(r, 200)); // the offer's own expiry time passing is what is tested
  await expect(carol.acceptPermissionOffer(expiring)).rejects.toMatchObject({ code: 'INVALID_OFFER' });
  await expect(alice.offerPermissions(url, 'read', Date.now() - 1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  await expect(bob.offerPermissions(url, 'read')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
  mine.close();
});

test('the management realm of realm-js 2.x: PermissionChange, PermissionOffer and PermissionOfferResponse are answered', async () => {
  const alice = await register('alice');
  const bob = await register('bob');
  const { realm: mine, url } = await ownRealmWithNotes(alice, 'managed', 1);
  const management = alice.openManagementRealm();
  const answered = (type: string, id: string) => whenObject(management, type, id, (o) => o.statusCode !== null);
  management.write(() => management.create('PermissionChange', { id: 'c1', userId: bob.identity, realmUrl: url, mayRead: true, mayWrite: true }));
  expect(await answered('PermissionChange', 'c1')).toMatchObject({ statusCode: 0 });
  const theirs = await open(bob, url);
  theirs.close();

  management.write(() => management.create('PermissionChange', { id: 'c2', userId: bob.identity, realmUrl: `${base}/someone-else/x`, mayRead: true }));
  const refused = await answered('PermissionChange', 'c2');
  expect(refused.statusCode).toBe(403);
  expect(refused.statusMessage).toMatch(/^PERMISSION_DENIED: you may not manage \/someone-else\/x$/);

  management.write(() => management.create('PermissionOffer', { id: 'o1', realmUrl: url, mayRead: true }));
  const offer = await answered('PermissionOffer', 'o1');
  expect([offer.statusCode, typeof offer.token]).toEqual([0, 'string']);
  const bobManagement = bob.openManagementRealm();
  bobManagement.write(() => bobManagement.create('PermissionOfferResponse', { id: 'r1', token: offer.token }));
  const response = await whenObject(bobManagement, 'PermissionOfferResponse', 'r1', (o) => o.statusCode !== null);
  expect([response.statusCode, response.realmUrl]).toEqual([0, `/${alice.identity}/managed`]);
  management.close();
  bobManagement.close();
  mine.close();
});

test('grants appear in /__admin as Permission objects (the ROS layout)', async () => {
  const alice = await register('alice');
  const bob = await register('bob');
  const { realm: mine, url } = await ownRealmWithNotes(alice, 'listed', 1);
  await alice.applyPermissions({ userId: bob.identity }, url, 'write');
  const admin = User.adminUser(readAdminToken(dataPath), server.url);
  const adminRealm = await Realm.open({ sync: { user: admin, url: `${base}/__admin` }, path: path.join(clientDir, `admin-${++n}.db`) });
  const p: any = adminRealm.objects('Permission').filtered('path == $0 AND userId == $1', `/${alice.identity}/listed`, bob.identity)[0];
  expect([p.mayRead, p.mayWrite, p.mayManage, p.user.userId, p.realmFile.path, p.realmFile.owner.userId]).toEqual([true, true, false, bob.identity, `/${alice.identity}/listed`, alice.identity]);
  expect(adminRealm.objects('RealmFile').filtered('owner.userId == $0', alice.identity).length).toBeGreaterThan(0);
  adminRealm.close();
  mine.close();
  expect(TributaryError).toBeDefined();
});

test('§20 and §11 of the usage corpus: an admin logged in by password queries /__admin by account', async () => {
  const res = await fetch(`${server.url}/admin/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${readAdminToken(dataPath)}` },
    body: JSON.stringify({ username: `realm-admin-${++n}`, password: 'pw', isAdmin: true }),
  });
  const adminName = ((await res.json()) as { user: { username: string } }).user.username;
  const target = await register('searched');
  const admin = (await User.login(server.url, Realm.Sync.Credentials.usernamePassword(adminName, 'pw'))) as User;
  expect(admin.isAdmin).toBe(true);
  const realm = await Realm.open({ sync: { user: admin, url: `${base}/__admin`, fullSynchronization: true }, path: path.join(clientDir, `corpus-${++n}.db`) });
  const targetName = await adminSeesName(target);
  // As §20 wrote it: a single '=', a quoted literal, a key path through a list.
  const users = realm.objects('User').filtered(`accounts.providerId = '${targetName}'`);
  expect(users.isEmpty()).toBe(false);
  expect((users[0] as any).userId).toBe(target.identity);
  const account: any = realm.objects('Account').filtered('provider_id CONTAINS[c] $0', 'SEARCHED')[0];
  expect(account.user.accounts.filtered('provider_id CONTAINS[c] $0', 'searched').length).toBe(1);
  realm.close();
});

async function adminSeesName(user: User): Promise<string> {
  const res = await fetch(`${server.url}/admin/users/${user.identity}`, { headers: { authorization: `Bearer ${readAdminToken(dataPath)}` } });
  return ((await res.json()) as { user: { username: string } }).user.username;
}
