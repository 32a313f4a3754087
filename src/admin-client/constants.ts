/** The system realm the server lists every realm in (kept in sync with src/server/admin-realm.ts). */
export const ADMIN_REALM_PATH = '/__admin';
