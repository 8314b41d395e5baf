/**
 * Finnish calendar days. Consent periods, withdrawals and responsible-worker periods are days in
 * Finland, so an instant is read as the day it is in Europe/Helsinki (a consent starting on 1 June
 * permits at 00:30 Finnish time, which is still 31 May in UTC).
 */

/** Made on first use: building it loads ICU's time-zone data (tens of ms), which a HETU check rarely needs. */
let helsinki: Intl.DateTimeFormat | undefined;
function HELSINKI(): Intl.DateTimeFormat {
  helsinki ??= new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Helsinki',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
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
    const instant = new Date(when);
    if (Number.isNaN(instant.getTime())) return when.slice(0, 10);
    return dayIn(instant);
  }
  return dayIn(when);
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

function dayIn(instant: Date): string {
  const parts: Record<string, string> = {};
  for (const p of HELSINKI().formatToParts(instant)) parts[p.type] = p.value;
  return `${parts.year}-${parts.month}-${parts.day}`;
}
