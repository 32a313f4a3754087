import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { resolveRealmPath } from '../model';

/**
 * Where an admin tool keeps its local copies: `<dir>/__admin.db` for discovery and
 * `<dir>/realms<virtual path>.db` per watched realm. Paths are validated, so a copy never escapes
 * `dir`.
 */
export class LocalCopies {
  readonly root: string;
  constructor(dir: string) {
    this.root = nodePath.resolve(dir);
  }

  get directoryFile(): string {
    return nodePath.join(this.root, '__admin.db');
  }

  fileFor(realmPath: string): string {
    const resolved = resolveRealmPath(realmPath, null);
    return nodePath.join(this.root, 'realms', ...resolved.slice(1).split('/')) + '.db';
  }

  exists(realmPath: string): boolean {
    return fs.existsSync(this.fileFor(realmPath));
  }

  /** Removes a copy and its SQLite side files. */
  remove(realmPath: string): void {
    const file = this.fileFor(realmPath);
    for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(file + suffix, { force: true });
  }
}
