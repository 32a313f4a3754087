'use strict';
// An app whose own backend signs the users' tokens, and the sync server trusts them (the JWT
// provider; the flow of the ROS tutorial "Use your own authentication"). `backend` stands for the
// app's server: it signs `{ userId }` with the app's private key. The sync server was started with
// that key's public half: tributary serve --jwt-public-key app-public.pem
// The only change from a realm-js program is the `require` line.
const crypto = require('crypto');
const fs = require('fs');
const Realm = require('../../src/index');

const SERVER_URL = process.env.SERVER_URL || 'http://127.0.0.1:9080';
const PRIVATE_KEY = fs.readFileSync(process.env.JWT_PRIVATE_KEY || 'app-private.pem', 'utf8');

/** The app backend: a signed RS256 JWT for one of its users, valid for ten minutes. */
function backendSignIn(appUserId) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ userId: appUserId, iat: now, exp: now + 600 })}`;
  return `${body}.${crypto.sign('sha256', Buffer.from(body), PRIVATE_KEY).toString('base64url')}`;
}

const Message = { name: 'Message', primaryKey: 'id', properties: { id: 'string', text: 'string', sentAt: 'date' } };

async function main() {
  const token = backendSignIn(process.env.APP_USER || 'app-user-7');
  const user = await Realm.Sync.User.login(SERVER_URL, Realm.Sync.Credentials.jwt(token));
  console.log(`logged in as ${user.identity} (admin: ${user.isAdmin})`);
  const realm = await Realm.open({ schema: [Message], sync: { user: user, url: SERVER_URL.replace(/^http/, 'realm') + '/~/inbox' }, path: `jwt-${user.identity}.db` });
  realm.write(() => realm.create('Message', { id: `m${realm.objects('Message').length + 1}`, text: 'hello from the app', sentAt: new Date() }));
  await realm.syncSession.uploadAllLocalChanges();
  console.log(`inbox holds ${realm.objects('Message').length} message(s)`);
  realm.close();

  try {
    await Realm.Sync.User.login(SERVER_URL, Realm.Sync.Credentials.jwt(token.slice(0, -4) + 'AAAA'));
  } catch (e) {
    console.log(`a forged token: ${e.code} (${e instanceof Realm.Sync.AuthError ? 'AuthError' : 'other'})`);
  }
  await user.logout();
  console.log('done');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
