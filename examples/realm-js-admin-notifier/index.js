'use strict';
// An event handler in the style of the Realm Object Server samples (docs.realm.io "Data change
// events"): it logs in as the `realm-admin` user with a password — no admin token — and listens to
// every user's `/private` realm, confirming each new Order. The only change from a realm-js
// program is the `require` line (inside this repository it loads the sources directly).
//
// The admin account is made once on the server: tributary user create realm-admin --admin
const Realm = require('../../src/index');

const SERVER_URL = process.env.SERVER_URL || 'http://127.0.0.1:9080';
const ADMIN_USER = process.env.ADMIN_USER || 'realm-admin';
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD || '';
const NOTIFIER_PATH = '^/([^/]+)/private$';

async function handleChange(changeEvent) {
  const matches = changeEvent.path.match(NOTIFIER_PATH);
  const userId = matches[1];
  const realm = changeEvent.realm;
  const orders = realm.objects('Order');
  const changes = changeEvent.changes.Order;
  if (!changes) return;
  for (const index of changes.insertions) {
    const order = orders[index];
    if (order.status !== 'new') continue;
    realm.write(() => {
      order.status = 'confirmed';
      order.total = order.quantity * order.unitPrice;
    });
    console.log(`confirmed ${order.id} for ${userId}: ${order.total}`);
  }
}

Realm.Sync.User.login(SERVER_URL, ADMIN_USER, ADMIN_PASSWORD)
  .then((adminUser) => {
    if (!adminUser.isAdmin) throw new Error(`${ADMIN_USER} is not an admin`);
    Realm.Sync.setListenerDirectory(process.env.LISTENER_DIR || './realm-object-server-listener');
    return Realm.Sync.addListener(SERVER_URL.replace(/^http/, 'realm'), adminUser, NOTIFIER_PATH, 'change', handleChange);
  })
  .then(() => console.log('listening'))
  .catch((error) => {
    console.error(`could not start: ${error.message}`);
    process.exit(1);
  });

process.on('SIGTERM', () => {
  Realm.Sync.removeAllListeners().then(() => process.exit(0));
});
