/**
 * Finnish calendar days. Consent periods, withdrawals and responsible-worker periods are days in
 * Finland, so an instant is read as the day it is in Europe/Helsinki (a consent starting on 1 June
 * permits at 00:30 Finnish time, which is still 31 May in UTC).
 */
import { utcInstant } from '../../shared/utc-instant.ts';

/**
 * The wall clock in Helsinki, to the second. Made on first use: building it loads ICU's time-zone
 * data (tens of ms), which a HETU check rarely needs.
 */
let helsinki: Intl.DateTimeFormat | undefined;
function HELSINKI(): Intl.DateTimeFormat {
  helsinki ??= new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Helsinki',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  return helsinki;
}

/** A FHIR dateTime with a time carries its zone (Z or ±hh:mm); without one it is read as written. */
const WITH_ZONE = /T.*(Z|[+-]\d{2}:\d{2})$/;

/**
 * The Finnish calendar day (`YYYY-MM-DD`) of `when`: a Date or a dateTime with a zone is converted
 * to Europe/Helsinki; a date (or a dateTime without a zone) is its own day. Now by default.
 */
export function finnishDay(when: string | Date = new Date()): string {
  if (typeof when === 'string') {
    if (!WITH_ZONE.test(when)) return when.slice(0, 10);
    const instant = new Date(withoutLeapSecond(when));
    if (Number.isNaN(instant.getTime())) return when.slice(0, 10);
    return dayIn(instant);
  }
  // JSON that is not well-formed (a number, an object where a date belongs) is no point in time.
  if (!(when instanceof Date)) throw new TypeError('not a date: neither a string nor a Date');
  return dayIn(when);
}

/** Second 60 of a time (a leap second, which FHIR's dateTime allows), with what follows it. */
const LEAP_SECOND = /(T\d{2}:\d{2}):60(?=[.Z+-]|$)/;

/**
 * `when` with a leap second read as second 59 of its minute: JavaScript's Date has no second 60, and
 * the minute, hence the day in any zone, stays the same.
 */
function withoutLeapSecond(when: string): string {
  return when.replace(LEAP_SECOND, '$1:59');
}

/** A calendar date, or a dateTime with a time (and its zone; without one it is read as written). */
const DAY_OR_INSTANT = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * `finnishDay` of the day a rule is asked about, or `undefined` when `when` is not one: a calendar
 * date (`YYYY-MM-DD`, a real day), a dateTime (`finnishDay` reads its zone), or a valid Date.
 */
export function calendarDay(when: string | Date): string | undefined {
  if (when instanceof Date) return Number.isNaN(when.getTime()) ? undefined : dayIn(when);
  const m = typeof when === 'string' ? DAY_OR_INSTANT.exec(when) : null;
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (
    probe.getUTCMonth() !== month - 1 ||
    probe.getUTCDate() !== day ||
    Number.isNaN(Date.parse(withoutLeapSecond(when)))
  )
    return undefined;
  return finnishDay(when);
}

/** Why a rule's day argument `name` was refused (the value is not quoted). */
export const notADay = (name: string) =>
  `${name}: not a calendar day — expected YYYY-MM-DD, a dateTime or a valid Date`;

/**
 * `calendarDay` of a rule's day argument `name`, or a RangeError naming it: a rule must not answer
 * for a day that does not exist (a string compare would place '2026-03-99' inside March).
 */
export function dayArgument(when: string | Date, name: string): string {
  const day = calendarDay(when);
  if (day === undefined) throw new RangeError(notADay(name));
  return day;
}

/** `finnishDay` of a FHIR date or dateTime that may be absent: absent stays absent (never today). */
export function finnishDayOf(value: string | undefined): string | undefined {
  return value === undefined ? undefined : finnishDay(value);
}

/** The calendar day before `date` (`YYYY-MM-DD`). */
export function dayBefore(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

/** The calendar day after `date` (`YYYY-MM-DD`). */
export function dayAfter(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/**
 * The instant the Finnish calendar day `day` (`YYYY-MM-DD`) begins: midnight in Europe/Helsinki.
 * That is two or three hours before midnight UTC since 1921, and 1:39:49 before it earlier (local
 * mean time); the clocks never change at midnight there, so the offset an instant before midnight
 * finds is the day's.
 */
export function finnishDayStart(day: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) throw new RangeError(notADay('day'));
  const utcMidnight = utcInstant(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  let start = utcMidnight - helsinkiAheadMs(utcMidnight);
  start = utcMidnight - helsinkiAheadMs(start);
  if (dayIn(new Date(start)) !== day || dayIn(new Date(start - 1)) === day)
    throw new RangeError(notADay('day'));
  return new Date(start);
}

/** How far Helsinki's wall clock is ahead of UTC at `instant` (ms since the epoch, whole seconds). */
function helsinkiAheadMs(instant: number): number {
  const p = helsinkiParts(new Date(instant));
  const wall = utcInstant(
    Number(p.year),
    Number(p.month) - 1,
    Number(p.day),
    Number(p.hour),
    Number(p.minute),
    Number(p.second),
  );
  return wall - Math.floor(instant / 1000) * 1000;
}

/** Helsinki's wall clock at `instant`, by part (`year`, `month`, `day`, `hour`, `minute`, `second`). */
function helsinkiParts(instant: Date): Record<string, string> {
  const parts: Record<string, string> = {};
  for (const p of HELSINKI().formatToParts(instant)) parts[p.type] = p.value;
  return parts;
}

function dayIn(instant: Date): string {
  const parts = helsinkiParts(instant);
  // ICU writes a year before 1000 with fewer digits.
  return `${parts.year?.padStart(4, '0')}-${parts.month}-${parts.day}`;
}
