import type { Client } from 'pg';
import type { Logger } from '../../src/shared/logger';
import type { ResolvedOptions } from './config';
import { formatBytes, readSlot, slotWarnings, type SlotStatus, type SlotWarning } from './operations';

/**
 * The connector's slot checks (docs: "Slot warnings"): at start, how much WAL an inactive slot
 * held while the connector was down; while running, every `slotCheckIntervalMs`, retained WAL
 * over budget and `wal_status`, as loud error-level lines until the cause is gone.
 */
export class SlotWatch {
  /** What the last check found, as in the log (`status().warnings`). */
  warnings: string[] = [];
  private running = false;

  constructor(
    private readonly o: ResolvedOptions,
    private readonly log: Logger,
    /** The connector's own connection, or null while it is reopened. */
    private readonly sql: () => Client | null,
    private readonly stopping: () => boolean,
  ) {}

  /** At start, before streaming: a slot that sat inactive held WAL while the connector was down; say how much. */
  async atStart(sql: Client): Promise<void> {
    const o = this.o;
    let slot;
    try {
      slot = (await readSlot(sql, o.slotName)).slot;
    } catch (e) {
      this.log.warn('postgres connector: cannot read the replication slot figures', { error: String(e) });
      return;
    }
    if (slot.exists && !slot.active) {
      this.log.warn(`postgres connector: replication slot ${o.slotName} was inactive while the connector was down and retains ${slot.retainedBytes === null ? 'an unknown amount' : formatBytes(slot.retainedBytes)} of WAL; it is released as the connector catches up`, {
        slot: o.slotName,
        retainedBytes: slot.retainedBytes,
        walStatus: slot.walStatus,
        safeWalSize: slot.safeWalSize,
      });
    }
    this.report(slotWarnings(slot, o.retainedWalWarnBytes).filter((w) => w.kind !== 'inactive'), slot);
  }

  /** The interval timer of the checks while running (null: `slotCheckIntervalMs` is 0); the caller clears it. */
  timer(): NodeJS.Timeout | null {
    if (this.o.slotCheckIntervalMs <= 0) return null;
    const t = setInterval(() => void this.check(), this.o.slotCheckIntervalMs);
    t.unref();
    return t;
  }

  private async check(): Promise<void> {
    const sql = this.sql();
    if (!sql || this.running || this.stopping()) return;
    this.running = true;
    try {
      const { slot } = await readSlot(sql, this.o.slotName);
      // While streaming, an inactive slot is the retry loop's business; report only the WAL figures.
      this.report(slotWarnings(slot, this.o.retainedWalWarnBytes).filter((w) => w.kind !== 'inactive'), slot);
    } catch (e) {
      if (!this.stopping()) this.log.warn('postgres connector: slot check failed', { error: String(e) });
    } finally {
      this.running = false;
    }
  }

  /** Loud: an error-level line per warning, every check, until the cause is gone. */
  private report(warnings: SlotWarning[], slot: SlotStatus): void {
    this.warnings = warnings.map((w) => w.message);
    for (const w of warnings) {
      this.log.error(`postgres connector: WAL RETENTION WARNING: ${w.message}`, { slot: slot.name, kind: w.kind, retainedBytes: slot.retainedBytes, walStatus: slot.walStatus, safeWalSize: slot.safeWalSize, budgetBytes: this.o.retainedWalWarnBytes });
    }
  }
}
