import type { ApplyObserver, Instruction } from '../changeset';
import { TributaryError } from '../errors';
import type { ObjectKey, ObjectSchema } from '../model';
import type { PreImageCapture, ReplicaExtension, StoredRow } from './extension';
import type { CommitEvent } from './replica-types';

interface Entry {
  readonly extension: ReplicaExtension;
  active: boolean;
}

/**
 * The replica's registered extensions and how one call from the replica reaches all of them:
 * observers and pre-image captures fan out in registration order, remote appliers nest (the first
 * registered outermost), commit notifications go to a snapshot of the list and skip whatever was
 * removed meanwhile. Kept apart from the replica so these rules sit in one small place, free of
 * SQLite.
 */
export class ExtensionRegistry {
  private entries: Entry[] = [];
  private observer_: ApplyObserver | undefined;
  private captures: Entry[] = [];
  private appliers: Entry[] = [];

  /** Registers `extension` last; returns its (idempotent) removal. */
  add(extension: ReplicaExtension): () => void {
    if (this.entries.some((e) => e.extension === extension)) throw new TributaryError('INVALID_ARGUMENT', 'this extension is already registered with the replica');
    const entry: Entry = { extension, active: true };
    // A new array, never a mutated one: a notification running over the old list is a snapshot.
    this.entries = [...this.entries, entry];
    this.rebuild();
    return () => this.remove(entry);
  }

  private remove(entry: Entry): void {
    if (!entry.active) return;
    entry.active = false;
    this.entries = this.entries.filter((e) => e !== entry);
    this.rebuild();
  }

  /** Forgets every extension (the replica closed). */
  clear(): void {
    for (const e of this.entries) e.active = false;
    this.entries = [];
    this.rebuild();
  }

  private rebuild(): void {
    const observing = this.entries.filter((e) => e.extension.observer);
    this.observer_ = observing.length === 0 ? undefined : fanOut(observing);
    this.captures = this.entries.filter((e) => e.extension.preImages);
    this.appliers = this.entries.filter((e) => e.extension.applyRemote);
  }

  /** What `apply()` reports to: every extension's observer, or undefined when none observes. */
  get observer(): ApplyObserver | undefined {
    return this.observer_;
  }

  // ---- pre-images ----------------------------------------------------------------------------

  /** Whether a registered extension captures pre-images (then every write must tell it first). */
  get capturesPreImages(): boolean {
    return this.captures.length > 0;
  }

  object(type: string, key: string, read: () => StoredRow | undefined): void {
    const captures = this.captures;
    if (captures.length === 0) return;
    let done = false;
    let row: StoredRow | undefined;
    const once = () => {
      if (!done) {
        row = read();
        done = true;
      }
      return row;
    };
    capturing(captures, (c) => c.object(type, key, once));
  }

  schema(name: string, previous: ObjectSchema | undefined): void {
    capturing(this.captures, (c) => c.schema(name, previous));
  }

  reset(rows: () => Iterable<{ type: string; key: string } & StoredRow>, schemas: ObjectSchema[]): void {
    capturing(this.captures, (c) => c.reset(rows, schemas));
  }

  // ---- remote application and commits --------------------------------------------------------

  /** Runs the appliers around `applyNow`, the first registered outermost. */
  applyRemote(instructions: readonly Instruction[], origin: 'download' | 'snapshot', applyNow: (instructions: readonly Instruction[]) => void): void {
    const appliers = this.appliers;
    const at =
      (i: number) =>
      (ins: readonly Instruction[]): void => {
        if (i === appliers.length) applyNow(ins);
        else if (!appliers[i]!.active) at(i + 1)(ins);
        else appliers[i]!.extension.applyRemote!(ins, origin, at(i + 1));
      };
    at(0)(instructions);
  }

  committed(event: CommitEvent): void {
    for (const e of this.entries) {
      if (!e.active || !e.extension.committed) continue;
      try {
        e.extension.committed(event);
      } catch {
        // an extension's failure must not undo or block a durable commit
      }
    }
  }
}

function capturing(entries: Entry[], fn: (capture: PreImageCapture) => void): void {
  for (const e of entries) if (e.active) fn(e.extension.preImages!);
}

/**
 * One observer that tells each entry's, in order. It checks `active` on every call because
 * `apply()` holds the observer it was given for a whole batch, and a removal must stop calls at once.
 */
function fanOut(entries: Entry[]): ApplyObserver {
  const each = (fn: (o: ApplyObserver) => void) => {
    for (const e of entries) if (e.active) fn(e.extension.observer!);
  };
  return {
    schemaChanged: (type: string) => each((o) => o.schemaChanged?.(type)),
    created: (type: string, id: ObjectKey) => each((o) => o.created?.(type, id)),
    modified: (type: string, id: ObjectKey, property: string) => each((o) => o.modified?.(type, id, property)),
    deleted: (type: string, id: ObjectKey) => each((o) => o.deleted?.(type, id)),
  };
}
