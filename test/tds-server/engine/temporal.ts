/**
 * Calendar arithmetic for the temporal value model: days since 0001-01-01 (proleptic Gregorian,
 * as TDS counts them) and 100 ns ticks since midnight. Pure functions, no Date objects, so
 * datetime2(7) precision and dates before 1970 or after 2038 are exact.
 */
import { SqlError, errors } from './errors';
import { SqlTemporal, TICKS_PER_DAY, TypeName } from './sql-types';

/** Days from 0001-01-01 to the given civil date (month 1..12). */
export function daysFromCivil(year: number, month: number, day: number): number {
  // Howard Hinnant's days_from_civil, shifted from the 1970 epoch to year one.
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 306; // 0001-03-01 is day 59 of year one; 306 re-bases 0000-03-01
}

export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 306;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

export const DAYS_TO_1900 = daysFromCivil(1900, 1, 1);
export const DAYS_TO_1970 = daysFromCivil(1970, 1, 1);

const TEMPORAL_TEXT = /^\s*(?:(\d{4})-(\d{1,2})-(\d{1,2}))?(?:[T ]?(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:\d{2})?\s*$/i;

/** Parses ISO-8601-like text ('2024-01-02', '2024-01-02T03:04:05.1234567+05:30', '03:04:05'). */
export function parseTemporal(text: string): SqlTemporal {
  const m = TEMPORAL_TEXT.exec(text);
  if (!m || (m[1] === undefined && m[4] === undefined)) throw errors.dateConversion();
  let days: number | null = null;
  if (m[1] !== undefined) {
    const year = Number(m[1]);
    const month = Number(m[2]);
    const day = Number(m[3]);
    if (month < 1 || month > 12 || day < 1 || day > 31) throw errors.dateConversion();
    days = daysFromCivil(year, month, day);
    if (civilFromDays(days).day !== day) throw errors.dateConversion();
  }
  let ticks: number | null = null;
  if (m[4] !== undefined) {
    const h = Number(m[4]);
    const min = Number(m[5]);
    const s = Number(m[6] ?? 0);
    if (h > 23 || min > 59 || s > 59) throw errors.dateConversion();
    const fraction = (m[7] ?? '').padEnd(7, '0').slice(0, 7);
    ticks = ((h * 60 + min) * 60 + s) * 10_000_000 + Number(fraction);
  }
  let offsetMinutes: number | null = null;
  if (m[8] !== undefined) {
    offsetMinutes = m[8].toUpperCase() === 'Z' ? 0 : (m[8][0] === '-' ? -1 : 1) * (Number(m[8].slice(1, 3)) * 60 + Number(m[8].slice(4, 6)));
    // A value with an offset is held as UTC plus the offset, as TDS carries datetimeoffset.
    const utc = shiftMinutes(days ?? DAYS_TO_1900, ticks ?? 0, -offsetMinutes);
    return { kind: 'temporal', days: utc.days, ticks: utc.ticks, offsetMinutes };
  }
  return { kind: 'temporal', days, ticks, offsetMinutes };
}

/** Moves a local date-time by minutes, carrying into days. */
export function shiftMinutes(days: number, ticks: number, minutes: number): { days: number; ticks: number } {
  let t = ticks + minutes * 600_000_000;
  let d = days;
  while (t < 0) { t += TICKS_PER_DAY; d -= 1; }
  while (t >= TICKS_PER_DAY) { t -= TICKS_PER_DAY; d += 1; }
  return { days: d, ticks: t };
}

/** Rounds ticks to `scale` fractional digits, carrying a full day into the date. */
export function roundTicks(days: number | null, ticks: number, scale: number): { days: number | null; ticks: number } {
  const unit = 10 ** (7 - scale);
  let t = Math.round(ticks / unit) * unit;
  let d = days;
  if (t >= TICKS_PER_DAY) { t -= TICKS_PER_DAY; d = d === null ? null : d + 1; }
  return { days: d, ticks: t };
}

/** Converts a temporal value to the representation a column of `to` stores. */
export function convertTemporal(v: SqlTemporal, to: TypeName, scale: number): SqlTemporal {
  // A datetimeoffset is stored as UTC plus its offset; every other type holds the local clock time.
  let days = v.days;
  let ticks = v.ticks;
  if (v.offsetMinutes !== null && to !== 'datetimeoffset' && days !== null && ticks !== null) {
    ({ days, ticks } = shiftMinutes(days, ticks, v.offsetMinutes));
  }
  switch (to) {
    case 'date':
      if (days === null) throw errors.dateConversion();
      return { kind: 'temporal', days, ticks: null, offsetMinutes: null };
    case 'time': {
      if (ticks === null) return { kind: 'temporal', days: null, ticks: 0, offsetMinutes: null };
      const r = roundTicks(null, ticks, scale);
      return { kind: 'temporal', days: null, ticks: r.ticks % TICKS_PER_DAY, offsetMinutes: null };
    }
    case 'datetime': {
      const d = days ?? DAYS_TO_1900;
      // datetime counts 1/300 s.
      const threeHundredths = Math.round(((ticks ?? 0) * 300) / 10_000_000);
      let t = Math.round((threeHundredths * 10_000_000) / 300);
      let dd = d;
      if (t >= TICKS_PER_DAY) { t -= TICKS_PER_DAY; dd += 1; }
      if (dd < daysFromCivil(1753, 1, 1)) throw new SqlError(242, 'The conversion of a varchar data type to a datetime data type resulted in an out-of-range value.', { abortsBatch: true });
      return { kind: 'temporal', days: dd, ticks: t, offsetMinutes: null };
    }
    case 'smalldatetime': {
      const minute = 600_000_000;
      let t = Math.round((ticks ?? 0) / minute) * minute;
      let dd = days ?? DAYS_TO_1900;
      if (t >= TICKS_PER_DAY) { t -= TICKS_PER_DAY; dd += 1; }
      return { kind: 'temporal', days: dd, ticks: t, offsetMinutes: null };
    }
    case 'datetime2': {
      const r = roundTicks(days ?? DAYS_TO_1900, ticks ?? 0, scale);
      return { kind: 'temporal', days: r.days, ticks: r.ticks, offsetMinutes: null };
    }
    case 'datetimeoffset': {
      if (v.offsetMinutes !== null) {
        const r = roundTicks(days ?? DAYS_TO_1900, ticks ?? 0, scale);
        return { kind: 'temporal', days: r.days, ticks: r.ticks, offsetMinutes: v.offsetMinutes };
      }
      // A local time without an offset becomes that time at +00:00.
      const r = roundTicks(days ?? DAYS_TO_1900, ticks ?? 0, scale);
      return { kind: 'temporal', days: r.days, ticks: r.ticks, offsetMinutes: 0 };
    }
    default:
      throw errors.dateConversion();
  }
}

/** ISO text of a temporal value as the engine prints it (datetimeoffset in its own offset). */
export function formatTemporal(v: SqlTemporal, type: TypeName, scale = 7): string {
  let days = v.days;
  let ticks = v.ticks;
  if (type === 'datetimeoffset' && v.offsetMinutes !== null && days !== null && ticks !== null) {
    ({ days, ticks } = shiftMinutes(days, ticks, v.offsetMinutes));
  }
  const parts: string[] = [];
  if (days !== null) {
    const c = civilFromDays(days);
    parts.push(`${String(c.year).padStart(4, '0')}-${String(c.month).padStart(2, '0')}-${String(c.day).padStart(2, '0')}`);
  }
  if (ticks !== null && type !== 'date') {
    const totalSeconds = Math.floor(ticks / 10_000_000);
    const frac = ticks % 10_000_000;
    const hh = String(Math.floor(totalSeconds / 3600)).padStart(2, '0');
    const mm = String(Math.floor((totalSeconds % 3600) / 60)).padStart(2, '0');
    const ss = String(totalSeconds % 60).padStart(2, '0');
    const digits = type === 'datetime' ? 3 : type === 'smalldatetime' ? 0 : scale;
    const fraction = digits > 0 ? '.' + String(frac).padStart(7, '0').slice(0, digits) : '';
    parts.push(`${hh}:${mm}:${ss}${fraction}`);
  }
  let text = parts.join(' ');
  if (type === 'datetimeoffset' && v.offsetMinutes !== null) {
    const o = Math.abs(v.offsetMinutes);
    text += ` ${v.offsetMinutes < 0 ? '-' : '+'}${String(Math.floor(o / 60)).padStart(2, '0')}:${String(o % 60).padStart(2, '0')}`;
  }
  return text;
}

/** The current time as a local (UTC) temporal value. */
export function nowTemporal(): SqlTemporal {
  const ms = Date.now();
  const days = DAYS_TO_1970 + Math.floor(ms / 86_400_000);
  const ticks = (ms % 86_400_000) * 10_000;
  return { kind: 'temporal', days, ticks, offsetMinutes: null };
}

/** A comparable instant in ticks (UTC for datetimeoffset). */
export function temporalInstant(v: SqlTemporal): bigint {
  return BigInt(v.days ?? 0) * BigInt(TICKS_PER_DAY) + BigInt(v.ticks ?? 0);
}
