// A date range asked for in a query as `start` and `end`, each an R4 date (a year, a month or a day),
// as Patient/$everything takes it and the domain API's disclosure log too.
import { finnishDayStart } from '../../domain/index.ts';
import { FhirError } from '../../shared/outcome.ts';
import { parseDateRange } from '../../store/index.ts';

/** An R4 `date`: a year, a month or a day (that exists: parseDateRange knows how long each month is). */
const FHIR_DATE = /^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$/;

/** `start` and `end` as given (either may be absent). */
export interface DateRangeParams {
  start?: string;
  end?: string;
}

/** `start` and `end` of `query`, each one R4 date given at most once; 400 naming the parameter otherwise. */
export function dateRangeParams(query: Record<string, unknown>): DateRangeParams {
  const dates: DateRangeParams = {};
  for (const name of ['start', 'end'] as const) {
    const value = query[name];
    if (value === undefined) continue;
    // The value is not quoted: a query's text may be anything a client typed.
    if (typeof value !== 'string' || !FHIR_DATE.test(value) || !parseDateRange(value))
      throw FhirError.badRequest(`${name} must be one date such as 2025, 2025-05 or 2025-05-31`, name);
    dates[name] = value;
  }
  const { start, end } = dates;
  // Compared at the coarser precision: start=2025-05-10 and end=2025-05 overlap.
  const common = Math.min(start?.length ?? 0, end?.length ?? 0);
  if (start && end && start.slice(0, common) > end.slice(0, common))
    throw FhirError.badRequest('start is after end', 'start');
  return dates;
}

/**
 * The instants `dates` covers as days in Finland: from the first moment of `start` up to (not
 * including) the end of `end`, each day from midnight to midnight in Europe/Helsinki.
 */
export function finnishDateRangeInstants(dates: DateRangeParams): { from?: Date; until?: Date } {
  // The UTC range of each date names its first day and the day after its last.
  const from = dates.start ? parseDateRange(dates.start)?.low : undefined;
  const until = dates.end ? parseDateRange(dates.end)?.high : undefined;
  return {
    ...(from ? { from: finnishStartOf(from) } : {}),
    // After 9999 there is no end: the day after it has no YYYY-MM-DD.
    ...(until && until.getUTCFullYear() <= 9999 ? { until: finnishStartOf(until) } : {}),
  };
}

/** Where in Finland the UTC day that begins at `d` begins. */
const finnishStartOf = (d: Date) => finnishDayStart(d.toISOString().slice(0, 10));
