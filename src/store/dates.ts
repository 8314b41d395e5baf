// FHIR date/dateTime/instant values as half-open UTC ranges [low, high), the form search compares.
import { utcInstant } from '../shared/utc-instant.ts';

export interface DateRange {
  low: Date;
  high: Date;
}

const DATE_RE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * Parses a FHIR date, dateTime or instant (partial precision allowed; a time without zone is read
 * as UTC). Returns undefined when the text is not a valid date.
 */
export function parseDateRange(text: string): DateRange | undefined {
  const m = DATE_RE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y);
  const month = mo === undefined ? 1 : Number(mo);
  const day = d === undefined ? 1 : Number(d);
  const hour = h === undefined ? 0 : Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  const second = s === undefined ? 0 : Number(s);
  const ms = frac === undefined ? 0 : Number(`0.${frac}`) * 1000;
  if (year < 1) return undefined; // FHIR has no year 0000
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const offsetMin = tz === undefined || tz === 'Z' ? 0 : tzMinutes(tz);
  if (offsetMin === undefined) return undefined;

  const start = utcInstant(year, month - 1, day, hour, minute, second, Math.floor(ms)) - offsetMin * 60_000;
  const low = new Date(start);
  let high: number;
  if (mo === undefined) high = utcInstant(year + 1, 0, 1);
  else if (d === undefined) high = utcInstant(year, month, 1);
  else if (h === undefined) high = utcInstant(year, month - 1, day + 1);
  else if (s === undefined) high = start + 60_000;
  else if (frac === undefined) high = start + 1000;
  else high = start + 1;
  return { low, high: new Date(high) };
}

/** An instant as FHIR writes one: to the second, with its zone. */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A FHIR instant on a day that exists, as milliseconds since the epoch; undefined for any other text
 * (not Date.parse, which takes `"1"`, or 30 February for 2 March).
 */
export function parseInstant(text: string): number | undefined {
  return INSTANT.test(text) ? parseDateRange(text)?.low.getTime() : undefined;
}

/**
 * A range end as timestamptz text. `toISOString` writes years past 9999 as `+010000-…`, which
 * PostgreSQL does not read; the end of year 9999 is the end of representable FHIR time, so infinity.
 */
export function sqlTimestamp(d: Date): string {
  const year = d.getUTCFullYear();
  if (year > 9999) return 'infinity';
  if (year < 1) return '-infinity';
  return d.toISOString();
}

function daysInMonth(year: number, month: number): number {
  return new Date(utcInstant(year, month, 0)).getUTCDate();
}

function tzMinutes(tz: string): number | undefined {
  const sign = tz.startsWith('-') ? -1 : 1;
  const hours = Number(tz.slice(1, 3));
  const minutes = Number(tz.slice(4, 6));
  if (hours > 14 || minutes > 59) return undefined;
  return sign * (hours * 60 + minutes);
}

/** A Period: missing start or end is open (±infinity, as null here). */
export function periodRange(
  start?: string,
  end?: string,
): { low: Date | null; high: Date | null } | undefined {
  const lo = start === undefined ? null : parseDateRange(start);
  const hi = end === undefined ? null : parseDateRange(end);
  if (lo === undefined || hi === undefined) return undefined;
  return { low: lo ? lo.low : null, high: hi ? hi.high : null };
}
