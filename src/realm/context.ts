import type { Instruction, ObjectRecord, StateStore } from '../changeset';
import type { ObjectKey, ObjectSchema, Value } from '../model';
import type { ReplicaHandle } from '../store';
import type { Notifications } from './notifications';
import type { Subscription } from './subscription';
import type { SyncSessionHandle } from './sync-types';

export type UpdateMode = 'never' | 'modified' | 'all';

/**
 * What objects, lists and results need from their Realm. Realm implements it; keeping it an
 * interface keeps those classes free of a dependency on Realm itself.
 */
export interface RealmContext {
  readonly replica: ReplicaHandle;
  /** The replica as the query engine reads it: read-only, with the merged schemas (backlinks included). */
  readonly store: StateStore;
  /** The listeners of this Realm instance. */
  readonly notifications: Notifications;
  /** The merged (configured + synced) schema of a type; throws INVALID_ARGUMENT when unknown. */
  objectSchema(type: string): ObjectSchema;
  record(type: string, id: ObjectKey): ObjectRecord | undefined;
  /** A live object proxy. */
  object(type: string, id: ObjectKey): unknown;
  /** Throws NOT_IN_TRANSACTION outside a write, REALM_CLOSED when closed. */
  requireWrite(): void;
  /** Applies instructions in the current write (they take effect at once). */
  emit(instructions: Instruction[]): void;
  /**
   * Converts a value given for a link to the target's key: a live object of this realm, or a plain
   * object that is created (or updated per `mode`) first; null stays null.
   */
  linkKey(targetType: string, value: unknown, mode: UpdateMode, where: string): ObjectKey | null;
  /** Converts a value for a property or list element of primitive type. */
  primitive(type: string, optional: boolean, value: unknown, where: string): Value;
  checkOpen(): void;
  /** Creates (per `mode`) an object inside the current write; returns its key. */
  create(type: string, values: unknown, mode: UpdateMode): ObjectKey;
  /** The realm's sync session, or null for a local realm. */
  syncSession(): SyncSessionHandle | null;
  /** realm-js query-based-sync subscriptions of this Realm instance, by name. */
  readonly subscriptions: Map<string, Subscription>;
}
