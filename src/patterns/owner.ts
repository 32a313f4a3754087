import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TributaryError } from '../errors';

/**
 * Who holds a lease: `<runtime id>#<incarnation>`. The runtime id is stored in the runtime's
 * directory (which only one running process may use, since it holds its local realm files), so a
 * restarted runtime knows that a lease held by an earlier incarnation of itself belongs to a dead
 * process and takes it over at once instead of waiting for it to expire.
 */
export class OwnerId {
  readonly runtime: string;
  readonly incarnation: string;

  constructor(directory: string, runtime?: string) {
    this.runtime = runtime ?? persistedRuntimeId(directory);
    if (this.runtime.includes('#')) throw new TributaryError('INVALID_ARGUMENT', `an owner id may not contain '#': ${this.runtime}`);
    this.incarnation = randomBytes(4).toString('hex');
  }

  /** The value written to `owner` fields. */
  get value(): string {
    return `${this.runtime}#${this.incarnation}`;
  }

  /** True for a lease written by this runtime before it restarted (its process is gone). */
  isEarlierIncarnation(owner: string | null | undefined): boolean {
    if (!owner) return false;
    const i = owner.lastIndexOf('#');
    return i >= 0 && owner.slice(0, i) === this.runtime && owner.slice(i + 1) !== this.incarnation;
  }

  isMe(owner: string | null | undefined): boolean {
    return owner === this.value;
  }
}

function persistedRuntimeId(directory: string): string {
  fs.mkdirSync(directory, { recursive: true });
  const file = path.join(directory, 'runtime-id');
  try {
    const id = fs.readFileSync(file, 'utf8').trim();
    if (id) return id;
  } catch {
    // first start
  }
  const id = randomBytes(8).toString('hex');
  fs.writeFileSync(file, id + '\n', { flag: 'wx' });
  return id;
}
