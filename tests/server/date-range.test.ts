// `start` and `end` as the disclosure log takes them: days in Finland, from midnight to midnight in
// Europe/Helsinki, so a disclosure at 01:30 on 1 June Finnish time (22:30 UTC on 31 May) is June's.
import { describe, expect, it } from 'vitest';
import { dateRangeParams, finnishDateRangeInstants } from '../../src/server/http/date-range.ts';

const instants = (query: Record<string, string>) => {
  const { from, until } = finnishDateRangeInstants(dateRangeParams(query));
  return { from: from?.toISOString(), until: until?.toISOString() };
};

describe('a date range in days in Finland', () => {
  it('runs from midnight of the first day to midnight after the last, summer or winter', () => {
    expect(instants({ start: '2026-06', end: '2026-06' })).toEqual({
      from: '2026-05-31T21:00:00.000Z',
      until: '2026-06-30T21:00:00.000Z',
    });
    expect(instants({ start: '2026-01-15', end: '2026' })).toEqual({
      from: '2026-01-14T22:00:00.000Z',
      until: '2026-12-31T22:00:00.000Z',
    });
    expect(instants({ end: '2026-03-28' })).toEqual({ from: undefined, until: '2026-03-28T22:00:00.000Z' });
    expect(instants({})).toEqual({ from: undefined, until: undefined });
    // The first and the last years a date may name: Helsinki's local mean time before 1921, no end after 9999.
    expect(instants({ start: '0001', end: '9999' })).toEqual({
      from: '0000-12-31T22:20:11.000Z',
      until: undefined,
    });
    expect(instants({ end: '9999-12-30' })).toEqual({ from: undefined, until: '9999-12-30T22:00:00.000Z' });
  });

  it('refuses a day that no month has, naming the parameter', () => {
    for (const [name, value] of [
      ['start', '2026-02-29'],
      ['end', '2026-04-31'],
    ]) {
      expect(() => dateRangeParams({ [name]: value })).toThrow(
        `${name} must be one date such as 2025, 2025-05 or 2025-05-31`,
      );
    }
    expect(dateRangeParams({ start: '2028-02-29' })).toEqual({ start: '2028-02-29' });
  });
});
