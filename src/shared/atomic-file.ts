import * as fs from 'node:fs';

/**
 * Writes `content` to `file` so that a crash never leaves half of it: a temporary file in the same
 * folder, fsynced, given `mode`, then renamed over the target.
 */
export function writeFileAtomic(file: string, content: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}
