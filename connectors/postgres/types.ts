import { Decimal128, ObjectId, UUID, type PrimitiveType, type Value } from '../../src/model';

/**
 * The PostgreSQL → realm type table (docs/connectors/postgres.md, "Types"). Values arrive as the
 * type's text output (pgoutput sends text; the initial load reads text too, so both paths share
 * one converter). Domains are resolved to their base type before lookup, enums are strings,
 * one-dimensional arrays are lists of their element's realm type. Sessions run with
 * TimeZone=UTC, DateStyle=ISO and extra_float_digits=3 so the text is unambiguous and lossless.
 */
export interface RealmColumnType {
  /** Realm type of the property, or of the list's elements. */
  realm: PrimitiveType;
  list: boolean;
  /** The PostgreSQL type name the mapping was chosen for (after domain resolution). */
  pgType: string;
  fromText(text: string): Value;
}

export class ConversionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConversionError';
  }
}

type Scalar = Omit<RealmColumnType, 'list' | 'pgType'>;

const MAX_DATE_MS = 8.64e15;

function int(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new ConversionError(`integer ${text} is outside the range a realm int holds exactly (±2^53)`);
  return n;
}

function float(text: string): number {
  if (text === 'NaN') return NaN;
  if (text === 'Infinity') return Infinity;
  if (text === '-Infinity') return -Infinity;
  const n = Number(text);
  if (Number.isNaN(n)) throw new ConversionError(`not a number: ${text}`);
  return n;
}

const TIMESTAMP = /^(\d{4,})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d):(\d\d)(\.\d+)?)?(?:([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?)?( BC)?$/;

/** date, timestamp (read as UTC) and timestamptz text → Date (milliseconds; microseconds are truncated). */
export function parseTimestamp(text: string): Date {
  if (text === 'infinity') return new Date(MAX_DATE_MS);
  if (text === '-infinity') return new Date(-MAX_DATE_MS);
  const m = TIMESTAMP.exec(text);
  if (!m) throw new ConversionError(`not a date/time: '${text}'`);
  let year = Number(m[1]);
  if (m[12]) year = 1 - year;
  const ms = m[7] ? Math.floor(Number(m[7]) * 1000) : 0;
  const d = new Date(0);
  d.setUTCFullYear(year, Number(m[2]) - 1, Number(m[3]));
  d.setUTCHours(Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), ms);
  let t = d.getTime();
  if (m[8]) {
    const offsetS = Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0);
    t -= (m[8] === '-' ? -1 : 1) * offsetS * 1000;
  }
  return new Date(t);
}

function bytea(text: string): Uint8Array {
  if (text.startsWith('\\x')) return new Uint8Array(Buffer.from(text.slice(2), 'hex'));
  throw new ConversionError("bytea is not in hex output format; the connector sets bytea_output = 'hex'");
}

const asString: Scalar = { realm: 'string', fromText: (t) => t };

const SCALARS: Record<string, Scalar> = {
  int2: { realm: 'int', fromText: int },
  int4: { realm: 'int', fromText: int },
  int8: { realm: 'int', fromText: int },
  oid: { realm: 'int', fromText: int },
  numeric: { realm: 'decimal128', fromText: (t) => new Decimal128(t) },
  float4: { realm: 'float', fromText: float },
  float8: { realm: 'double', fromText: float },
  bool: { realm: 'bool', fromText: (t) => t === 't' },
  text: asString,
  varchar: asString,
  name: asString,
  citext: asString,
  // character(n) pads with blanks that PostgreSQL itself treats as insignificant.
  bpchar: { realm: 'string', fromText: (t) => t.replace(/ +$/, '') },
  date: { realm: 'date', fromText: parseTimestamp },
  timestamp: { realm: 'date', fromText: parseTimestamp },
  timestamptz: { realm: 'date', fromText: parseTimestamp },
  bytea: { realm: 'data', fromText: bytea },
  uuid: { realm: 'uuid', fromText: (t) => new UUID(t) },
  // The domain schema evolution creates for realm objectId properties (mapping.ts OBJECT_ID_DOMAIN).
  tributary_objectid: { realm: 'objectId', fromText: (t) => new ObjectId(t) },
  json: asString,
  jsonb: asString,
  tsvector: asString,
  tsquery: asString,
  xml: asString,
  time: asString,
  timetz: asString,
  interval: asString,
  money: asString,
  inet: asString,
  cidr: asString,
  macaddr: asString,
  bit: asString,
  varbit: asString,
};

/** Text types the table names explicitly; anything else maps to its text form as a string. */
export const KNOWN_TYPES = Object.keys(SCALARS);

/** What the catalog says about a column's type (domains already resolved to the base type). */
export interface PgTypeDescription {
  /** Base type name (pg_type.typname), e.g. `int4`, `_text` for text[]. */
  name: string;
  /** pg_type.typtype of the base type: 'b' base, 'e' enum, 'c' composite, 'r' range, … */
  kind: string;
  /** For arrays: the element type (domains resolved). */
  element?: PgTypeDescription;
}

export function realmTypeFor(t: PgTypeDescription): RealmColumnType {
  if (t.element) {
    const el = scalarFor(t.element);
    return { realm: el.realm, list: true, pgType: t.element.name + '[]', fromText: listOf(el) };
  }
  const s = scalarFor(t);
  return { ...s, list: false, pgType: t.name };
}

function scalarFor(t: PgTypeDescription): Scalar {
  if (t.kind === 'e') return asString;
  return SCALARS[t.name] ?? asString;
}

/** A list's converter returns the element values (the realm property is a list, not a Value). */
function listOf(el: Scalar): (text: string) => Value {
  return (text) => parseArray(text).map((v) => (v === null ? null : el.fromText(v))) as unknown as Value;
}

/** A one-dimensional PostgreSQL array literal (`{a,"b c",NULL}`) → its element texts. */
export function parseArray(text: string): (string | null)[] {
  let s = text;
  if (s.startsWith('[')) s = s.slice(s.indexOf('=') + 1); // explicit bounds: [0:2]={…}
  if (s[0] !== '{' || s[s.length - 1] !== '}') throw new ConversionError(`not an array literal: '${text}'`);
  const out: (string | null)[] = [];
  let i = 1;
  const end = s.length - 1;
  if (i === end) return out;
  while (i <= end) {
    if (s[i] === '{') throw new ConversionError('multi-dimensional arrays are not supported');
    let value = '';
    let quoted = false;
    if (s[i] === '"') {
      quoted = true;
      i++;
      while (i < end && s[i] !== '"') {
        if (s[i] === '\\') i++;
        value += s[i++];
      }
      i++; // closing quote
    } else {
      while (i < end && s[i] !== ',') {
        if (s[i] === '\\') i++;
        value += s[i++];
      }
    }
    out.push(!quoted && value === 'NULL' ? null : quoted ? value : value.trim());
    if (s[i] !== ',' && i !== end) throw new ConversionError(`malformed array literal at ${i}: '${text}'`);
    i++;
  }
  return out;
}

/** A realm value → a node-postgres parameter (dates as UTC ISO text, so `timestamp` columns get UTC wall time). */
export function toParam(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v); // NaN, Infinity: float text forms
  if (typeof v === 'object') return String(v); // Decimal128, UUID, ObjectId
  return v;
}
