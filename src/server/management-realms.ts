import type { Instruction } from '../changeset/instructions';
import { readValue, type ObjectRecord, type StateStore } from '../changeset/state';
import { TributaryError, type ErrorCode } from '../errors';
import type { Value } from '../model';
import type { Logger } from '../shared/logger';
import { ADMIN_REALM_PATH, writeServerChangeset } from './admin-realm';
import type { CommitQueue } from './commit-queue';
import type { Caller, PermissionService } from './permission-service';
import type { StorageDriver } from './storage/types';
import type { RealmListener, SyncService } from './sync-service';

/**
 * The legacy permission API of realm-js ≤ 2.x: a user writes `PermissionChange`,
 * `PermissionOffer` and `PermissionOfferResponse` objects into their management realm
 * (`/<identity>/__management`, opened with `user.openManagementRealm()`), and the server answers
 * in the same objects: `statusCode` 0 and, for offers, the `token`, for responses the
 * `realmUrl`; or a non-zero `statusCode` with `statusMessage`. ROS did this with a global
 * notifier; here the server watches those realms itself (it listens to every realm whose path
 * matches, found through the realms `/__admin` records) and acts as the realm's owner through
 * {@link PermissionService}, so the same rules hold as for the REST API.
 */
export const MANAGEMENT_REALM = /^\/([0-9a-f]{32})\/__management$/;

const STATUS_OK = 0;

/** `statusCode` of a refused request: the HTTP status the REST API answers with (stable, like the codes). */
const STATUS_CODES: Partial<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  ILLEGAL_REALM_PATH: 400,
  PERMISSION_DENIED: 403,
  NO_SUCH_USER: 404,
  INVALID_OFFER: 404,
};

/** The answer to a refused request: `statusCode` non-zero, `statusMessage` `<CODE>: <message>`. */
function statusOf(e: unknown): { code: number; message: string } {
  if (e instanceof TributaryError) return { code: STATUS_CODES[e.code] ?? 500, message: `${e.code}: ${e.message}` };
  return { code: 500, message: 'OTHER_ERROR: internal server error' };
}

export class ManagementRealms {
  private readonly watched = new Map<number, RealmListener>();
  private scannedUpTo = 0;
  private readonly busy = new Set<number>();
  private readonly again = new Set<number>();
  private adminListener: RealmListener | null = null;
  private stopped = false;

  constructor(
    private readonly storage: StorageDriver,
    private readonly queue: CommitQueue,
    private readonly sync: SyncService,
    private readonly permissions: PermissionService,
    private readonly log: Logger,
  ) {}

  /** Watches the existing management realms and, through `/__admin`, every new one. */
  async start(): Promise<void> {
    const adminId = await this.storage.read((tx) => tx.getRealm(ADMIN_REALM_PATH)?.id);
    if (adminId !== undefined) {
      this.adminListener = { realmChanged: () => void this.scan().catch((e) => this.log.error('management realm scan failed', { error: e })) };
      this.sync.attach(adminId, this.adminListener);
    }
    await this.scan();
  }

  stop(): void {
    this.stopped = true;
    for (const [id, l] of this.watched) this.sync.detach(id, l);
    this.watched.clear();
  }

  /** Realm rows are never removed and their ids are dense: read the realms created since the last scan. */
  private async scan(): Promise<void> {
    const found = await this.storage.read((tx) => {
      const out: number[] = [];
      for (let id = this.scannedUpTo + 1; ; id++) {
        const r = tx.getRealmById(id);
        if (!r) break;
        this.scannedUpTo = id;
        if (!r.deleted && MANAGEMENT_REALM.test(r.path)) out.push(r.id);
      }
      return out;
    });
    for (const id of found) this.watch(id);
  }

  private watch(realmId: number): void {
    if (this.watched.has(realmId) || this.stopped) return;
    const listener: RealmListener = { realmChanged: () => this.process(realmId) };
    this.watched.set(realmId, listener);
    this.sync.attach(realmId, listener);
    this.process(realmId);
  }

  private process(realmId: number): void {
    if (this.busy.has(realmId)) {
      this.again.add(realmId);
      return;
    }
    this.busy.add(realmId);
    this.run(realmId)
      .catch((e) => this.log.error('processing a management realm failed', { realmId, error: e }))
      .finally(() => {
        this.busy.delete(realmId);
        if (this.again.delete(realmId) && !this.stopped) this.process(realmId);
      });
  }

  private async run(realmId: number): Promise<void> {
    const pending = await this.storage.read((tx) => {
      const realm = tx.getRealmById(realmId);
      const owner = realm && MANAGEMENT_REALM.exec(realm.path)?.[1];
      if (!owner) return null;
      const state = tx.realmState(realmId);
      const user = tx.getUserById(owner);
      return { caller: { identity: owner, isAdmin: user?.isAdmin ?? false }, items: unanswered(state) };
    });
    if (!pending || pending.items.length === 0) return;
    const answers: { type: string; id: Value; values: Record<string, Value> }[] = [];
    for (const item of pending.items) answers.push({ type: item.type, id: item.record.id as Value, values: await this.answer(pending.caller, item.type, item.values) });
    await this.queue.submit((tx) => {
      const rt = tx.realm(realmId);
      const instructions: Instruction[] = [];
      for (const a of answers) {
        const schema = rt.getSchema(a.type);
        if (!schema || !rt.getObject(a.type, a.id as never)) continue; // deleted meanwhile
        const values: Record<string, Value> = {};
        for (const [k, v] of Object.entries(a.values)) if (schema.properties.some((p) => p.name === k)) values[k] = v;
        instructions.push({ op: 'Set', type: a.type, id: a.id as never, values });
      }
      if (instructions.length > 0) writeServerChangeset(tx, realmId, instructions, () => this.sync.clock.tick());
    });
    this.sync.notify(realmId);
  }

  private async answer(caller: Caller, type: string, v: (name: string) => Value): Promise<Record<string, Value>> {
    const done = (extra: Record<string, Value> = {}) => ({ statusCode: STATUS_OK, statusMessage: null, updatedAt: new Date(), ...extra });
    try {
      switch (type) {
        case 'PermissionChange': {
          if (v('metadataKey') !== null) throw new TributaryError('INVALID_ARGUMENT', 'permission conditions on user metadata are not supported');
          if (v('realmUrl') === '*') throw new TributaryError('INVALID_ARGUMENT', "realmUrl '*' (every realm) is not supported; name the realm");
          const level = v('mayManage') === true ? 'manage' : v('mayWrite') === true ? 'write' : v('mayRead') === true ? 'read' : 'none';
          await this.permissions.apply(caller, v('realmUrl'), v('userId'), level);
          return done();
        }
        case 'PermissionOffer': {
          const level = v('mayManage') === true ? 'manage' : v('mayWrite') === true ? 'write' : 'read';
          const expires = v('expiresAt');
          const offer = await this.permissions.offer(caller, v('realmUrl'), level, expires instanceof Date ? expires.getTime() : undefined);
          return done({ token: offer.token });
        }
        case 'PermissionOfferResponse': {
          const grant = await this.permissions.accept(caller, v('token'));
          return done({ realmUrl: grant.path });
        }
      }
      return done();
    } catch (e) {
      const s = statusOf(e);
      return { statusCode: s.code, statusMessage: s.message, updatedAt: new Date() };
    }
  }
}

const TYPES = ['PermissionChange', 'PermissionOffer', 'PermissionOfferResponse'];

/** Objects the server has not answered yet (no statusCode). */
function unanswered(state: StateStore): { type: string; record: ObjectRecord; values: (name: string) => Value }[] {
  const out: { type: string; record: ObjectRecord; values: (name: string) => Value }[] = [];
  for (const type of TYPES) {
    const schema = state.getSchema(type);
    if (!schema || !schema.properties.some((p) => p.name === 'statusCode')) continue;
    for (const record of state.objects(type)) {
      const values = (name: string): Value => (schema.properties.some((p) => p.name === name) || schema.primaryKey === name ? readValue(schema, record, name) : null);
      if (values('statusCode') === null) out.push({ type, record: { ...record, values: { ...record.values } }, values });
    }
  }
  return out;
}
