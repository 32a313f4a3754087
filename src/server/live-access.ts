import type { Logger } from '../shared/logger';
import { currentAccess, type Access } from './permissions';
import type { StorageDriver } from './storage/types';

/** A bound session as the access watch sees it (src/server/session.ts implements it). */
export interface AccessHolder {
  /** The identity and token admin flag of the connection's user. */
  accessUser(): { identity: string; isAdmin: boolean };
  /** The resolved realm path it is bound to. */
  readonly realmPath: string | undefined;
  /** Called with the access as it is now; `none` ends the session with PERMISSION_DENIED. */
  accessChanged(access: Access): void;
}

/**
 * Makes permission changes reach sessions that are already bound: a grant changed on a path, or
 * a user's admin flag, re-evaluates the access of every session concerned, as BIND would now. A
 * session that lost read access is failed with PERMISSION_DENIED (the client gets the session
 * ERROR and stops); one that went from write to read refuses further UPLOADs. Sessions register
 * when bound and leave when they close or fail.
 */
export class LiveAccess {
  private readonly holders = new Set<AccessHolder>();
  private lastChange = -Infinity;

  constructor(
    private readonly storage: StorageDriver,
    private readonly log: Logger,
  ) {}

  /**
   * Registers a session right after BIND computed its access. A change committed between that
   * computation and this registration would miss it, so a registration soon after a change
   * (within a minute; BIND takes far less) is checked once more.
   */
  watch(holder: AccessHolder): () => void {
    this.holders.add(holder);
    if (Date.now() - this.lastChange < 60_000) this.evaluate([holder]).catch((e) => this.log.error('re-checking a new session failed', { error: e }));
    return () => this.holders.delete(holder);
  }

  /** Call before re-checking: a permission or admin change was committed. */
  changed(): void {
    this.lastChange = Date.now();
  }

  get size(): number {
    return this.holders.size;
  }

  /** Re-evaluates the sessions bound to `path` (all sessions when omitted) or of `identity`. */
  async recheck(filter: { path?: string; identity?: string } = {}): Promise<void> {
    this.changed();
    const affected = [...this.holders].filter(
      (h) => h.realmPath !== undefined && (filter.path === undefined || h.realmPath === filter.path) && (filter.identity === undefined || h.accessUser().identity === filter.identity),
    );
    await this.evaluate(affected);
  }

  private async evaluate(affected: AccessHolder[]): Promise<void> {
    if (affected.length === 0) return;
    const decisions = await this.storage.read((tx) => affected.map((h) => ({ h, access: currentAccess(tx, h.accessUser(), h.realmPath!) })));
    for (const { h, access } of decisions) {
      if (!this.holders.has(h)) continue;
      try {
        h.accessChanged(access);
      } catch (e) {
        this.log.error('applying a permission change to a session failed', { path: h.realmPath, error: e });
      }
    }
  }
}
