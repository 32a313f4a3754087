/**
 * Little helpers for TDS's byte layouts: a growing writer and a bounds-checked reader. TDS is
 * little-endian except for packet headers and the PRELOGIN option table.
 */

export class ByteWriter {
  private chunks: Buffer[] = [];
  length = 0;

  bytes(b: Buffer): this {
    this.chunks.push(b);
    this.length += b.length;
    return this;
  }
  u8(n: number): this {
    return this.bytes(Buffer.from([n & 0xff]));
  }
  u16(n: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(n);
    return this.bytes(b);
  }
  i16(n: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16LE(n);
    return this.bytes(b);
  }
  u16be(n: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    return this.bytes(b);
  }
  u24(n: number): this {
    const b = Buffer.alloc(3);
    b.writeUIntLE(n, 0, 3);
    return this.bytes(b);
  }
  u32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n >>> 0);
    return this.bytes(b);
  }
  i32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return this.bytes(b);
  }
  u32be(n: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    return this.bytes(b);
  }
  u40(n: number): this {
    const b = Buffer.alloc(5);
    b.writeUIntLE(n, 0, 5);
    return this.bytes(b);
  }
  u64(n: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(n);
    return this.bytes(b);
  }
  i64(n: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(n);
    return this.bytes(b);
  }
  f32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeFloatLE(n);
    return this.bytes(b);
  }
  f64(n: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(n);
    return this.bytes(b);
  }
  /** UCS-2 text preceded by its length in characters as one byte (B_VARCHAR). */
  bVarchar(s: string): this {
    return this.u8(s.length).bytes(Buffer.from(s, 'utf16le'));
  }
  /** UCS-2 text preceded by its length in characters as two bytes (US_VARCHAR). */
  usVarchar(s: string): this {
    return this.u16(s.length).bytes(Buffer.from(s, 'utf16le'));
  }
  /** Bytes preceded by their length as one byte (B_VARBYTE). */
  bVarbyte(b: Buffer): this {
    return this.u8(b.length).bytes(b);
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

export class ProtocolError extends Error {}

export class ByteReader {
  offset: number;
  constructor(readonly buffer: Buffer, offset = 0) {
    this.offset = offset;
  }
  get remaining(): number {
    return this.buffer.length - this.offset;
  }
  private need(n: number): void {
    if (this.offset + n > this.buffer.length) throw new ProtocolError(`TDS message ends early: ${n} more bytes expected at offset ${this.offset}`);
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buffer.subarray(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }
  u8(): number {
    this.need(1);
    return this.buffer[this.offset++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buffer.readUInt16LE(this.offset);
    this.offset += 2;
    return v;
  }
  i16(): number {
    this.need(2);
    const v = this.buffer.readInt16LE(this.offset);
    this.offset += 2;
    return v;
  }
  u24(): number {
    this.need(3);
    const v = this.buffer.readUIntLE(this.offset, 3);
    this.offset += 3;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buffer.readUInt32LE(this.offset);
    this.offset += 4;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.buffer.readInt32LE(this.offset);
    this.offset += 4;
    return v;
  }
  u40(): number {
    this.need(5);
    const v = this.buffer.readUIntLE(this.offset, 5);
    this.offset += 5;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buffer.readBigUInt64LE(this.offset);
    this.offset += 8;
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = this.buffer.readBigInt64LE(this.offset);
    this.offset += 8;
    return v;
  }
  f32(): number {
    this.need(4);
    const v = this.buffer.readFloatLE(this.offset);
    this.offset += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.buffer.readDoubleLE(this.offset);
    this.offset += 8;
    return v;
  }
  bVarchar(): string {
    const n = this.u8();
    return this.bytes(n * 2).toString('utf16le');
  }
  usVarchar(): string {
    const n = this.u16();
    return this.bytes(n * 2).toString('utf16le');
  }
}
