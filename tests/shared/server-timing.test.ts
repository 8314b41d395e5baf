import { describe, expect, it } from 'vitest';
import { ServerTiming, parseServerTiming } from '../../src/shared/server-timing.ts';

describe('Server-Timing', () => {
  it('writes summed spans and reads them back', async () => {
    const timing = new ServerTiming();
    expect(timing.header()).toBeUndefined();
    timing.measure('validate', () => 1);
    await timing.measure('db', () => new Promise((r) => setTimeout(r, 5)));
    timing.measure('validate', () => 2);
    const parsed = parseServerTiming(timing.header());
    expect([...parsed.keys()]).toEqual(['validate', 'db']);
    expect(parsed.get('db')).toBeGreaterThanOrEqual(4);
  });

  it('keeps entries with a duration and skips the rest', () => {
    const parsed = parseServerTiming(
      'cache;desc="Cache Read";dur=23.2, miss, db;dur=x, app;dur=1, app;dur=2',
    );
    expect([...parsed]).toEqual([
      ['cache', 23.2],
      ['app', 3],
    ]);
    expect(parseServerTiming(null).size).toBe(0);
  });

  it('counts a span that throws', () => {
    const timing = new ServerTiming();
    expect(() =>
      timing.measure('validate', () => {
        throw new Error('invalid');
      }),
    ).toThrow('invalid');
    expect(parseServerTiming(timing.header()).has('validate')).toBe(true);
  });
});
