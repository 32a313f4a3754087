import type { Instruction } from '../changeset';
import { TributaryError } from '../errors';

/** What a LocalWrite needs of its replica: the three steps of the transaction it stands for. */
export interface LocalWriteSteps {
  /** Applies `instructions` at once and atomically, inside the open transaction. */
  apply(instructions: readonly Instruction[]): void;
  /** Commits the transaction with `instructions` as one changeset; returns its client version. */
  commit(write: LocalWrite, instructions: Instruction[]): number | undefined;
  /** Rolls the transaction back. */
  cancel(write: LocalWrite): void;
}

/**
 * An open local write. Every `apply` takes effect at once and atomically (a failing batch leaves
 * nothing behind); `commit` turns everything applied into one changeset. Created by
 * `Replica.beginWrite`; it knows the replica only through the steps given, so it needs none of
 * its internals.
 */
export class LocalWrite {
  private readonly instructions: Instruction[] = [];
  private open = true;
  constructor(private readonly steps: LocalWriteSteps) {}

  get isOpen(): boolean {
    return this.open;
  }

  /** The instructions applied so far. */
  get applied(): readonly Instruction[] {
    return this.instructions;
  }

  apply(instructions: readonly Instruction[]): void {
    if (!this.open) throw new TributaryError('NOT_IN_TRANSACTION', 'the write transaction is closed');
    if (instructions.length === 0) return;
    this.steps.apply(instructions);
    this.instructions.push(...instructions);
  }

  /** Commits; returns the new client version, or undefined when nothing was written. */
  commit(): number | undefined {
    if (!this.open) throw new TributaryError('NOT_IN_TRANSACTION', 'the write transaction is closed');
    this.open = false;
    return this.steps.commit(this, this.instructions);
  }

  cancel(): void {
    if (!this.open) return;
    this.open = false;
    this.steps.cancel(this);
  }
}
