'use strict';
// A permissions program in the style of realm-js 2.x with the Realm Object Server: an owner shares
// a realm with one user (read) through user.applyPermissions, with anyone holding a token (write)
// through a permission offer, lists what was granted, and revokes. The only change from a realm-js
// program is the `require` line (inside this repository it loads the sources directly).
const Realm = require('../../src/index');

const SERVER_URL = process.env.SERVER_URL || 'http://127.0.0.1:9080';
const REALM_BASE = SERVER_URL.replace(/^http/, 'realm');
const suffix = process.env.EXAMPLE_SUFFIX || String(Date.now());

const Recipe = {
  name: 'Recipe',
  primaryKey: 'title',
  properties: { title: 'string', minutes: 'int', author: 'string' },
};

function register(name) {
  return Realm.Sync.User.register(SERVER_URL, `${name}-${suffix}`, 'secret');
}

function open(user, url) {
  return Realm.open({ schema: [Recipe], sync: { user: user, url: url, error: () => undefined }, path: `${suffix}-${Math.random().toString(16).slice(2)}.db` });
}

async function main() {
  const chef = await register('chef');
  const guest = await register('guest');
  const helper = await register('helper');
  const bookUrl = `${REALM_BASE}/~/cookbook`;

  const book = await open(chef, bookUrl);
  book.write(() => {
    book.create('Recipe', { title: 'Pancakes', minutes: 20, author: 'chef' }, true);
    book.create('Recipe', { title: 'Soup', minutes: 45, author: 'chef' }, true);
  });
  await book.syncSession.uploadAllLocalChanges();
  const sharedUrl = `${REALM_BASE}/${chef.identity}/cookbook`;

  try {
    await open(guest, sharedUrl);
    console.log('guest opened the cookbook before any grant (unexpected)');
  } catch (e) {
    console.log(`guest before the grant: ${e.code}`);
  }

  await chef.applyPermissions({ userId: guest.identity }, sharedUrl, 'read');
  const guestBook = await open(guest, sharedUrl);
  console.log(`guest reads: ${guestBook.objects('Recipe').sorted('title').map((r) => r.title).join(', ')}`);

  const refused = new Promise((resolve) => guestBook.syncSession.addErrorListener((e) => resolve(e)));
  guestBook.write(() => guestBook.create('Recipe', { title: 'Guest special', minutes: 5, author: 'guest' }));
  console.log(`guest write: ${(await refused).code}`);
  // A refused write stops that session (its local change stays unsynced); the guest reads on through a fresh copy.
  guestBook.close();
  const guestCopy = await open(guest, sharedUrl);

  const token = await chef.offerPermissions(sharedUrl, 'write', new Date(Date.now() + 60 * 60 * 1000));
  const acceptedUrl = await helper.acceptPermissionOffer(token);
  console.log(`helper accepted an offer for ${acceptedUrl === sharedUrl ? 'the cookbook' : acceptedUrl}`);
  const helperBook = await open(helper, acceptedUrl);
  helperBook.write(() => helperBook.create('Recipe', { title: 'Salad', minutes: 10, author: 'helper' }));
  await helperBook.syncSession.uploadAllLocalChanges();
  await book.syncSession.downloadAllServerChanges();
  console.log(`chef sees: ${book.objects('Recipe').sorted('title').map((r) => `${r.title} by ${r.author}`).join(', ')}`);

  const granted = await chef.getGrantedPermissions('otherUser');
  const levels = granted.map((p) => `${p.userId === guest.identity ? 'guest' : p.userId === helper.identity ? 'helper' : p.userId}:${p.mayManage ? 'admin' : p.mayWrite ? 'write' : 'read'}`).sort();
  console.log(`chef granted: ${levels.join(' ')}`);
  const mine = await guest.getGrantedPermissions('currentUser');
  console.log(`guest holds: ${mine.map((p) => (p.path === `/${chef.identity}/cookbook` ? 'the cookbook' : p.path)).join(', ')}`);

  const ended = new Promise((resolve) => guestCopy.syncSession.addErrorListener((e) => resolve(e)));
  await chef.applyPermissions({ userId: guest.identity }, sharedUrl, 'none');
  console.log(`guest after the revocation: ${(await ended).code}`);

  await chef.invalidatePermissionOffer(token);
  try {
    await guest.acceptPermissionOffer(token);
  } catch (e) {
    console.log(`invalidated offer: ${e.code}`);
  }

  for (const r of [book, guestCopy, helperBook]) r.close();
  await Promise.all([chef.logout(), guest.logout(), helper.logout()]);
  console.log('done');
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
