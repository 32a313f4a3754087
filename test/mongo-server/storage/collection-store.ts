/**
 * One collection's documents, keyed by `_id` (see id-key.ts), in insertion order (MongoDB's natural
 * order: an update keeps a document's place). Each document carries the cluster time it was written
 * at. While some reader holds an older snapshot (a transaction, a snapshot-read session), the
 * versions a write replaces are kept in `history` so that reader still sees the collection as of
 * its snapshot time; with no such reader, nothing is kept.
 */
import { UUID } from 'mongodb';
import type { Document } from 'mongodb';
import type { ClusterTime } from '../cluster-clock';

export interface Version {
  doc: Document;
  time: ClusterTime;
}

interface PastVersion {
  doc: Document;
  from: ClusterTime;
  until: ClusterTime;
}

export interface IndexSpec {
  v: number;
  key: Document;
  name: string;
  [option: string]: unknown;
}

export class CollectionStore {
  readonly uuid = new UUID();
  readonly docs = new Map<string, Version>();
  private readonly history = new Map<string, PastVersion[]>();
  /** Secondary index definitions: recorded and listed, not used for queries or uniqueness. */
  readonly indexes: IndexSpec[] = [];

  constructor(
    readonly db: string,
    readonly name: string,
    public options: Document,
  ) {}

  get namespace(): string {
    return `${this.db}.${this.name}`;
  }

  get recordsImages(): boolean {
    const setting = this.options.changeStreamPreAndPostImages as Document | undefined;
    return Boolean(setting?.enabled);
  }

  /** Writes (or with `doc` undefined, deletes) a document at `time`, keeping the old version if asked. */
  write(key: string, doc: Document | undefined, time: ClusterTime, keepHistory: boolean): void {
    const previous = this.docs.get(key);
    if (keepHistory && previous && previous.time < time) {
      const past = this.history.get(key);
      const entry = { doc: previous.doc, from: previous.time, until: time };
      if (past) past.push(entry);
      else this.history.set(key, [entry]);
    }
    if (doc === undefined) this.docs.delete(key);
    else if (previous) {
      previous.doc = doc;
      previous.time = time;
    } else this.docs.set(key, { doc, time });
  }

  /** The version of `key` visible at `snapshot` (latest when undefined). */
  get(key: string, snapshot?: ClusterTime): Document | undefined {
    const current = this.docs.get(key);
    if (snapshot === undefined) return current?.doc;
    if (current && current.time <= snapshot) return current.doc;
    return this.pastAt(key, snapshot);
  }

  private pastAt(key: string, snapshot: ClusterTime): Document | undefined {
    const past = this.history.get(key);
    if (!past) return undefined;
    for (let i = past.length - 1; i >= 0; i--) {
      const v = past[i]!;
      if (v.from <= snapshot && snapshot < v.until) return v.doc;
    }
    return undefined;
  }

  /** The documents visible at `snapshot` (latest when undefined), natural order. */
  *scan(snapshot?: ClusterTime): IterableIterator<[string, Document]> {
    if (snapshot === undefined) {
      for (const [key, v] of this.docs) yield [key, v.doc];
      return;
    }
    for (const [key, v] of this.docs) {
      if (v.time <= snapshot) yield [key, v.doc];
      else {
        const old = this.pastAt(key, snapshot);
        if (old) yield [key, old];
      }
    }
    for (const key of this.history.keys()) {
      if (this.docs.has(key)) continue;
      const old = this.pastAt(key, snapshot);
      if (old) yield [key, old];
    }
  }

  /** When `key` was last written (inserted, updated or deleted), as far as this store remembers. */
  lastWriteTime(key: string): ClusterTime {
    const current = this.docs.get(key);
    if (current) return current.time;
    const past = this.history.get(key);
    return past && past.length > 0 ? past[past.length - 1]!.until : -1n;
  }

  /** Drops kept versions no snapshot at or after `oldestReader` can see (all when undefined). */
  prune(oldestReader: ClusterTime | undefined): void {
    if (oldestReader === undefined) {
      this.history.clear();
      return;
    }
    for (const [key, past] of this.history) {
      const kept = past.filter((v) => v.until > oldestReader);
      if (kept.length === 0) this.history.delete(key);
      else if (kept.length !== past.length) this.history.set(key, kept);
    }
  }

  get count(): number {
    return this.docs.size;
  }
}
