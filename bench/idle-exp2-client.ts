import { RawSyncClient } from '../test/helpers/server-process';
async function main() {
  const [port, token, nText] = process.argv.slice(2);
  const n = Number(nText);
  const clients: RawSyncClient[] = [];
  await Promise.all(Array.from({ length: n }, async (_, i) => {
    const c = await RawSyncClient.connect(`ws://127.0.0.1:${port}/sync`, token!);
    c.send({ type: 'BIND', session: 1, path: `/idle/r${i}`, needIdent: true });
    const ident = await c.nextOf('IDENT', 1, 60000);
    c.send({ type: 'IDENT', session: 1, fileIdent: ident.fileIdent, fileSalt: ident.fileSalt, serverVersion: 0, lastIntegratedClientVersion: 0, latestServerVersion: 0, latestServerVersionSalt: 0 });
    await c.nextOf('DOWNLOAD', 1, 60000);
    clients.push(c);
  }));
  process.stdout.write('ready\n');
  setInterval(() => {}, 100000);
}
main();
