/**
 * The instant (ms since the epoch) of a UTC date and time. Unlike `Date.UTC`, years 0–99 are those
 * years, not 1900–1999. A day past the month's end rolls into the next month, as `Date.UTC`'s does.
 */
export function utcInstant(
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
  ms = 0,
): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, day);
  d.setUTCHours(hour, minute, second, ms);
  return d.getTime();
}
