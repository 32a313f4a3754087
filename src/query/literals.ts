import { ObjectId, UUID, Value } from '../model/values';
import type { LiteralExpr } from './ast';

/**
 * Turns a literal token into a value, or returns an error message. Dates are UTC; nanoseconds
 * below a millisecond are dropped (JavaScript dates hold milliseconds).
 */
export function literalValue(lit: LiteralExpr): Value | { error: string } {
  switch (lit.type) {
    case 'number':
      return parseNumber(lit.text);
    case 'string':
      return lit.text;
    case 'bool':
      return lit.text === 'true';
    case 'null':
      return null;
    case 'date':
      return parseDate(lit.text);
    case 'data':
      return decodeBase64(lit.text);
    case 'oid':
      return new ObjectId(lit.text);
    case 'uuid':
      return new UUID(lit.text);
  }
}

function parseNumber(text: string): number {
  const negative = text.startsWith('-');
  const body = negative ? text.slice(1) : text;
  const n = /^0[xX]/.test(body) ? parseInt(body.slice(2), 16) : Number(body);
  return negative ? -n : n;
}

const READABLE = /^(\d{4})-(\d{1,2})-(\d{1,2})[@T](\d{1,2}):(\d{1,2}):(\d{1,2})(?::(\d+)|\.(\d+))?$/;

function parseDate(text: string): Date | { error: string } {
  if (text.startsWith('T')) {
    const [secText, nanoText] = text.slice(1).split(':') as [string, string];
    const seconds = Number(secText);
    const nanos = Number(nanoText);
    // Realm requires both parts to have the same sign (T-1:-500000000 is 1.5 s before the epoch).
    if ((seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) return { error: `the seconds and nanoseconds of ${text} must have the same sign` };
    if (Math.abs(nanos) >= 1e9) return { error: `nanoseconds in ${text} must be below 1000000000` };
    return new Date(seconds * 1000 + Math.trunc(nanos / 1e6));
  }
  const m = READABLE.exec(text);
  if (!m) return { error: `malformed date ${text}` };
  const [, y, mo, d, h, mi, s, nanoText, fraction] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) {
    return { error: `date ${text} is out of range` };
  }
  let ms = 0;
  if (nanoText !== undefined) {
    if (Number(nanoText) >= 1e9) return { error: `nanoseconds in ${text} must be below 1000000000` };
    ms = Math.trunc(Number(nanoText) / 1e6);
  } else if (fraction !== undefined) {
    ms = Math.trunc(Number(`0.${fraction}`) * 1000);
  }
  const date = new Date(Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(s), ms));
  if (Number(y) < 100) date.setUTCFullYear(Number(y)); // Date.UTC maps years 0..99 to 1900..1999
  if (date.getUTCDate() !== day) return { error: `date ${text} does not exist` };
  return date;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 (padding optional); pure so that src/query runs without Node. */
export function decodeBase64(text: string): Uint8Array | { error: string } {
  const clean = text.replace(/\s+/g, '').replace(/=+$/, '');
  if (clean.length % 4 === 1) return { error: `malformed base64 data "${text}"` };
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let j = 0;
  for (let i = 0; i < clean.length; i++) {
    const v = B64.indexOf(clean[i]!);
    if (v < 0) return { error: `malformed base64 data "${text}": unexpected '${clean[i]}'` };
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}
