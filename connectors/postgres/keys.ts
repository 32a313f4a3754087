import { TributaryError } from '../../src/errors';
import { encodeCompositeKey } from './mapping';

/**
 * Building, on the client, the realm key of a row whose key is composite or not an
 * int / text / uuid (docs/connectors/postgres.md, "Keys and links"). That key is the text
 * PostgreSQL prints for each key column in the connector's sessions (`TimeZone=UTC`,
 * `DateStyle=ISO`, `extra_float_digits=3`, `bytea_output=hex`), escaped and joined by
 * `encodeCompositeKey`. `pgKeyText` prints those texts from JavaScript values; `compositeKey`
 * joins them.
 *
 * @example
 * // reading (sensor text, at timestamptz) PRIMARY KEY (sensor, at)
 * const key = compositeKey(['t1', pgKeyText.timestamptz(new Date('2024-05-06T07:08:09.500Z'))]); // 't1|2024-05-06 07:08:09.5+00'
 * realm.create('Reading', { key, sensor: 't1', at, value: 21.5 });
 */

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function checkDate(d: Date): void {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new TributaryError('INVALID_ARGUMENT', `pgKeyText: expected a valid Date, got ${String(d)}`);
  if (d.getUTCFullYear() < 1) throw new TributaryError('INVALID_ARGUMENT', 'pgKeyText: dates before year 1 (BC) are not supported; give the key column text as PostgreSQL prints it');
}

function datePart(d: Date): string {
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** `HH:MM:SS` and the milliseconds without trailing zeros (PostgreSQL prints no fraction for whole seconds). */
function timePart(d: Date): string {
  const ms = d.getUTCMilliseconds();
  const fraction = ms === 0 ? '' : '.' + pad(ms, 3).replace(/0+$/, '');
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${fraction}`;
}

/** The text PostgreSQL prints for key column values, as the connector reads them. */
export const pgKeyText = {
  /** `timestamptz`: UTC, `+00`, milliseconds without trailing zeros (`2024-05-06 07:08:09.5+00`). Columns with microseconds need their text as printed. */
  timestamptz(d: Date): string {
    checkDate(d);
    return `${datePart(d)} ${timePart(d)}+00`;
  },
  /** `timestamp` (without time zone): the Date's UTC fields (`2024-05-06 07:08:09.5`). */
  timestamp(d: Date): string {
    checkDate(d);
    return `${datePart(d)} ${timePart(d)}`;
  },
  /** `date`: the Date's UTC day (`2024-05-06`). */
  date(d: Date): string {
    checkDate(d);
    return datePart(d);
  },
  /** `numeric(p, s)`: the value with exactly `scale` fraction digits, as the column stores it (`numeric(5,2)` 7.5 → `7.50`). */
  numeric(value: string | number, scale: number): string {
    const text = typeof value === 'number' ? value.toFixed(scale) : value;
    const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text);
    if (!m || (m[3] ?? '').replace(/0+$/, '').length > scale) throw new TributaryError('INVALID_ARGUMENT', `pgKeyText.numeric: ${text} does not fit scale ${scale}`);
    return `${m[1]}${m[2]}${scale > 0 ? '.' + (m[3] ?? '').padEnd(scale, '0') : ''}`;
  },
  /** `boolean`: `t` / `f`. */
  bool(b: boolean): string {
    return b ? 't' : 'f';
  },
  /** `bytea`: `\x` and lower-case hex. */
  bytea(b: ArrayBuffer | ArrayBufferView): string {
    const buf = b instanceof ArrayBuffer ? Buffer.from(b) : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    return '\\x' + buf.toString('hex');
  },
  /** `uuid`: lower-case with dashes. */
  uuid(u: { toString(): string } | string): string {
    return String(u).toLowerCase();
  },
};

/**
 * The realm key of a row with a composite key (or a single key column that is not an int, text
 * or uuid): the key columns' values in key order. Strings are taken as the column's text; safe
 * integers, bigints and booleans are printed as PostgreSQL prints them; dates, decimals and binary
 * need `pgKeyText` (their text depends on the column type).
 */
export function compositeKey(parts: readonly (string | number | bigint | boolean)[]): string {
  return encodeCompositeKey(
    parts.map((p, i) => {
      if (typeof p === 'string') return p;
      if (typeof p === 'bigint') return p.toString();
      if (typeof p === 'boolean') return pgKeyText.bool(p);
      if (typeof p === 'number' && Number.isSafeInteger(p)) return String(p);
      throw new TributaryError('INVALID_ARGUMENT', `compositeKey: part ${i} (${String(p)}) is not a string, an integer, a bigint or a boolean; print it with pgKeyText (timestamptz, timestamp, date, numeric, bytea) first`);
    }),
  );
}
