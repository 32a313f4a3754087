import { Console } from 'node:console';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { formatWithOptions } from 'node:util';

export type FunctionLogLevel = 'log' | 'info' | 'debug' | 'warn' | 'error' | 'runtime';

/** Called for every line written, so the runtime can mirror it into its structured log. */
export type LogTap = (level: FunctionLogLevel, text: string) => void;

/** A function's log file is rotated to `<name>.log.1` when it grows past this size. */
export const DEFAULT_MAX_LOG_BYTES = 10 * 1024 * 1024;

/**
 * The log file of one function, `<dir>/<name>.log`: one line per record,
 * `<ISO time> <level> <text>`, continuation lines of multi-line text indented by two spaces, so
 * `tributary functions logs <name>` and `tail -f` read it as it is written.
 *
 * Writes are synchronous appends: a line is on disk (in the page cache) when `console.log`
 * returns, so a function that crashes right after logging still leaves its last words, and the
 * order of lines is the order of calls.
 */
export class FunctionLog {
  readonly file: string;
  private fd: number | null = null;
  private size = 0;

  constructor(
    dir: string,
    readonly name: string,
    private readonly tap?: LogTap,
    private readonly maxBytes = DEFAULT_MAX_LOG_BYTES,
  ) {
    this.file = path.join(dir, `${name}.log`);
  }

  write(level: FunctionLogLevel, text: string): void {
    const stamp = new Date().toISOString();
    const body = text.replace(/\r?\n$/, '').replace(/\r?\n/g, '\n  ');
    const line = `${stamp} ${level.padEnd(7)} ${body}\n`;
    try {
      this.append(line);
    } catch {
      // A full disk or a removed folder must not break the function (or the runtime) that logs.
    }
    this.tap?.(level, body);
  }

  /** A `console` whose output goes to this log. `console.log/info/debug/warn/error/trace/dir/table/…`. */
  console(): Console {
    const stream = (level: FunctionLogLevel) =>
      new Writable({
        write: (chunk: Buffer | string, _enc, done) => {
          this.write(level, chunk.toString());
          done();
        },
      });
    const out = new Console({ stdout: stream('log'), stderr: stream('error'), colorMode: false });
    const direct = (level: FunctionLogLevel) => (...args: unknown[]) => this.write(level, formatWithOptions({ colors: false }, ...args));
    // Console writes through its streams asynchronously in places; the common calls are made
    // synchronous so a line is in the file before the handler's next statement runs.
    out.log = direct('log');
    out.info = direct('info');
    out.debug = direct('debug');
    out.warn = direct('warn');
    out.error = direct('error');
    return out;
  }

  close(): void {
    if (this.fd !== null) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = null;
    }
  }

  private append(line: string): void {
    if (this.fd === null) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      this.fd = fs.openSync(this.file, 'a');
      this.size = fs.fstatSync(this.fd).size;
    }
    const bytes = Buffer.from(line);
    if (this.size > 0 && this.size + bytes.length > this.maxBytes) {
      this.close();
      fs.renameSync(this.file, `${this.file}.1`);
      this.fd = fs.openSync(this.file, 'a');
      this.size = 0;
    }
    fs.writeSync(this.fd, bytes);
    this.size += bytes.length;
  }
}

/**
 * The last `n` lines of a text file (reads from the end; fine for multi-megabyte logs), of its
 * first `end` bytes when given (so a follower can continue exactly where they stop).
 */
export function lastLines(file: string, n: number, end?: number): string[] {
  if (n <= 0) return [];
  const fd = fs.openSync(file, 'r');
  try {
    const size = end ?? fs.fstatSync(fd).size;
    let pos = size;
    let text = '';
    const chunk = 64 * 1024;
    while (pos > 0) {
      const len = Math.min(chunk, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, pos);
      text = buf.toString('utf8') + text;
      if (text.split('\n').length > n + 1) break;
    }
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-n);
  } finally {
    fs.closeSync(fd);
  }
}
