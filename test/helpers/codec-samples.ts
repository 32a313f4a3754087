import type { Instruction, ObjectRecord } from '../../src/changeset';
import { Decimal128, ObjectId, UUID, type ObjectKey, type ObjectSchema, type PropertySchema, type PropertyType, type Value } from '../../src/model';
import type { ClientMessage, DownloadChangeset, ServerMessage, UploadChangeset } from '../../src/protocol';
import type { Prng } from './prng';

/** Random inputs for the codec tests: every value kind, instruction kind and message type. */

const HEX = '0123456789abcdef';
const NAMES = ['Dog', 'Person', 'name', 'age', 'owner', 'tags', 'x', '_id', '__proto__', 'émoji😀', 'toString'];

export function randomHex(rng: Prng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += HEX[rng.int(0, 15)];
  return s;
}

export function randomString(rng: Prng, maxLen = 12): string {
  const alphabets = ['abcxyz', 'ÄéŁ€', '😀🚀', '\u0000\n\t"'];
  const n = rng.int(0, maxLen);
  let s = '';
  for (let i = 0; i < n; i++) s += rng.pick([...rng.pick(alphabets)]);
  return s;
}

export function randomName(rng: Prng): string {
  return rng.bool(0.7) ? rng.pick(NAMES) : randomString(rng, 8);
}

export function randomInt(rng: Prng): number {
  switch (rng.int(0, 4)) {
    case 0:
      return rng.int(-64, 64);
    case 1:
      return rng.int(-1e6, 1e6);
    case 2:
      return rng.pick([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 31, -(2 ** 31), 2 ** 32, 63, 64, -64, -65, 127, 128]);
    default:
      return Math.floor((rng.next() - 0.5) * 2 * Number.MAX_SAFE_INTEGER);
  }
}

export function randomKey(rng: Prng): ObjectKey {
  switch (rng.int(0, 3)) {
    case 0:
      return randomInt(rng);
    case 1:
      return randomString(rng);
    case 2:
      return new ObjectId(randomHex(rng, 24));
    default:
      return new UUID(randomHex(rng, 32));
  }
}

export function randomValue(rng: Prng): Value {
  switch (rng.int(0, 11)) {
    case 0:
      return null;
    case 1:
      return rng.bool();
    case 2:
      return randomInt(rng);
    case 3:
      return rng.pick([0.5, -0, NaN, Infinity, -Infinity, Number.MIN_VALUE, 1e300, Math.PI, rng.next() * 1e6, 2 ** 53, -(2 ** 60)]);
    case 4:
      return randomString(rng);
    case 5:
      return new Date(rng.int(-8.64e15, 8.64e15));
    case 6:
      return rng.bool(0.9) ? new Date(rng.int(0, 2e12)) : new Date(NaN);
    case 7:
      return rng.bytes(rng.int(0, 20));
    case 8:
      return new ObjectId(randomHex(rng, 24));
    case 9:
      return new UUID(randomHex(rng, 32));
    case 10:
      return new Decimal128(rng.pick(['0', '-1.5', '1e-6143', 'NaN', '+Infinity', String(rng.int(-1e9, 1e9))]));
    default:
      return randomKey(rng) as Value;
  }
}

function randomValues(rng: Prng): Record<string, Value> {
  const out: Record<string, Value> = {};
  const n = rng.int(0, 4);
  for (let i = 0; i < n; i++) {
    const k = randomName(rng);
    Object.defineProperty(out, k, { value: randomValue(rng), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const PROPERTY_TYPES: PropertyType[] = ['bool', 'int', 'float', 'double', 'string', 'date', 'data', 'decimal128', 'objectId', 'uuid', 'mixed', 'object', 'list', 'linkingObjects'];

export function randomProperty(rng: Prng, local: boolean): PropertySchema {
  const p: PropertySchema = { name: randomName(rng), type: rng.pick(PROPERTY_TYPES), optional: rng.bool() };
  if (rng.bool()) p.objectType = randomName(rng);
  if (rng.bool(0.2)) p.property = randomName(rng);
  if (local && rng.bool(0.3)) p.indexed = rng.bool();
  if (local && rng.bool(0.3)) p.default = randomValue(rng);
  return p;
}

export function randomObjectSchema(rng: Prng): ObjectSchema {
  const properties: PropertySchema[] = [];
  const n = rng.int(0, 5);
  for (let i = 0; i < n; i++) properties.push(randomProperty(rng, true));
  return { name: randomName(rng), primaryKey: rng.bool() ? randomName(rng) : null, properties };
}

export const INSTRUCTION_OPS: Instruction['op'][] = ['AddType', 'AddProperties', 'Create', 'Set', 'AddInteger', 'Delete', 'Clear', 'ListSet', 'ListInsert', 'ListErase', 'ListMove', 'ListClear'];

function maybeDefaults(rng: Prng): { defaults?: string[] } {
  if (!rng.bool(0.4)) return {};
  const defaults: string[] = [];
  const n = rng.int(0, 3);
  for (let i = 0; i < n; i++) defaults.push(randomName(rng));
  return { defaults };
}

function maybeDead(rng: Prng): { dead?: boolean } {
  return rng.bool(0.5) ? {} : { dead: rng.bool() };
}

export function randomInstruction(rng: Prng, op: Instruction['op'] = rng.pick(INSTRUCTION_OPS)): Instruction {
  const type = randomName(rng);
  const props = (): PropertySchema[] => Array.from({ length: rng.int(0, 4) }, () => randomProperty(rng, false));
  const list = () => ({ type, id: randomKey(rng), property: randomName(rng), prior: rng.int(0, 1000) });
  switch (op) {
    case 'AddType':
      return { op, type, primaryKey: rng.bool() ? randomName(rng) : null, properties: props() };
    case 'AddProperties':
      return { op, type, properties: props() };
    case 'Create':
    case 'Set':
      return { op, type, id: randomKey(rng), values: randomValues(rng), ...maybeDefaults(rng) };
    case 'AddInteger':
      return { op, type, id: randomKey(rng), property: randomName(rng), delta: randomInt(rng) };
    case 'Delete':
      return { op, type, id: randomKey(rng) };
    case 'Clear':
      return { op, type };
    case 'ListSet':
    case 'ListInsert':
      return { op, ...list(), index: rng.int(0, 1000), value: randomValue(rng), ...maybeDead(rng) };
    case 'ListErase':
      return { op, ...list(), index: rng.int(0, 1000) };
    case 'ListMove':
      return { op, ...list(), from: rng.int(0, 1000), to: rng.int(0, 1000) };
    case 'ListClear':
      return { op, ...list() };
  }
}

export function randomChangeset(rng: Prng, maxLength = 8): Instruction[] {
  return Array.from({ length: rng.int(0, maxLength) }, () => randomInstruction(rng));
}

export function randomRecord(rng: Prng): ObjectRecord {
  const lists: ObjectRecord['lists'] = {};
  const n = rng.int(0, 3);
  for (let i = 0; i < n; i++) {
    lists[randomName(rng).replace('__proto__', 'proto')] = Array.from({ length: rng.int(0, 5) }, () => (rng.bool(0.2) ? { value: randomValue(rng), dead: true as const } : { value: randomValue(rng) }));
  }
  return { id: randomKey(rng), values: randomValues(rng), lists };
}

const uint = (rng: Prng): number => rng.pick([0, 1, 127, 128, 16384, rng.int(0, 2 ** 31), Number.MAX_SAFE_INTEGER, rng.int(0, 1e15)]);

function uploadChangeset(rng: Prng): UploadChangeset {
  return { clientVersion: uint(rng), lastIntegratedServerVersion: uint(rng), originTimestamp: uint(rng), data: rng.bytes(rng.int(0, 40)) };
}

function downloadChangeset(rng: Prng): DownloadChangeset {
  return { serverVersion: uint(rng), lastIntegratedClientVersion: uint(rng), originTimestamp: uint(rng), originFileIdent: uint(rng), data: rng.bytes(rng.int(0, 40)) };
}

export const CLIENT_TYPES: ClientMessage['type'][] = ['BIND', 'IDENT', 'UPLOAD', 'MARK', 'STATE_REQUEST', 'UNBIND', 'REFRESH', 'PING'];
export const SERVER_TYPES: ServerMessage['type'][] = ['IDENT', 'DOWNLOAD', 'STATE', 'MARK', 'UNBOUND', 'PONG', 'ERROR'];

export function randomClientMessage(rng: Prng, type: ClientMessage['type'] = rng.pick(CLIENT_TYPES)): ClientMessage {
  const session = uint(rng);
  switch (type) {
    case 'BIND':
      return { type, session, path: '/' + randomString(rng, 30), needIdent: rng.bool() };
    case 'IDENT':
      return { type, session, fileIdent: uint(rng), fileSalt: uint(rng), serverVersion: uint(rng), lastIntegratedClientVersion: uint(rng), latestServerVersion: uint(rng), latestServerVersionSalt: uint(rng) };
    case 'UPLOAD':
      return { type, session, progressClientVersion: uint(rng), progressServerVersion: uint(rng), changesets: Array.from({ length: rng.int(0, 4) }, () => uploadChangeset(rng)) };
    case 'MARK':
      return { type, session, requestId: uint(rng) };
    case 'STATE_REQUEST':
    case 'UNBIND':
      return { type, session };
    case 'REFRESH':
      return { type, token: randomString(rng, 60) };
    case 'PING':
      return { type, timestamp: uint(rng), rtt: uint(rng) };
  }
}

export function randomServerMessage(rng: Prng, type: ServerMessage['type'] = rng.pick(SERVER_TYPES)): ServerMessage {
  const session = uint(rng);
  switch (type) {
    case 'IDENT':
      return { type, session, fileIdent: uint(rng), fileSalt: uint(rng) };
    case 'DOWNLOAD':
      return {
        type,
        session,
        serverVersion: uint(rng),
        lastIntegratedClientVersion: uint(rng),
        latestServerVersion: uint(rng),
        latestServerVersionSalt: uint(rng),
        uploadClientVersion: uint(rng),
        uploadServerVersion: uint(rng),
        downloadableBytes: uint(rng),
        changesets: Array.from({ length: rng.int(0, 4) }, () => downloadChangeset(rng)),
      };
    case 'STATE':
      return { type, session, serverVersion: uint(rng), serverVersionSalt: uint(rng), lastIntegratedClientVersion: uint(rng), segment: uint(rng), last: rng.bool(), data: rng.bytes(rng.int(0, 60)) };
    case 'MARK':
      return { type, session, requestId: uint(rng) };
    case 'UNBOUND':
      return { type, session };
    case 'PONG':
      return { type, timestamp: uint(rng) };
    case 'ERROR':
      return { type, session, code: rng.int(100, 299), message: randomString(rng, 40), tryAgain: rng.bool(), action: rng.pick(['retry', 'reset', 'fatal'] as const), backoffMs: uint(rng) };
  }
}

/**
 * A string that differs whenever two decoded structures differ in anything the codecs promise to
 * keep: value kinds and classes, -0, NaN, invalid dates, own-key order, absent vs present fields.
 */
export function canonical(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (typeof x === 'number') return Object.is(x, -0) ? 'n:-0' : `n:${x}`;
  if (typeof x === 'string') return JSON.stringify(x);
  if (typeof x === 'boolean') return String(x);
  if (x instanceof Date) return `Date(${x.getTime()})`;
  if (x instanceof Uint8Array) return `${x.constructor.name}[${Array.from(x).join(',')}]`;
  if (x instanceof ObjectId || x instanceof UUID || x instanceof Decimal128) return `${x.constructor.name}(${x.toString()})`;
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  if (typeof x === 'object') {
    const proto = Object.getPrototypeOf(x);
    if (proto !== Object.prototype && proto !== null) return `?${String(proto?.constructor?.name)}`;
    return `{${Object.keys(x)
      .map((k) => `${JSON.stringify(k)}:${canonical((x as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return `?${typeof x}`;
}
