import { FrameWatch } from '../../src/server/frame-watch';
import { Prng, testSeed } from '../helpers/prng';

// The frame watcher reads only WebSocket frame headers from a byte stream split anywhere: between
// messages it holds nothing; inside one it counts the bytes received and the payload declared,
// control frames between fragments included; an over-limit declaration is reported once.

interface Frame {
  fin: boolean;
  opcode: number;
  length: number;
}

function encode(f: Frame, rng: Prng): Buffer {
  const masked = rng.bool();
  const parts: Buffer[] = [];
  const b0 = (f.fin ? 0x80 : 0) | f.opcode;
  if (f.length < 126) parts.push(Buffer.from([b0, (masked ? 0x80 : 0) | f.length]));
  else if (f.length < 65536) {
    const h = Buffer.alloc(4);
    h[0] = b0;
    h[1] = (masked ? 0x80 : 0) | 126;
    h.writeUInt16BE(f.length, 2);
    parts.push(h);
  } else {
    const h = Buffer.alloc(10);
    h[0] = b0;
    h[1] = (masked ? 0x80 : 0) | 127;
    h.writeBigUInt64BE(BigInt(f.length), 2);
    parts.push(h);
  }
  if (masked) parts.push(Buffer.from([9, 8, 7, 6]));
  parts.push(Buffer.alloc(f.length, 0x41));
  return Buffer.concat(parts);
}

test('generated messages split at random offsets: nothing held between messages, oversize reported once', () => {
  const rng = new Prng(testSeed('frame watch'));
  for (let trial = 0; trial < 300; trial++) {
    const limit = rng.int(100, 5000);
    const watch = new FrameWatch();
    for (let m = 0; m < rng.int(1, 5); m++) {
      // One message: 1..4 fragments, control frames (ping) sometimes between them.
      const fragments = rng.int(1, 4);
      const frames: Frame[] = [];
      let payload = 0;
      for (let k = 0; k < fragments; k++) {
        const length = rng.pick([0, rng.int(1, 125), rng.int(126, 3000), rng.int(65536, 70000)]);
        payload += length;
        frames.push({ fin: k === fragments - 1, opcode: k === 0 ? 0x2 : 0x0, length });
        if (k < fragments - 1 && rng.bool(0.3)) frames.push({ fin: true, opcode: 0x9, length: rng.int(0, 20) });
      }
      const bytes = Buffer.concat(frames.map((f) => encode(f, rng)));
      let overs: number[] = [];
      for (let i = 0; i < bytes.length; ) {
        const n = Math.min(bytes.length - i, rng.int(1, 4000));
        const over = watch.push(bytes.subarray(i, i + n), i, limit);
        if (over !== null) overs.push(over);
        i += n;
        if (i < bytes.length) expect(watch.inFlight).toBeGreaterThan(0);
      }
      expect([trial, m, watch.inFlight, watch.lastProgress]).toEqual([trial, m, 0, null]);
      expect(overs.length).toBe(payload > limit ? 1 : 0);
      if (payload > limit) expect(overs[0]).toBeGreaterThan(limit);
      overs = [];
    }
  }
});
