import { TributaryError } from '../errors';
import { Realm, type Results } from '../realm';
import type { RealmObject } from '../realm';
import { parseRealmUrl } from '../store';

/**
 * The realm-js permission API of a user (realm-js 2.x/3.x `user.applyPermissions` and friends),
 * over the server's `/permissions` routes, plus the two realms of the 2.x object API:
 * `/~/__permission` (read by {@link getGrantedPermissions}) and `/~/__management` (realm-js
 * `openManagementRealm`, where PermissionChange / PermissionOffer / PermissionOfferResponse
 * objects are answered by the server).
 */

/** What these functions need from a User (src/client/user.ts). */
export interface PermissionUser {
  readonly identity: string;
  readonly server: string;
  request(method: 'GET' | 'POST' | 'DELETE', route: string, body?: Record<string, unknown>): Promise<Record<string, unknown>>;
}

export type AccessLevel = 'none' | 'read' | 'write' | 'admin';
export type PermissionCondition = { userId: string } | { metadataKey: string; metadataValue: string };

/** realm-js 2.x's management-realm schema (lib/management-schema.js), so programs may write these objects. */
export const MANAGEMENT_SCHEMA = [
  {
    name: 'PermissionChange',
    primaryKey: 'id',
    properties: {
      id: 'string',
      createdAt: { type: 'date', default: new Date() },
      updatedAt: { type: 'date', default: new Date() },
      statusCode: 'int?',
      statusMessage: 'string?',
      userId: 'string',
      metadataKey: 'string?',
      metadataValue: 'string?',
      metadataNameSpace: 'string?',
      realmUrl: 'string',
      mayRead: 'bool?',
      mayWrite: 'bool?',
      mayManage: 'bool?',
    },
  },
  {
    name: 'PermissionOffer',
    primaryKey: 'id',
    properties: {
      id: 'string',
      createdAt: { type: 'date', default: new Date() },
      updatedAt: { type: 'date', default: new Date() },
      statusCode: 'int?',
      statusMessage: 'string?',
      token: 'string?',
      realmUrl: 'string',
      mayRead: { type: 'bool', default: false },
      mayWrite: { type: 'bool', default: false },
      mayManage: { type: 'bool', default: false },
      expiresAt: 'date?',
    },
  },
  {
    name: 'PermissionOfferResponse',
    primaryKey: 'id',
    properties: {
      id: 'string',
      createdAt: { type: 'date', default: new Date() },
      updatedAt: { type: 'date', default: new Date() },
      statusCode: 'int?',
      statusMessage: 'string?',
      token: 'string',
      realmUrl: 'string?',
    },
  },
] as const;

/** realm-js 2.x's permission-realm schema (each user's `/~/__permission`, written by the server). */
export const PERMISSION_SCHEMA = [
  { name: 'Permission', properties: { userId: 'string', path: 'string', mayRead: 'bool', mayWrite: 'bool', mayManage: 'bool', updatedAt: 'date' } },
] as const;

function levelOf(accessLevel: unknown): string {
  if (accessLevel === 'none' || accessLevel === 'read' || accessLevel === 'write' || accessLevel === 'admin' || accessLevel === 'manage') return accessLevel;
  throw new TributaryError('INVALID_ARGUMENT', `accessLevel must be 'none', 'read', 'write' or 'admin', not ${JSON.stringify(accessLevel)}`);
}

function realmPathOf(realmUrl: unknown): string {
  if (typeof realmUrl !== 'string' || realmUrl.length === 0) throw new TributaryError('INVALID_ARGUMENT', 'realmUrl must be a string such as realm://host:9080/~/tasks or /~/tasks');
  return realmUrl.startsWith('/') ? realmUrl : parseRealmUrl(realmUrl).path;
}

/** `user.applyPermissions(condition, realmUrl, accessLevel)`: sets a user's (or `*`'s) access to a realm. */
export async function applyPermissions(user: PermissionUser, condition: PermissionCondition, realmUrl: string, accessLevel: AccessLevel): Promise<void> {
  if (!condition || typeof condition !== 'object') throw new TributaryError('INVALID_ARGUMENT', "condition must be { userId } ('*' for everyone) or { metadataKey, metadataValue }");
  await user.request('POST', '/permissions/apply', { condition: { ...condition }, realmPath: realmPathOf(realmUrl), accessLevel: levelOf(accessLevel) });
}

/**
 * `user.getGrantedPermissions(recipient)`: the live Permission objects of the user's permission
 * realm — `currentUser`: granted to this user; `otherUser`: granted by this user to others; `any`.
 */
export async function getGrantedPermissions(user: PermissionUser & { createConfiguration(c: object): object }, recipient: 'any' | 'currentUser' | 'otherUser' = 'any'): Promise<Results<RealmObject>> {
  if (recipient !== 'any' && recipient !== 'currentUser' && recipient !== 'otherUser') throw new TributaryError('INVALID_ARGUMENT', "recipient must be 'any', 'currentUser' or 'otherUser'");
  const realm = await Realm.open(user.createConfiguration({ schema: PERMISSION_SCHEMA as never, sync: { url: systemRealmUrl(user, '__permission') } }) as never);
  let results = realm.objects('Permission').filtered("NOT path ENDSWITH '__permission' AND NOT path ENDSWITH '__management'");
  if (recipient === 'currentUser') results = results.filtered('userId == $0 OR userId == "*"', user.identity);
  else if (recipient === 'otherUser') results = results.filtered('userId != $0', user.identity);
  return results;
}

/** `user.offerPermissions(realmUrl, accessLevel, expiresAt?)`: a token that gives `accessLevel` to whoever accepts it. */
export async function offerPermissions(user: PermissionUser, realmUrl: string, accessLevel: AccessLevel, expiresAt?: Date | number | null): Promise<string> {
  const level = levelOf(accessLevel);
  if (level === 'none') throw new TributaryError('INVALID_ARGUMENT', 'an offer must give read, write or admin access');
  const res = await user.request('POST', '/permissions/offers', {
    realmPath: realmPathOf(realmUrl),
    accessLevel: level,
    ...(expiresAt === undefined || expiresAt === null ? {} : { expiresAt: new Date(expiresAt).toISOString() }),
  });
  return String(res.token);
}

/** `user.acceptPermissionOffer(token)`: resolves to the URL of the realm now accessible. */
export async function acceptPermissionOffer(user: PermissionUser, token: string): Promise<string> {
  if (typeof token !== 'string' || token.length === 0) throw new TributaryError('INVALID_ARGUMENT', 'acceptPermissionOffer expects the offer token');
  const res = await user.request('POST', `/permissions/offers/${encodeURIComponent(token)}/accept`);
  return `${user.server.replace(/^http/, 'realm')}${(res.permission as { path: string }).path}`;
}

/** `user.invalidatePermissionOffer(offerOrToken)`: the offer can no longer be accepted. */
export async function invalidatePermissionOffer(user: PermissionUser, offerOrToken: string | { token?: string | null }): Promise<void> {
  const token = typeof offerOrToken === 'string' ? offerOrToken : offerOrToken?.token;
  if (typeof token !== 'string' || token.length === 0) throw new TributaryError('INVALID_ARGUMENT', 'invalidatePermissionOffer expects an offer token (or a PermissionOffer with one)');
  await user.request('DELETE', `/permissions/offers/${encodeURIComponent(token)}`);
}

/** `user.openManagementRealm()`: the user's `/~/__management` realm with realm-js's management schema. */
export function openManagementRealm(user: PermissionUser & { createConfiguration(c: object): object }): Realm {
  return new Realm(user.createConfiguration({ schema: MANAGEMENT_SCHEMA as never, sync: { url: systemRealmUrl(user, '__management') } }) as never);
}

function systemRealmUrl(user: PermissionUser, name: string): string {
  return `${user.server.replace(/^http/, 'realm')}/~/${name}`;
}
