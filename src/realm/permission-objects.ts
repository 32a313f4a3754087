import { TributaryError } from '../errors';
import { normalizeSchema } from '../model';
import type { RealmContext } from './context';
import { RealmObject } from './object';
import { objectInternals } from './object-internals';
import { schemaInstructions } from './schema-sync';

/**
 * `Realm.Permissions` of realm-js 2.x/3.x (query-based sync): the `__Role`, `__User`,
 * `__Permission`, `__Class` and `__Realm` object types, `findOrCreate(roleName)`, and
 * `realm.permissions(className?)`. Programs can create roles and permissions and read them back:
 * the objects are ordinary synced objects. Tributary does not enforce them — its access control
 * is realm-level (user.applyPermissions, docs/api.md) — and says so in docs/api.md.
 */

function ctxOf(obj: unknown): RealmContext {
  const i = objectInternals(obj);
  if (!i) throw new TributaryError('INVALID_STATE', 'not a live Realm object');
  return i.ctx;
}

export class Role extends RealmObject {
  static schema = { name: '__Role', primaryKey: 'name', properties: { name: 'string', members: '__User[]' } };
}

export class PermissionUser extends RealmObject {
  static schema = { name: '__User', primaryKey: 'id', properties: { id: 'string', role: '__Role' } };
}

export class Permission extends RealmObject {
  static schema = {
    name: '__Permission',
    properties: {
      role: '__Role',
      canRead: { type: 'bool', default: false },
      canUpdate: { type: 'bool', default: false },
      canDelete: { type: 'bool', default: false },
      canSetPermissions: { type: 'bool', default: false },
      canQuery: { type: 'bool', default: false },
      canCreate: { type: 'bool', default: false },
      canModifySchema: { type: 'bool', default: false },
    },
  };
}

/** `findOrCreate(roleName)` of `__Class` and `__Realm`: the permission of that role in `permissions`, added (with the role) when missing. Inside a write. */
function findOrCreate(holder: { permissions: Iterable<{ role: { name: string } | null }> & { push(v: unknown): number } }, roleName: string): unknown {
  if (typeof roleName !== 'string' || roleName.length === 0) throw new TributaryError('INVALID_ARGUMENT', 'findOrCreate expects a role name');
  for (const p of holder.permissions) if (p.role?.name === roleName) return p;
  const ctx = ctxOf(holder);
  ctx.requireWrite();
  const role = ctx.record('__Role', roleName) ? ctx.object('__Role', roleName) : ctx.object('__Role', ctx.create('__Role', { name: roleName }, 'never'));
  const permission = ctx.object('__Permission', ctx.create('__Permission', { role }, 'never'));
  holder.permissions.push(permission);
  return permission;
}

export class PermissionClass extends RealmObject {
  static schema = { name: '__Class', primaryKey: 'name', properties: { name: 'string', permissions: '__Permission[]' } };
  findOrCreate(roleName: string): Permission {
    return findOrCreate(this as never, roleName) as Permission;
  }
}

export class PermissionRealm extends RealmObject {
  static schema = { name: '__Realm', primaryKey: 'id', properties: { id: 'int', permissions: '__Permission[]' } };
  findOrCreate(roleName: string): Permission {
    return findOrCreate(this as never, roleName) as Permission;
  }
}

/** `Realm.Permissions`. */
export const Permissions = { Permission, Role, User: PermissionUser, Class: PermissionClass, Realm: PermissionRealm };

export const PERMISSION_CLASSES = [Role, PermissionUser, Permission, PermissionClass, PermissionRealm];

/**
 * realm-js `realm.permissions(className?)`: the `__Realm` object (id 0), or the `__Class` object of
 * a class. Created with the permission types when missing — inside the open write, else in one of
 * its own.
 */
export function permissionsObject(ctx: RealmContext, write: (fn: () => void) => void, inWrite: boolean, className?: string): unknown {
  if (className !== undefined && typeof className !== 'string') throw new TributaryError('INVALID_ARGUMENT', 'permissions(className?) expects a class name');
  const type = className === undefined ? '__Realm' : '__Class';
  const key = className === undefined ? 0 : className;
  const exists = () => {
    try {
      return !!ctx.record(type, key);
    } catch {
      return false;
    }
  };
  if (!exists()) {
    const create = () => {
      const missing = schemaInstructions(normalizeSchema(PERMISSION_CLASSES.map((c) => c.schema) as never), (t) => ctx.replica.getSchema(t));
      if (missing.length > 0) ctx.emit(missing);
      if (!exists()) ctx.create(type, className === undefined ? { id: 0 } : { name: className }, 'never');
    };
    if (inWrite) create();
    else write(create);
  }
  return ctx.object(type, key);
}
