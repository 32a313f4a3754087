import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * One source transaction's changes (any JSON-safe change type `C`): in memory up to `threshold`,
 * then appended to a temporary file as JSON lines. Memory per transaction is therefore bounded
 * whatever its size; the file is read back synchronously at commit, inside the realm write
 * transactions, so one database transaction still becomes exactly one realm transaction per realm
 * it touches.
 */
export class TransactionBuffer<C> {
  private memory: C[] = [];
  private file: string | null = null;
  private fd: number | null = null;
  count = 0;

  constructor(private readonly threshold: number) {}

  add(c: C): void {
    this.count++;
    if (this.fd === null && this.memory.length < this.threshold) {
      this.memory.push(c);
      return;
    }
    if (this.fd === null) {
      this.file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-tx-')), 'changes.jsonl');
      this.fd = fs.openSync(this.file, 'w+');
    }
    fs.writeSync(this.fd, JSON.stringify(c) + '\n');
  }

  get spilled(): boolean {
    return this.fd !== null;
  }

  *changes(): Generator<C> {
    yield* this.memory;
    if (this.fd === null) return;
    const buf = Buffer.alloc(1 << 20);
    let pos = 0;
    let rest = '';
    for (;;) {
      const n = fs.readSync(this.fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      pos += n;
      const lines = (rest + buf.toString('utf8', 0, n)).split('\n');
      rest = lines.pop()!;
      for (const l of lines) if (l) yield JSON.parse(l) as C;
    }
    if (rest) yield JSON.parse(rest) as C;
  }

  dispose(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    if (this.file) fs.rmSync(path.dirname(this.file), { recursive: true, force: true });
    this.fd = null;
    this.file = null;
    this.memory = [];
  }
}
