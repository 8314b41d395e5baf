// Date search (R4 search.html, "date"): a search value names a range [low, high) by its precision
// (`2026` is the whole year), and each prefix compares it with the range a stored value covers. One table
// of comparisons serves the SQL (rangeCondition), values held in memory (dateSearchMatcher) and instants
// (instantCondition).
import { parseDateRange, periodRange, sqlTimestamp } from './dates.ts';
import { type Prefix, badSearch, splitPrefix } from './search-values.ts';

/** Which end of a range a comparison reads. */
type End = 'low' | 'high';
type Comparison = readonly [stored: End, op: '<' | '<=' | '>' | '>=', search: End];

/**
 * How each prefix compares a stored range [low, high) with the search value's [low, high): one table,
 * read as SQL by `rangeCondition` and in memory by `dateSearchMatcher`. `ap` compares with the
 * widened search range (parseDateSearch).
 */
const RANGE_RULES: Record<Prefix, { all: readonly Comparison[]; not?: true }> = {
  eq: {
    all: [
      ['low', '>=', 'low'],
      ['high', '<=', 'high'],
    ],
  },
  ne: {
    all: [
      ['low', '>=', 'low'],
      ['high', '<=', 'high'],
    ],
    not: true,
  },
  gt: { all: [['high', '>', 'high']] },
  ge: { all: [['high', '>', 'low']] },
  lt: { all: [['low', '<', 'low']] },
  le: { all: [['low', '<', 'high']] },
  sa: { all: [['low', '>=', 'high']] },
  eb: { all: [['high', '<=', 'low']] },
  ap: {
    all: [
      ['low', '<', 'high'],
      ['high', '>', 'low'],
    ],
  },
};

/** Search value range [sl, sh) against a stored range [d.low, d.high). */
export function rangeCondition(prefix: Prefix, sl: () => string, sh: () => string): string {
  const search = { low: () => `${sl()}::timestamptz`, high: () => `${sh()}::timestamptz` };
  const { all, not } = RANGE_RULES[prefix];
  const parts = all.map(([stored, op, bound]) => `d.${stored} ${op} ${search[bound]()}`);
  const joined = parts.length === 1 ? (parts[0] as string) : `(${parts.join(' AND ')})`;
  return not ? `NOT ${joined}` : joined;
}

const COMPARE: Record<Comparison[1], (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

/**
 * The date search `wanted` (`ge2026-01-01`, …) as a test of a value held in memory — a FHIR date,
 * dateTime or instant, or a Period — by the same rules as the indexed search; a malformed value is the
 * same 400 naming `key`. For callers that filter what a search returned (the Kanta sandbox).
 */
export function dateSearchMatcher(key: string, wanted: string): (value: unknown) => boolean {
  const search = parseDateSearchValue(key, wanted);
  return (value) => dateSearchMatches(search, value);
}

/** Whether a date value held in memory (see `dateSearchMatcher`) matches the parsed date search. */
export function dateSearchMatches(search: DateSearch, value: unknown): boolean {
  const range = heldRange(value);
  if (!range) return false;
  const bounds = { low: search.low.getTime(), high: search.high.getTime() };
  const { all, not } = RANGE_RULES[search.prefix];
  const hit = all.every(([stored, op, bound]) => COMPARE[op](range[stored], bounds[bound]));
  return not ? !hit : hit;
}

/** A held date value's range in milliseconds (an open Period end is ±infinity), or undefined. */
function heldRange(value: unknown): { low: number; high: number } | undefined {
  if (typeof value === 'string') {
    const r = parseDateRange(value);
    return r && { low: r.low.getTime(), high: r.high.getTime() };
  }
  if (value && typeof value === 'object') {
    const p = value as { start?: unknown; end?: unknown };
    if (p.start !== undefined && typeof p.start !== 'string') return undefined;
    if (p.end !== undefined && typeof p.end !== 'string') return undefined;
    const r = periodRange(p.start, p.end);
    return (
      r && {
        low: r.low?.getTime() ?? Number.NEGATIVE_INFINITY,
        high: r.high?.getTime() ?? Number.POSITIVE_INFINITY,
      }
    );
  }
  return undefined;
}

/**
 * A date search against instants: true where some instant from the column `earliest` to the column
 * `latest` may match (both the same column for one instant each, as `_lastUpdated`; the first and last
 * time of a batch of audit records). An instant `t` is the range [t, t + 1 ms), so by RANGE_RULES `eq`
 * and `ap` match `low ≤ t < high`, `gt`/`sa` `t ≥ high`, `ge` `t ≥ low`, `lt`/`eb` `t < low`, `le`
 * `t < high`, `ne` anything outside [low, high).
 */
export function instantCondition(
  earliest: string,
  latest: string,
  search: DateSearch,
  bind: (v: unknown) => string,
): string {
  const low = () => `${bind(sqlTimestamp(search.low))}::timestamptz`;
  const high = () => `${bind(sqlTimestamp(search.high))}::timestamptz`;
  switch (search.prefix) {
    case 'eq':
    case 'ap':
      return `(${latest} >= ${low()} AND ${earliest} < ${high()})`;
    case 'ne':
      return `(${earliest} < ${low()} OR ${latest} >= ${high()})`;
    case 'gt':
    case 'sa':
      return `${latest} >= ${high()}`;
    case 'ge':
      return `${latest} >= ${low()}`;
    case 'lt':
    case 'eb':
      return `${earliest} < ${low()}`;
    case 'le':
      return `${earliest} < ${high()}`;
  }
}

/** A date search value parsed: its prefix and the range its date names. */
export interface DateSearch {
  prefix: Prefix;
  low: Date;
  high: Date;
}

/**
 * A date search value (`ge2026-01-01`): its prefix (any of R4's) and range, widened by 10 % of its
 * distance from now for `ap`; a bad prefix or date is a 400 naming `key`.
 */
export function parseDateSearchValue(key: string, value: string): DateSearch {
  const { prefix, text } = splitPrefix(key, value);
  const range = parseDateRange(text);
  if (!range) {
    throw badSearch(key, `Invalid value for '${key}': not a valid FHIR date/dateTime`);
  }
  if (prefix === 'ap') {
    // R4 search.html: "approximately" is ±10 % of the gap between now and the date.
    const low = range.low.getTime();
    const high = range.high.getTime();
    const margin = 0.1 * Math.abs(Date.now() - (low + high) / 2);
    return { prefix, low: new Date(low - margin), high: new Date(high + margin) };
  }
  return { prefix, low: range.low, high: range.high };
}

/** A date search value with its range as SQL timestamps. */
export function parseDateSearch(key: string, value: string): { prefix: Prefix; low: string; high: string } {
  const { prefix, low, high } = parseDateSearchValue(key, value);
  return { prefix, low: sqlTimestamp(low), high: sqlTimestamp(high) };
}
