import * as fs from 'node:fs';
import * as path from 'node:path';
import type { User } from '../client';
import { Realm } from '../realm';
import type { ObjectSchemaInput } from '../model';

/**
 * The realms a pattern helper writes to, opened once per path with the admin user on its one
 * connection, each with its own local file under `directory`. The local files persist, so a
 * restarted runtime still holds (and uploads) what it wrote before a crash but had not yet seen
 * acknowledged — that is what makes "write, wait for the server's ack, then act" safe on kill -9.
 */
export class RealmPool {
  private readonly realms = new Map<string, Realm>();
  /** Paths whose first download in this process has completed. */
  private readonly synced = new Map<string, Promise<void>>();

  constructor(
    private readonly options: { realmUrl: string; adminUser: User; directory: string; schema: ObjectSchemaInput[] },
  ) {
    fs.mkdirSync(options.directory, { recursive: true });
  }

  /** The realm at `realmPath` (opened on first use; writes work before the first download). */
  get(realmPath: string): Realm {
    let realm = this.realms.get(realmPath);
    if (!realm || realm.isClosed) {
      realm = new Realm({
        schema: this.options.schema as never,
        sync: { user: this.options.adminUser, url: this.options.realmUrl + realmPath },
        path: path.join(this.options.directory, fileName(realmPath)),
      });
      this.realms.set(realmPath, realm);
    }
    return realm;
  }

  /**
   * The realm, after everything the server had when this process first asked for it was
   * downloaded (so a duplicate check sees what other runtimes and earlier incarnations wrote).
   */
  async ready(realmPath: string, timeoutMs?: number): Promise<Realm> {
    const realm = this.get(realmPath);
    let p = this.synced.get(realmPath);
    if (!p) {
      p = realm.syncSession!.downloadAllServerChanges(timeoutMs);
      this.synced.set(realmPath, p);
      p.catch(() => this.synced.delete(realmPath));
    }
    await p;
    return realm;
  }

  async download(realmPath: string, timeoutMs?: number): Promise<Realm> {
    const realm = this.get(realmPath);
    await realm.syncSession!.downloadAllServerChanges(timeoutMs);
    return realm;
  }

  /** Resolves once the server acknowledged every local write made so far to `realmPath`. */
  async upload(realmPath: string, timeoutMs?: number): Promise<void> {
    await this.get(realmPath).syncSession!.uploadAllLocalChanges(timeoutMs);
  }

  get paths(): string[] {
    return [...this.realms.keys()];
  }

  close(): void {
    for (const r of this.realms.values()) if (!r.isClosed) r.close();
    this.realms.clear();
    this.synced.clear();
  }
}

/** A file name for a realm path: readable, and distinct for distinct paths. */
export function fileName(realmPath: string): string {
  const readable = realmPath.replace(/^\/+/, '').replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 80);
  let h = 2166136261;
  for (let i = 0; i < realmPath.length; i++) h = Math.imul(h ^ realmPath.charCodeAt(i), 16777619) >>> 0;
  return `${readable}-${h.toString(16)}.db`;
}
