import type { DownloadMessage, ServerMessage } from '../protocol';
import type { ReplicaHandle } from '../store';

export type SessionMessage = Exclude<ServerMessage, { type: 'PONG' }>;

/** What the queue hands messages to: the session. */
export interface IntegrationTarget {
  readonly replica: Pick<ReplicaHandle, 'isInWrite' | 'isClosed'>;
  /** False for a message of an earlier binding (dropped). */
  isCurrent(message: SessionMessage): boolean;
  /** Handles one message. */
  handle(message: SessionMessage): void;
  /** Integrates consecutive DOWNLOADs of one binding in one replica transaction. */
  handleDownloads(messages: DownloadMessage[]): void;
}

/**
 * When a session's server messages reach the replica. A user's write transaction or an admin
 * tool's hold keeps them queued, to be handled in arrival order once it ends; DOWNLOADs also wait
 * for the end of the current turn (a microtask), so those that arrived together integrate in one
 * replica transaction. With `splitDownloads`, every downloaded changeset integrates in a
 * transaction of its own instead (the notifier's one event per server transaction).
 */
export class IntegrationQueue {
  /**
   * Admin tools: integrate every downloaded changeset in its own transaction (one commit per server
   * transaction), with the cursor the server gave for it, instead of one per DOWNLOAD message.
   */
  splitDownloads = false;
  private deferred: SessionMessage[] = [];
  private holds = 0;

  constructor(private readonly target: IntegrationTarget) {}

  /** Takes a message of the current binding. */
  receive(message: SessionMessage): void {
    if (this.splitDownloads && message.type === 'DOWNLOAD' && message.changesets.length > 1) {
      for (const part of splitDownload(message)) this.accept(part);
      return;
    }
    this.accept(message);
  }

  /** Forgets what is queued (the binding is gone: its messages are sent again on the next one). */
  clear(): void {
    this.deferred = [];
  }

  /**
   * While at least one hold is taken, messages queue and are handled in arrival order after the
   * last release. Returns the (idempotent) release.
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0 && this.deferred.length > 0) setImmediate(() => this.drain());
    };
  }

  get isHeld(): boolean {
    return this.holds > 0;
  }

  private accept(message: SessionMessage): void {
    const replica = this.target.replica;
    const coalesce = message.type === 'DOWNLOAD' && !this.splitDownloads;
    if (this.deferred.length > 0 || replica.isInWrite || this.holds > 0 || coalesce) {
      this.deferred.push(message);
      if (this.deferred.length === 1) {
        if (coalesce && !replica.isInWrite && this.holds === 0) queueMicrotask(() => this.drain());
        else this.drain();
      }
      return;
    }
    this.target.handle(message);
  }

  private drain(): void {
    const replica = this.target.replica;
    if (replica.isClosed) {
      this.deferred = [];
      return;
    }
    while (this.deferred.length > 0) {
      if (this.holds > 0) return; // the last release drains
      if (replica.isInWrite) {
        setTimeout(() => this.drain(), 2);
        return;
      }
      const m = this.deferred.shift()!;
      if (!this.target.isCurrent(m)) continue;
      if (m.type === 'DOWNLOAD' && !this.splitDownloads && this.deferred[0]?.type === 'DOWNLOAD') {
        const batch: DownloadMessage[] = [m];
        while (this.deferred[0]?.type === 'DOWNLOAD' && this.deferred[0].session === m.session) batch.push(this.deferred.shift() as DownloadMessage);
        this.target.handleDownloads(batch);
      } else this.target.handle(m);
    }
  }
}

/**
 * One DOWNLOAD per changeset. Each part's cursor is the one the server gave its changeset
 * (`serverVersion`, `lastIntegratedClientVersion` as of it); the last part keeps the message's,
 * which may be further on (own changesets are skipped, not sent).
 */
function splitDownload(message: DownloadMessage): DownloadMessage[] {
  const n = message.changesets.length;
  return message.changesets.map((c, i) =>
    i === n - 1
      ? { ...message, changesets: [c] }
      : { ...message, serverVersion: c.serverVersion, lastIntegratedClientVersion: c.lastIntegratedClientVersion, changesets: [c] },
  );
}
