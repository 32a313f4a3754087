import type { ApplyObserver, Instruction } from '../changeset';
import type { ObjectSchema } from '../model';
import type { CommitEvent } from './replica-types';

/**
 * The one way to extend a local replica. Realm change listeners, the sync session, the notifier's
 * `oldRealm` undo logs and the Adapter's durable log all plug in here instead of reaching into
 * the replica, so the replica's invariants (one transaction per commit, caches that roll back
 * with it) hold whatever is plugged in, and a stand-in such as the admin tools' lazily opened
 * replica has one thing to carry across a reopen.
 *
 * Every member is optional and read once, when the extension is registered. Extensions are called
 * in registration order; removing one stops every call to it at once, even in the middle of a
 * commit's notifications.
 *
 * @example
 * const remove = replica.addExtension({
 *   observer: { created: (type, id) => console.log('created', type, id) },
 *   committed: (e) => console.log('committed', e.origin),
 * });
 * // …
 * remove();
 */
export interface ReplicaExtension {
  /**
   * Called when the extension is registered with an open replica file, before any other member:
   * the place to create the extension's own tables and prepare its statements. A lazily opened
   * replica (admin-client's LazyReplica) calls it again each time it reopens its file; statements
   * prepared from an earlier handle die with the file they were prepared on.
   */
  attach?(storage: ExtensionStorage): void;
  /**
   * Told every effect of every applied instruction — local, downloaded and snapshot — inside the
   * transaction, as it happens (a cancelled write or a failed download rolls its effects back
   * without a further call: wait for {@link committed} before acting on them).
   */
  observer?: ApplyObserver;
  /** Told, inside the transaction, before stored content changes; see {@link PreImageCapture}. */
  preImages?: PreImageCapture;
  /**
   * Takes over the application of downloaded changesets and snapshots inside their transaction,
   * to see or record each instruction as it applies; see {@link RemoteApplier}.
   */
  applyRemote?: RemoteApplier;
  /**
   * Called after every committed transaction (local, download or snapshot), outside it. A throw
   * is ignored: the commit is durable and the other extensions are still told.
   */
  committed?(event: CommitEvent): void;
}

/**
 * A stored object row as the replica file holds it: the creation sequence number and the encoded
 * record.
 */
export interface StoredRow {
  seq: number;
  data: Uint8Array;
}

/**
 * Told, inside the transaction, before a stored object or schema changes while its row still holds
 * the previous content (the notifier's `oldRealm` undo log). `read` returns that previous row
 * (`undefined` when the object is being created); call it only for the first touch you care about.
 * With several extensions capturing, the row is read at most once and shared.
 */
export interface PreImageCapture {
  object(type: string, key: string, read: () => StoredRow | undefined): void;
  schema(name: string, previous: ObjectSchema | undefined): void;
  /**
   * Every object and schema is about to be replaced (a snapshot); `rows` lists them as stored.
   * Each call of `rows` reads them again; they do not change until every extension was told.
   */
  reset(rows: () => Iterable<{ type: string; key: string } & StoredRow>, schemas: ObjectSchema[]): void;
}

/**
 * Applies downloaded changesets and snapshots inside their transaction; `applyNow` does the
 * actual application (and may be called once per instruction). The Adapter records the
 * instructions it applies in the same transaction as their integration.
 *
 * With several extensions taking over, the first registered is outermost: its `applyNow` runs the
 * next one's applier, and the last one's applies the instructions to the replica.
 */
export type RemoteApplier = (instructions: readonly Instruction[], origin: 'download' | 'snapshot', applyNow: (instructions: readonly Instruction[]) => void) => void;

/** A prepared statement on the replica file (the part of better-sqlite3's Statement extensions use). */
export interface ExtensionStatement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/**
 * What an extension may do with the replica file: keep tables of its own (name them after the
 * extension, e.g. `adapter_log`) and write them in the replica's transactions, so a crash or a
 * rollback keeps both or neither. The replica's own tables are not the extension's to write.
 */
export interface ExtensionStorage {
  /** Runs statements without parameters or results: the extension's DDL (`CREATE TABLE IF NOT EXISTS …`). */
  exec(sql: string): void;
  /** Prepares a statement, valid while the replica file stays open. */
  prepare(sql: string): ExtensionStatement;
  /**
   * Runs `fn` atomically with the replica's data. Inside the replica's open transaction (from an
   * extension's callback, or during a local write) it runs there, as a savepoint: its writes
   * commit or roll back with that transaction, and a throw undoes only `fn`'s writes. Otherwise
   * it runs in a durable (fsync) transaction of its own, which is not a commit of the replica's
   * content: no {@link ReplicaExtension.committed} call follows it.
   */
  transaction<T>(fn: () => T): T;
}
