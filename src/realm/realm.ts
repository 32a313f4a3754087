import type { Instruction, ObjectRecord, StateStore } from '../changeset';
import { TributaryError } from '../errors';
import {
  coercePrimitive,
  isPrimitiveType,
  normalizeSchema,
  parseKeyString,
  SchemaError,
  type ObjectKey,
  type ObjectSchema,
  type ObjectSchemaInput,
  type PrimitiveType,
  type Value,
} from '../model';
import { silentLogger, type Logger } from '../shared/logger';
import { LocalWrite, Replica, defaultReplicaPath, parseRealmUrl, type Durability, type ReplicaHandle } from '../store';
import type { RealmContext, UpdateMode } from './context';
import { createObject, linkKeyFor, updateMode } from './create';
import { List } from './list';
import { Notifications, type RealmEventName, type RealmListener } from './notifications';
import { RealmObject, makeObject } from './object';
import { objectInternals } from './object-internals';
import { acquireReplica, releaseReplica, type SharedReplica } from './registry';
import { deleteRealmFile, getDefaultPath, schemaVersionOf, schemaVersionStep, setDefaultPath } from './realm-files';
import { PERMISSION_CLASSES, Permissions, permissionsObject } from './permission-objects';
import type { Subscription } from './subscription';
import { Results } from './results';
import { mergeSchema, schemaInstructions } from './schema-sync';
import { schemaView, type RealmSchemaView } from './schema-view';
import type { SyncConfiguration, SyncSessionHandle } from './sync-types';

/** realm-js's ProgressPromise: the promise of Realm.open with `progress(callback)` and `cancel()`. */
export interface ProgressPromise<T> extends Promise<T> {
  progress(callback: (transferred: number, transferable: number) => void): ProgressPromise<T>;
  cancel(): void;
}

function progressPromise(promise: Promise<Realm>, realm: Realm | null): ProgressPromise<Realm> {
  const p = promise as ProgressPromise<Realm>;
  p.progress = (callback) => {
    if (typeof callback !== 'function') throw new TributaryError('INVALID_ARGUMENT', 'progress expects a function (transferred, transferable)');
    const session = realm?.syncSession;
    if (session?.addProgressNotification) {
      // Until the open settles: the download it waits for is what the callback follows.
      session.addProgressNotification('download', 'reportIndefinitely', callback);
      const stop = () => session.removeProgressNotification?.(callback);
      promise.then(stop, stop);
    }
    return p;
  };
  p.cancel = () => {
    if (realm && !realm.isClosed) realm.close();
  };
  return p;
}

/** Realm.open's private configuration flag: write the configured schema after the first download. */
const DEFER_SCHEMA = Symbol('deferSchema');

/** A Realm.Object subclass declaring its schema: `class Dog extends Realm.Object { static schema = {…} }`. */
export type RealmObjectClass = (abstract new (...args: any[]) => unknown) & { schema: ObjectSchemaInput };

export interface RealmConfiguration {
  /** Object schemas (realm-js forms) or Realm.Object subclasses; omit it to use the synced schema. */
  schema?: ReadonlyArray<ObjectSchemaInput | ObjectSchema | { schema: ObjectSchemaInput } | RealmObjectClass>;
  /** Local file; default `./tributary-data/<host_port>/<identity>/<realm path>.db` for synced realms. */
  path?: string;
  /** A throw-away replica in memory (local realms only). */
  inMemory?: boolean;
  sync?: SyncConfiguration;
  /**
   * realm-js schema version of a local realm: opening a file with an older one runs `migration`
   * and records the new version; a newer one in the file is SCHEMA_INVALID. Synced realms keep
   * the value but never migrate (their schema changes are additive and merge between clients).
   */
  schemaVersion?: number;
  /**
   * realm-js `migration(oldRealm, newRealm)`, run inside a write transaction of `newRealm` when a
   * local file's schema version is older than `schemaVersion`, after the configured schema was
   * added. Schema changes are additive, so `oldRealm` reads the same objects (old properties
   * included); write the new properties through `newRealm`.
   */
  migration?: (oldRealm: Realm, newRealm: Realm) => void;
  /**
   * What a committed write survives: `'normal'` (default) a crash or kill of the process; `'full'`
   * also a power loss (one fsync per write). See docs/client.md, "Durability".
   */
  durability?: Durability;
  /**
   * How long (ms) downloaded changes may wait to be committed together (default 5; 0: each
   * download commits at once). They are visible at once either way; a process crash may take back
   * the last few ms of them, and they are downloaded again. See docs/client.md, "Durability".
   */
  downloadCommitDelayMs?: number;
  /**
   * Where this realm reports what it cannot throw to a caller: an exception from a change
   * listener (caught, so the other listeners still run and the commit stands) is logged at error
   * level with the error. Default: dropped (Tributary never writes to the console itself; pass
   * `console` or a structured logger to see them).
   */
  log?: Pick<Logger, 'error'>;
}

/** How long Realm.open waits for the server by default (SyncConfiguration.openTimeoutMs). */
export const DEFAULT_OPEN_TIMEOUT_MS = 30_000;

/**
 * A realm: a Realm-compatible object API over a local replica, synchronised with a server when
 * `sync` is configured.
 *
 * @example
 * const realm = await Realm.open({ schema: [Dog], sync: { user, url: 'realm://localhost:9080/~/dogs' } });
 * realm.write(() => realm.create('Dog', { id: 1, name: 'Rex' }));
 * await realm.syncSession!.uploadAllLocalChanges();
 */
export class Realm {
  static readonly Object = RealmObject;
  static readonly List = List;
  static readonly Results = Results;
  /** realm-js `Realm.Permissions` (query-based-sync object permissions; stored, not enforced: docs/api.md). */
  static readonly Permissions = Permissions;

  /**
   * Opens a realm and, when synced, resolves after everything on the server was downloaded. As in
   * realm-js, the configured schema is written only after that download, and only what the server
   * lacks: a realm the user may only read opens without a schema write the server would refuse.
   * The promise has realm-js's `progress(callback(transferred, transferable))` for the download
   * and `cancel()`.
   *
   * @example
   * const realm = await Realm.open(config).progress((done, total) => console.log(`${done}/${total}`));
   */
  static open(config: RealmConfiguration): ProgressPromise<Realm> {
    let realm: Realm;
    try {
      realm = new this({ ...config, [DEFER_SCHEMA]: !!config?.sync } as RealmConfiguration);
    } catch (e) {
      return progressPromise(Promise.reject(e), null);
    }
    const opened = (async () => {
      try {
        const session = realm.syncSession;
        if (session) {
          const timeoutMs = config.sync?.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
          try {
            await session.downloadAllServerChanges(timeoutMs);
          } catch (e) {
            if (!(e instanceof TributaryError) || e.code !== 'TIMEOUT') throw e;
            const why = session.lastConnectionError ? ` (last attempt: ${session.lastConnectionError})` : session.connectionState === 'connected' ? ' (connected, but the download did not finish)' : '';
            throw new TributaryError('TIMEOUT', `Realm.open: ${session.url} did not answer within ${timeoutMs} ms${why}; new Realm(config) opens the local copy without waiting`, { cause: e });
          }
          realm.writeConfiguredSchema();
        }
        return realm;
      } catch (e) {
        realm.close();
        throw e;
      }
    })();
    return progressPromise(opened, realm);
  }

  /** realm-js 1.x `Realm.openAsync(config, callback(error, realm), progressCallback?)`. */
  static openAsync(config: RealmConfiguration, callback: (error: Error | null, realm?: Realm) => void, progressCallback?: (transferred: number, transferable: number) => void): void {
    if (typeof callback !== 'function') throw new TributaryError('INVALID_ARGUMENT', 'openAsync expects a callback (error, realm)');
    const p = this.open(config);
    if (progressCallback) p.progress(progressCallback);
    p.then(
      (r) => callback(null, r),
      (e: Error) => callback(e),
    );
  }

  /** realm-js: the file of a local realm opened without `path` (absolute). */
  static get defaultPath(): string {
    return getDefaultPath();
  }
  static set defaultPath(path: string) {
    setDefaultPath(path);
  }

  /** realm-js: the schema version recorded in a realm file, -1 when there is no file. */
  static schemaVersion(path: string): number {
    return schemaVersionOf(path);
  }

  /** realm-js: deletes a realm's file (INVALID_STATE while it is open in this process). */
  static deleteFile(config: RealmConfiguration): void {
    deleteRealmFile(config);
  }

  readonly path: string;
  private readonly shared: SharedReplica;
  private readonly configured: ObjectSchema[];
  private readonly configuredByName = new Map<string, ObjectSchema>();
  private write_: LocalWrite | null = null;
  private closed_ = false;
  private schemaCacheAt = -1;
  private readonly mergedSchemas = new Map<string, ObjectSchema>();
  private readonly ctx: RealmContext;
  private readonly notifications: Notifications;
  /** Prototypes of objects of types declared with a Realm.Object subclass. */
  private readonly prototypes = new Map<string, object>();
  private readonly schemaVersion_: number;

  constructor(config: RealmConfiguration = {}) {
    if (config === null || typeof config !== 'object') throw new TributaryError('INVALID_ARGUMENT', 'new Realm(config) expects a configuration object');
    this.schemaVersion_ = config.schemaVersion ?? 0;
    try {
      this.configured = normalizeSchema((config.schema ?? []) as Parameters<typeof normalizeSchema>[0]);
    } catch (e) {
      if (e instanceof SchemaError) throw new TributaryError('SCHEMA_INVALID', e.message, { cause: e });
      throw e;
    }
    for (const s of this.configured) this.configuredByName.set(s.name, s);
    for (const c of PERMISSION_CLASSES) this.prototypes.set(c.schema.name, c.prototype as object);
    for (const entry of config.schema ?? []) {
      if (typeof entry === 'function' && entry.prototype) this.prototypes.set((entry as RealmObjectClass).schema.name, entry.prototype as object);
    }
    const sync = config.sync;
    let path: string;
    if (config.inMemory) {
      if (sync) throw new TributaryError('CONFIG_INVALID', 'an in-memory realm cannot be synced');
      path = ':memory:';
    } else if (config.path) path = config.path;
    else if (sync) path = defaultReplicaPath(parseRealmUrl(sync.url), sync.user.identity, sync.directory);
    else path = getDefaultPath();
    this.path = path;
    if (config.durability !== undefined && config.durability !== 'normal' && config.durability !== 'full') {
      throw new TributaryError('INVALID_ARGUMENT', `durability must be 'normal' or 'full', not ${String(config.durability)}`);
    }
    const delay = config.downloadCommitDelayMs;
    if (delay !== undefined && !(Number.isFinite(delay) && delay >= 0 && delay <= 60_000)) {
      throw new TributaryError('INVALID_ARGUMENT', `downloadCommitDelayMs must be a number of ms from 0 to 60000, not ${String(delay)}`);
    }
    this.shared = acquireReplica(path, (p) => Replica.open({ path: p, durability: config.durability, downloadCommitDelayMs: delay }));
    this.notifications = new Notifications(
      this.shared.tracker,
      this,
      (type, key) => {
        try {
          return !!this.replica.getObject(type, parseKeyString(key));
        } catch {
          return false;
        }
      },
      config.log ?? silentLogger,
    );
    this.ctx = this.makeContext();
    try {
      if (sync) {
        const location = parseRealmUrl(sync.url);
        this.replica.bind({ serverUrl: location.syncUrl, realmPath: location.path, userIdentity: sync.user.identity });
      }
      if (!(config as { [DEFER_SCHEMA]?: boolean })[DEFER_SCHEMA]) this.writeConfiguredSchema();
      if (!sync) this.applySchemaVersion(config);
      if (sync && !this.shared.session) {
        this.shared.session = sync.user.openSyncSession({ replica: this.replica, url: sync.url, log: config.log });
      }
      if (sync?.error) {
        const session = this.shared.session!;
        const cb = sync.error;
        session.addErrorListener((e) => cb(session, e));
      }
    } catch (e) {
      releaseReplica(this.shared);
      this.closed_ = true;
      throw e;
    }
  }

  private get replica(): ReplicaHandle {
    return this.shared.replica;
  }

  /** The schema-version step of a local realm (realm-files.ts): record it, or migrate to it. */
  private applySchemaVersion(config: RealmConfiguration): void {
    const step = schemaVersionStep(this.replica.schemaVersion, config.schemaVersion, this.path);
    if (step === 'none') return;
    if (step === 'migrate' && typeof config.migration === 'function') {
      const oldRealm = new Realm({ path: this.path });
      try {
        this.write(() => config.migration!(oldRealm, this));
      } finally {
        oldRealm.close();
      }
    }
    this.replica.setSchemaVersion(config.schemaVersion!);
  }

  /** Adds to the replica what the configured schema has and it lacks (one local changeset). */
  private writeConfiguredSchema(): void {
    const schemaChanges = schemaInstructions(this.configured, (t) => this.replica.getSchema(t));
    if (schemaChanges.length > 0) this.replica.write((w) => w.apply(schemaChanges));
  }

  private makeContext(): RealmContext {
    const replica = this.shared.replica;
    const readOnly = (): never => {
      throw new TributaryError('READ_ONLY', 'the query view of a realm is read-only');
    };
    const store: StateStore = {
      getSchema: (type) => (this.hasType(type) ? this.objectSchemaOf(type) : undefined),
      schemas: () => this.schemaNames().map((n) => this.objectSchemaOf(n)),
      getObject: (type, id) => replica.getObject(type, id),
      objects: (type) => replica.objects(type),
      putSchema: readOnly,
      putObject: readOnly,
      deleteObject: readOnly,
    };
    return {
      replica,
      store,
      notifications: this.notifications,
      objectSchema: (type) => this.objectSchemaOf(type),
      record: (type, id) => {
        this.checkOpen();
        return this.replica.getObject(type, id);
      },
      object: (type, id) => makeObject(this.ctx, type, id, this.prototypes.get(type)),
      requireWrite: () => this.requireWrite(),
      emit: (instructions) => this.emit(instructions),
      linkKey: (targetType, value, mode, where) => linkKeyFor(this.ctx, targetType, value, mode, where),
      primitive: (type, optional, value, where) => {
        if (!isPrimitiveType(type)) throw new TributaryError('INVALID_ARGUMENT', `${where}: ${type} is not a primitive type`);
        try {
          return coercePrimitive(type as PrimitiveType, optional, value, where);
        } catch (e) {
          throw new TributaryError('INVALID_ARGUMENT', (e as Error).message, { cause: e });
        }
      },
      checkOpen: () => this.checkOpen(),
      create: (type, values, mode) => createObject(this.ctx, type, values, mode),
      syncSession: () => this.syncSession,
      subscriptions: this.subscriptionsByName,
    };
  }

  private readonly subscriptionsByName = new Map<string, Subscription>();

  /** realm-js 3.x: the named query-based-sync subscriptions of this Realm (`name` may hold `*` and `?` wildcards). */
  subscriptions(name?: string): Subscription[] {
    const all = [...this.subscriptionsByName.values()];
    if (name === undefined) return all;
    const re = new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    return all.filter((s) => re.test(s.name));
  }

  /** realm-js 3.x: removes the named subscription. */
  unsubscribe(name: string): void {
    this.subscriptionsByName.get(name)?.unsubscribe();
  }

  /**
   * realm-js query-based sync: the realm's permission object (`__Realm`), or a class's (`__Class`),
   * created when missing (see src/realm/permission-objects.ts).
   */
  permissions(className?: string): unknown {
    this.checkOpen();
    return permissionsObject(this.ctx, (fn) => this.write(fn), this.isInTransaction, className);
  }

  // ---- state ---------------------------------------------------------------------------------

  get isClosed(): boolean {
    return this.closed_ || this.replica.isClosed;
  }

  get isInTransaction(): boolean {
    return this.write_ !== null && this.write_.isOpen;
  }

  /**
   * The realm's object schemas in realm-js form (`[{ name, primaryKey, properties: { p: { type,
   * objectType, optional, indexed } } }]`): the configured types (with local defaults and
   * backlinks) plus types other clients added.
   */
  get schema(): RealmSchemaView[] {
    this.checkOpen();
    return this.schemaNames().map((n) => schemaView(this.objectSchemaOf(n)));
  }

  private schemaNames(): string[] {
    return [...new Set([...this.configured.map((s) => s.name), ...this.replica.schemas().map((s) => s.name)])];
  }

  private hasType(type: string): boolean {
    return this.configuredByName.has(type) || !!this.replica.getSchema(type);
  }

  /** Accepted for compatibility (schema changes are additive): the configured value, or 0. */
  get schemaVersion(): number {
    return this.schemaVersion_;
  }

  /** True when the realm holds no objects. */
  get empty(): boolean {
    this.checkOpen();
    return this.replica.schemas().every((s) => this.replica.count(s.name) === 0);
  }

  isEmpty(): boolean {
    return this.empty;
  }

  /** The sync session, or null for a local realm. */
  get syncSession(): SyncSessionHandle | null {
    return this.shared.session ?? null;
  }

  private checkOpen(): void {
    if (this.isClosed) throw new TributaryError('REALM_CLOSED', `the realm at ${this.path} is closed`);
  }

  private objectSchemaOf(type: string): ObjectSchema {
    this.checkOpen();
    const v = this.replica.dataVersion;
    if (v !== this.schemaCacheAt) {
      this.mergedSchemas.clear();
      this.schemaCacheAt = v;
    }
    let s = this.mergedSchemas.get(type);
    if (!s) {
      s = mergeSchema(this.configuredByName.get(type), this.replica.getSchema(type));
      if (!s) throw new TributaryError('INVALID_ARGUMENT', `Object type '${type}' not found in schema.`);
      this.mergedSchemas.set(type, s);
    }
    return s;
  }

  // ---- writes --------------------------------------------------------------------------------

  private requireWrite(): void {
    this.checkOpen();
    if (!this.isInTransaction) throw new TributaryError('NOT_IN_TRANSACTION', 'Cannot modify managed objects outside of a write transaction.');
  }

  private emit(instructions: Instruction[]): void {
    this.requireWrite();
    this.write_!.apply(instructions);
  }

  /**
   * Runs `fn` in a write transaction: everything it writes becomes one changeset, committed
   * durably with its history entry; if `fn` throws, nothing is written.
   */
  write<T>(fn: () => T): T {
    this.beginTransaction();
    let result: T;
    try {
      result = fn();
    } catch (e) {
      if (this.isInTransaction) this.cancelTransaction();
      throw e;
    }
    if (this.isInTransaction) this.commitTransaction();
    return result;
  }

  beginTransaction(): void {
    this.checkOpen();
    if (this.isInTransaction) throw new TributaryError('INVALID_STATE', 'The Realm is already in a write transaction');
    this.write_ = this.replica.beginWrite();
  }

  commitTransaction(): void {
    if (!this.isInTransaction) throw new TributaryError('NOT_IN_TRANSACTION', 'no write transaction to commit');
    const w = this.write_!;
    this.write_ = null;
    w.commit();
  }

  cancelTransaction(): void {
    if (!this.isInTransaction) throw new TributaryError('NOT_IN_TRANSACTION', 'no write transaction to cancel');
    const w = this.write_!;
    this.write_ = null;
    w.cancel();
    this.shared.tracker.discard();
  }

  /**
   * Creates an object (`update` false / 'never'), or creates-or-updates one by primary key
   * (`true` / 'all': every given value is written; 'modified': only values that differ).
   */
  create<T = RealmObject>(type: TypeArgument, values: object, update?: boolean | UpdateMode): T {
    const name = typeName(type);
    const id = createObject(this.ctx, name, values, updateMode(update));
    return this.ctx.object(name, id) as T;
  }

  /** Deletes an object, or every object of an array, List or Results (links to them become null). */
  delete(target: unknown): void {
    this.requireWrite();
    if (target === null || target === undefined) return;
    const one = objectInternals(target);
    if (one) {
      if (!this.replica.getObject(one.type, one.id)) throw new TributaryError('OBJECT_INVALIDATED', 'Object is invalid. Either it has been previously deleted or the Realm it belongs to has been closed.');
      this.emit([{ op: 'Delete', type: one.type, id: one.id }]);
      return;
    }
    if (typeof target === 'object' && Symbol.iterator in (target as object)) {
      // Collected first: deleting changes a live List or Results while it is walked.
      const items = [...(target as Iterable<unknown>)].filter((x) => x !== null && x !== undefined).map((x) => objectInternals(x));
      for (const i of items) {
        if (!i) throw new TributaryError('INVALID_ARGUMENT', 'delete() expects Realm objects');
        if (this.replica.getObject(i.type, i.id)) this.emit([{ op: 'Delete', type: i.type, id: i.id }]);
      }
      return;
    }
    throw new TributaryError('INVALID_ARGUMENT', 'delete() expects a Realm object or a collection of them');
  }

  /** Deletes every object of every type (one Clear per type). */
  deleteAll(): void {
    this.requireWrite();
    this.emit(this.replica.schemas().map((s) => ({ op: 'Clear', type: s.name }) as Instruction));
  }

  /** Adds `delta` to an integer property (AddInteger: concurrent increments add up). */
  increment(object: unknown, property: string, delta = 1): void {
    this.requireWrite();
    const i = objectInternals(object);
    if (!i) throw new TributaryError('INVALID_ARGUMENT', 'increment() expects a Realm object');
    const p = this.objectSchemaOf(i.type).properties.find((q) => q.name === property);
    if (!p || p.type !== 'int') throw new TributaryError('INVALID_ARGUMENT', `${i.type}.${property} is not an int property`);
    if (!Number.isSafeInteger(delta)) throw new TributaryError('INVALID_ARGUMENT', `increment delta must be a safe integer, got ${delta}`);
    this.emit([{ op: 'AddInteger', type: i.type, id: i.id, property, delta }]);
  }

  // ---- reads ---------------------------------------------------------------------------------

  /** Every object of a type, live, in local creation order. */
  objects<T = RealmObject>(type: TypeArgument): Results<T> {
    const name = typeName(type);
    this.objectSchemaOf(name);
    return new Results<T>(this.ctx, name);
  }

  /** The object with this primary key, or undefined. */
  objectForPrimaryKey<T = RealmObject>(typeArg: TypeArgument, key: unknown): T | undefined {
    const type = typeName(typeArg);
    const schema = this.objectSchemaOf(type);
    if (schema.primaryKey === null) throw new TributaryError('INVALID_ARGUMENT', `'${type}' does not have a primary key defined`);
    const pk = schema.properties.find((p) => p.name === schema.primaryKey)!;
    let id: ObjectKey;
    try {
      id = coercePrimitive(pk.type as PrimitiveType, false, key, `${type}.${pk.name}`) as ObjectKey;
    } catch (e) {
      throw new TributaryError('INVALID_ARGUMENT', (e as Error).message, { cause: e });
    }
    return this.replica.getObject(type, id) ? (this.ctx.object(type, id) as T) : undefined;
  }

  // ---- listeners -----------------------------------------------------------------------------

  /**
   * `'change'`: `callback(realm, 'change')` after every commit that changed data, local or
   * downloaded. `'schema'`: `callback(realm, 'schema', realm.schema)` after a schema change.
   */
  addListener(name: RealmEventName, callback: RealmListener): void {
    this.checkOpen();
    checkEventName(name);
    if (typeof callback !== 'function') throw new TributaryError('INVALID_ARGUMENT', 'addListener expects a callback function');
    this.notifications.addRealmListener(name, callback);
  }

  removeListener(name: RealmEventName, callback: RealmListener): void {
    checkEventName(name);
    this.notifications.removeRealmListener(name, callback);
  }

  removeAllListeners(name?: RealmEventName): void {
    if (name !== undefined) checkEventName(name);
    this.notifications.removeAllRealmListeners(name);
  }

  /** @internal The raw record (tests, tools). */
  _record(type: string, id: ObjectKey): ObjectRecord | undefined {
    return this.ctx.record(type, id);
  }

  /** @internal The underlying replica (tests, the notifier later). */
  get _replica(): ReplicaHandle {
    return this.replica;
  }

  /** Closes this instance; the replica and its session close with the last instance of the file. */
  close(): void {
    if (this.closed_) return;
    if (this.isInTransaction) this.cancelTransaction();
    this.closed_ = true;
    this.notifications.close();
    releaseReplica(this.shared);
  }
}

export type { Value };

/** A type given by name or by its Realm.Object subclass (or schema object). */
export type TypeArgument = string | { schema?: { name: string }; name?: string };

function typeName(type: TypeArgument): string {
  const name = typeof type === 'string' ? type : (type?.schema?.name ?? type?.name);
  if (typeof name !== 'string') throw new TributaryError('INVALID_ARGUMENT', `expected an object type name or a Realm.Object subclass, got ${String(type)}`);
  return name;
}

function checkEventName(name: string): void {
  if (name !== 'change' && name !== 'schema') throw new TributaryError('INVALID_ARGUMENT', `Unknown event name '${name}': only 'change' and 'schema' are supported`);
}
