import { TributaryError, type ErrorCode } from '../errors';

/**
 * The byte-level primitives every Tributary codec is built from (layout in docs/protocol.md §2):
 * LEB128 unsigned varints, zigzag varints, little-endian float64, and length-prefixed UTF-8
 * strings and byte strings. Pure: no Node-only APIs, runs in a browser.
 *
 * Encodings are canonical — varints without a redundant trailing zero byte, one NaN, strict
 * booleans — and varints are limited to safe integers, so every value has exactly one encoding
 * (decode-then-encode gives back the input bytes) and a decoder never produces a number it cannot
 * represent.
 */

const encoder = new TextEncoder();
/** 0x7ff8000000000000 little-endian: the NaN every encoder writes, so equal values encode equally. */
const CANONICAL_NAN = new Uint8Array([0, 0, 0, 0, 0, 0, 0xf8, 0x7f]);
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A growable byte buffer with typed write methods. */
export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initialCapacity = 64) {
    this.buf = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.pos;
  }

  get capacity(): number {
    return this.buf.length;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b & 0xff;
  }

  /** A non-negative safe integer as an LEB128 varint (1 byte below 128, at most 8 bytes). */
  uvarint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new TributaryError('INVALID_ARGUMENT', `not a non-negative safe integer: ${String(n)}`);
    this.ensure(8);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }

  /**
   * A safe integer as a zigzag varint: 0, -1, 1, -2 … become 0, 1, 2, 3 …. Computed without
   * ever forming 2n (which may exceed 2^53): the first byte carries the sign bit and six bits.
   */
  svarint(n: number): void {
    if (!Number.isSafeInteger(n)) throw new TributaryError('INVALID_ARGUMENT', `not a safe integer: ${String(n)}`);
    const sign = n < 0 ? 1 : 0;
    const k = sign ? -n - 1 : n;
    const low = k % 64;
    const rest = Math.floor(k / 64);
    this.u8(sign | (low << 1) | (rest > 0 ? 0x80 : 0));
    if (rest > 0) this.uvarint(rest);
  }

  /** Little-endian IEEE 754 double; every NaN is written as the one canonical quiet NaN. */
  f64(x: number): void {
    this.ensure(8);
    if (Number.isNaN(x)) this.raw(CANONICAL_NAN);
    else {
      this.view.setFloat64(this.pos, x, true);
      this.pos += 8;
    }
  }

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  bytes(bytes: Uint8Array): void {
    this.uvarint(bytes.length);
    this.raw(bytes);
  }

  string(s: string): void {
    // Names and most values are ASCII: written directly, without a TextEncoder round trip.
    const n = s.length;
    let i = 0;
    while (i < n && s.charCodeAt(i) < 0x80) i++;
    if (i === n) {
      this.uvarint(n);
      this.ensure(n);
      for (let k = 0; k < n; k++) this.buf[this.pos++] = s.charCodeAt(k);
      return;
    }
    // Otherwise encoded in place, after room for the longest length prefix it could need (UTF-8
    // takes at most 3 bytes per UTF-16 unit); a shorter prefix moves the bytes back.
    const room = uvarintLength(3 * n);
    this.ensure(Math.max(8, room + 3 * n)); // and room for the prefix: uvarint() must not grow the buffer now
    const { written } = encoder.encodeInto(s, this.buf.subarray(this.pos + room));
    const prefix = uvarintLength(written);
    if (prefix < room) this.buf.copyWithin(this.pos + prefix, this.pos + room, this.pos + room + written);
    this.uvarint(written);
    this.pos += written;
  }

  /** A copy of the bytes written so far, exactly sized. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /** Starts over, keeping the buffer (for {@link withWriter}). */
  reset(): void {
    this.pos = 0;
  }
}

/** Bytes of `n` as an LEB128 varint. */
function uvarintLength(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    bytes++;
  }
  return bytes;
}

/** One writer reused by every top-level encode: its buffer has grown to the usual size already. */
let shared = new Writer(4096);
let sharedBusy = false;
/** A shared buffer grown past this by one big message is let go afterwards. */
const SHARED_KEEP_BYTES = 1024 * 1024;

/**
 * Runs `fn` with a writer and returns what it wrote (exactly sized, a copy): the shared one when it
 * is free, a fresh one when an encode is already running (encoders never keep the writer).
 */
export function withWriter(fn: (w: Writer) => void): Uint8Array {
  if (sharedBusy) {
    const w = new Writer();
    fn(w);
    return w.finish();
  }
  sharedBusy = true;
  try {
    shared.reset();
    fn(shared);
    return shared.finish();
  } finally {
    sharedBusy = false;
    if (shared.capacity > SHARED_KEEP_BYTES) shared = new Writer(4096);
  }
}

/**
 * Reads what {@link Writer} wrote. Every failure throws a TributaryError with the code given at
 * construction (BAD_CHANGESET for changesets and records, BAD_SYNTAX for messages), never a
 * RangeError or TypeError; lengths are checked against the remaining bytes before anything is
 * allocated.
 */
export class Reader {
  private readonly view: DataView;
  pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    readonly errorCode: ErrorCode,
  ) {
    if (!(buf instanceof Uint8Array)) throw new TributaryError(errorCode, 'input must be a Uint8Array');
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  fail(message: string): never {
    throw new TributaryError(this.errorCode, `${message} (at byte ${this.pos})`);
  }

  need(n: number): void {
    if (n > this.buf.length - this.pos) this.fail(`truncated: ${n} bytes needed, ${this.buf.length - this.pos} left`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  uvarint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      const b = this.u8();
      value += (b & 0x7f) * scale;
      if (value > Number.MAX_SAFE_INTEGER) this.fail('varint exceeds 2^53-1');
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) this.fail('non-canonical varint');
        return value;
      }
      scale *= 0x80;
      if (i >= 7) this.fail('varint longer than 8 bytes');
    }
  }

  svarint(): number {
    const first = this.u8();
    const sign = first & 1;
    let k = (first >> 1) & 63;
    if (first & 0x80) {
      const rest = this.uvarint();
      if (rest === 0) this.fail('non-canonical zigzag varint');
      if (rest > Math.floor((Number.MAX_SAFE_INTEGER - k) / 64)) this.fail('zigzag varint exceeds the safe integer range');
      k += rest * 64;
    }
    if (sign) {
      if (k >= Number.MAX_SAFE_INTEGER) this.fail('zigzag varint exceeds the safe integer range');
      return -k - 1;
    }
    return k;
  }

  /** A count of items that each take at least `minItemBytes`; checked before anyone allocates. */
  count(max: number, minItemBytes: number, what: string, overLimit?: () => never): number {
    const n = this.uvarint();
    if (n > max) {
      if (overLimit) overLimit();
      this.fail(`${what}: ${n} exceeds the limit of ${max}`);
    }
    if (n * minItemBytes > this.remaining) this.fail(`${what}: ${n} items cannot fit in ${this.remaining} bytes`);
    return n;
  }

  bool(): boolean {
    const b = this.u8();
    if (b > 1) this.fail(`bad boolean byte ${b}`);
    return b === 1;
  }

  f64(): number {
    this.need(8);
    const x = this.view.getFloat64(this.pos, true);
    if (Number.isNaN(x)) {
      for (let i = 0; i < 8; i++) if (this.buf[this.pos + i] !== CANONICAL_NAN[i]) this.fail('non-canonical NaN');
    }
    this.pos += 8;
    return x;
  }

  /** `n` raw bytes as a view into the input (callers copy when they keep it). */
  raw(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A length-prefixed byte string, copied into a fresh Uint8Array. */
  bytes(maxBytes: number, overLimit?: () => never): Uint8Array {
    const n = this.uvarint();
    if (n > maxBytes) {
      if (overLimit) overLimit();
      this.fail(`byte string of ${n} bytes exceeds the limit of ${maxBytes}`);
    }
    return new Uint8Array(this.raw(n));
  }

  string(maxBytes: number, overLimit?: () => never): string {
    const n = this.uvarint();
    if (n > maxBytes) {
      if (overLimit) overLimit();
      this.fail(`string of ${n} bytes exceeds the limit of ${maxBytes}`);
    }
    const bytes = this.raw(n);
    if (n <= 64) {
      // ASCII fast path (UTF-8 of ASCII is itself); anything else goes through the strict decoder.
      let ascii = true;
      for (let k = 0; k < n; k++) if (bytes[k]! >= 0x80) { ascii = false; break; }
      if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
    }
    try {
      return decoder.decode(bytes);
    } catch {
      return this.fail('invalid UTF-8');
    }
  }

  end(): void {
    if (this.pos !== this.buf.length) this.fail(`${this.buf.length - this.pos} trailing bytes`);
  }
}
