/**
 * TDS packet framing (MS-TDS 2.2.3): an 8-byte header — type, status, big-endian length including
 * the header, SPID, packet id, window — and a message split over packets whose last one carries the
 * end-of-message status bit. Pure: bytes in, messages out.
 */

export const PacketType = {
  SQL_BATCH: 0x01,
  RPC_REQUEST: 0x03,
  TABULAR_RESULT: 0x04,
  ATTENTION: 0x06,
  BULK_LOAD: 0x07,
  TRANSACTION_MANAGER: 0x0e,
  LOGIN7: 0x10,
  PRELOGIN: 0x12,
} as const;

export const PacketStatus = {
  EOM: 0x01,
  IGNORE: 0x02,
  RESET_CONNECTION: 0x08,
  RESET_CONNECTION_SKIP_TRAN: 0x10,
} as const;

export const HEADER_LENGTH = 8;

export interface Message {
  type: number;
  /** The status bits of the first packet (reset-connection flags live there). */
  firstStatus: number;
  /** The status bits of the last packet (end of message, ignore). */
  lastStatus: number;
  payload: Buffer;
}

/** The largest message the assembler accepts before it reports the peer as broken. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * Collects packets from a byte stream into whole messages. Chunks may split packets anywhere;
 * an ATTENTION packet may arrive between two requests or while one is being answered.
 */
export class MessageAssembler {
  private pending: Buffer = Buffer.alloc(0);
  private parts: Buffer[] = [];
  private partsLength = 0;
  private currentType: number | null = null;
  private currentFirstStatus = 0;

  /** Adds bytes; returns the messages they complete, in order. */
  push(chunk: Buffer): Message[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Message[] = [];
    while (this.pending.length >= HEADER_LENGTH) {
      const length = this.pending.readUInt16BE(2);
      if (length < HEADER_LENGTH) throw new Error(`TDS packet length ${length} is shorter than its header`);
      if (this.pending.length < length) break;
      const type = this.pending[0]!;
      const status = this.pending[1]!;
      const data = this.pending.subarray(HEADER_LENGTH, length);
      this.pending = this.pending.subarray(length);
      if (this.currentType === null) {
        this.currentType = type;
        this.currentFirstStatus = status;
      } else if (type !== this.currentType && type === PacketType.ATTENTION) {
        // An attention signal is a message of its own even in the middle of another's packets.
        out.push({ type, firstStatus: status, lastStatus: status, payload: Buffer.from(data) });
        continue;
      }
      this.parts.push(data);
      this.partsLength += data.length;
      if (this.partsLength > MAX_MESSAGE_BYTES) throw new Error(`TDS message over ${MAX_MESSAGE_BYTES} bytes`);
      if (status & PacketStatus.EOM) {
        out.push({ type: this.currentType, firstStatus: this.currentFirstStatus, lastStatus: status, payload: Buffer.concat(this.parts, this.partsLength) });
        this.parts = [];
        this.partsLength = 0;
        this.currentType = null;
      }
    }
    return out;
  }
}

/** Splits a message into packets of at most `packetSize` bytes. */
export function encodeMessage(type: number, payload: Buffer, packetSize: number, spid = 0): Buffer {
  const room = packetSize - HEADER_LENGTH;
  const packets: Buffer[] = [];
  let offset = 0;
  let packetId = 1;
  do {
    const size = Math.min(room, payload.length - offset);
    const header = Buffer.alloc(HEADER_LENGTH);
    const last = offset + size >= payload.length;
    header[0] = type;
    header[1] = last ? PacketStatus.EOM : 0;
    header.writeUInt16BE(HEADER_LENGTH + size, 2);
    header.writeUInt16BE(spid, 4);
    header[6] = packetId % 256;
    header[7] = 0;
    packets.push(header, payload.subarray(offset, offset + size));
    offset += size;
    packetId += 1;
  } while (offset < payload.length);
  return Buffer.concat(packets);
}
