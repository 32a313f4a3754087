/**
 * Watches the bytes of one upgraded WebSocket as they arrive, reading only frame headers (RFC 6455
 * §5.2), so the server knows — before `ws` has buffered a message — how big the message being
 * received will be, how many of its bytes are in memory, and when the last of them came. That is
 * what lets it answer an over-limit message with an ERROR before closing, cap the memory of
 * half-received messages across all connections, and close a connection that stopped mid-frame.
 *
 * Pure bookkeeping over a byte stream: no socket, no timer (the caller feeds `push` and reads the
 * fields).
 */
export class FrameWatch {
  /** Bytes of the message being received (headers and payloads of its frames so far). */
  get inFlight(): number {
    return this.messageBytes + this.header.length;
  }
  /** When a byte of an unfinished message last arrived (ms), or null when between messages. */
  lastProgress: number | null = null;
  /** Payload bytes the message's frames have declared so far (what the message will hold). */
  declared = 0;

  private messageBytes = 0;
  private header: number[] = [];
  private reported = false;
  private payloadLeft = 0;
  private fin = false;
  private control = false;

  /**
   * Feeds received bytes; returns the declared payload size of the message when a header just
   * made it exceed `maxMessageBytes` (once per message; the caller refuses it), otherwise null.
   */
  push(chunk: Uint8Array, now: number, maxMessageBytes: number): number | null {
    let i = 0;
    let over: number | null = null;
    while (i < chunk.length) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, chunk.length - i);
        this.payloadLeft -= take;
        if (!this.control) this.messageBytes += take;
        i += take;
        if (this.payloadLeft === 0) this.frameDone();
        continue;
      }
      this.header.push(chunk[i++]!);
      const need = headerLength(this.header);
      if (need === null || this.header.length < need) continue;
      const { fin, opcode, length } = parseHeader(this.header);
      this.header = [];
      this.fin = fin;
      this.control = opcode >= 0x8;
      if (!this.control) {
        this.messageBytes += need;
        this.declared += length;
        if (this.declared > maxMessageBytes && !this.reported) {
          this.reported = true;
          over = this.declared;
        }
      }
      this.payloadLeft = length;
      if (length === 0) this.frameDone();
    }
    if (this.inFlight > 0) this.lastProgress = now;
    return over;
  }

  private frameDone(): void {
    if (this.control || !this.fin) return; // a control frame may sit between fragments
    this.messageBytes = 0;
    this.declared = 0;
    this.lastProgress = null;
    this.reported = false;
  }
}

/** Total header length once enough bytes are known (2 + extended length + mask), else null. */
function headerLength(h: number[]): number | null {
  if (h.length < 2) return null;
  const len7 = h[1]! & 0x7f;
  const masked = (h[1]! & 0x80) !== 0;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
}

function parseHeader(h: number[]): { fin: boolean; opcode: number; length: number } {
  const fin = (h[0]! & 0x80) !== 0;
  const opcode = h[0]! & 0x0f;
  const len7 = h[1]! & 0x7f;
  let length = len7;
  if (len7 === 126) length = (h[2]! << 8) | h[3]!;
  else if (len7 === 127) {
    length = 0;
    // 64-bit length; beyond 2^53 the message is refused anyway, so precision does not matter.
    for (let k = 2; k < 10; k++) length = length * 256 + h[k]!;
  }
  return { fin, opcode, length };
}
