import type { Instruction } from '../changeset';
import type { HistoryEntry, JournaledUpload, ServerHistoryAccess } from './integrate';

/**
 * An in-memory {@link ServerHistoryAccess}: the reference the storage drivers are checked against,
 * and the server history of the whole-system simulation.
 *
 * Reciprocal copies and upload journals are kept per client file; an entry transformed to nothing
 * is stored as `[]` and stays distinct from one never transformed (`undefined`).
 *
 * @example
 * const history = new MemoryHistory();
 * const { version, instructions } = integrateUpload(history, 7, upload, state);
 * if (version !== undefined) apply(state, instructions);
 */
export class MemoryHistory implements ServerHistoryAccess {
  private readonly entries: HistoryEntry[] = [];
  private readonly integrated = new Map<number, number>();
  private readonly reciprocal = new Map<number, Map<number, Instruction[]>>();
  private readonly journals = new Map<number, JournaledUpload[]>();

  latestVersion(): number {
    return this.entries.length;
  }

  *entriesAfter(after: number, limit = Infinity): Iterable<HistoryEntry> {
    const end = Math.min(this.entries.length, Math.max(0, after) + limit);
    for (let i = Math.max(0, after); i < end; i++) yield this.entries[i]!;
  }

  lastIntegratedClientVersion(fileIdent: number): number {
    return this.integrated.get(fileIdent) ?? 0;
  }

  getReciprocal(fileIdent: number, version: number): Instruction[] | undefined {
    return this.reciprocal.get(fileIdent)?.get(version);
  }

  setReciprocal(fileIdent: number, version: number, instructions: Instruction[]): void {
    let m = this.reciprocal.get(fileIdent);
    if (!m) this.reciprocal.set(fileIdent, (m = new Map()));
    m.set(version, instructions);
  }

  trimReciprocal(fileIdent: number, upTo: number): void {
    const m = this.reciprocal.get(fileIdent);
    if (!m) return;
    for (const v of [...m.keys()]) if (v <= upTo) m.delete(v);
  }

  journaled(fileIdent: number, afterClientVersion: number, limit: number): JournaledUpload[] {
    return (this.journals.get(fileIdent) ?? []).filter((j) => j.clientVersion > afterClientVersion).slice(0, limit);
  }

  journal(fileIdent: number, upload: JournaledUpload): void {
    const list = this.journals.get(fileIdent) ?? [];
    const last = list[list.length - 1];
    if (last && last.clientVersion >= upload.clientVersion) throw new Error(`journal of client ${fileIdent}: client version ${upload.clientVersion} after ${last.clientVersion}`);
    list.push({ ...upload, data: undefined });
    this.journals.set(fileIdent, list);
  }

  clearJournal(fileIdent: number): void {
    this.journals.delete(fileIdent);
  }

  /** Number of changesets in a client file's upload journal (to check that it is emptied). */
  journalCount(fileIdent: number): number {
    return this.journals.get(fileIdent)?.length ?? 0;
  }

  append(entry: Omit<HistoryEntry, 'version'>): number {
    const version = this.entries.length + 1;
    this.entries.push({ ...entry, version });
    if (entry.originFileIdent !== 0) {
      this.integrated.set(entry.originFileIdent, Math.max(entry.clientVersion, this.lastIntegratedClientVersion(entry.originFileIdent)));
    }
    return version;
  }

  /** One entry by version (1-based), for tests and downloads. */
  entry(version: number): HistoryEntry | undefined {
    return this.entries[version - 1];
  }

  /** Number of reciprocal copies kept for a client file (to check trimming). */
  reciprocalCount(fileIdent: number): number {
    return this.reciprocal.get(fileIdent)?.size ?? 0;
  }
}
