import { describe, expect, it } from 'vitest';
import { preparer } from '../../src/store/engine.ts';

describe('prepared statements on PostgreSQL', () => {
  it('names each statement shape with parameters once, up to the cap', () => {
    const prepare = preparer(2);
    expect(prepare('SELECT 1')).toBe('SELECT 1');
    const a = prepare('SELECT $1::int', [1]) as { name?: string; values: unknown[] };
    expect(a.name).toMatch(/^tyk_[0-9a-f]{20}$/);
    expect((prepare('SELECT $1::int', [2]) as { name?: string }).name).toBe(a.name);
    const b = prepare('SELECT $1::text', ['x']) as { name?: string };
    expect(b.name).toMatch(/^tyk_/);
    expect(b.name).not.toBe(a.name);
    // Past the cap a new shape runs unnamed; the named ones keep their names.
    expect(prepare('SELECT $1::bigint', [3])).toEqual({ text: 'SELECT $1::bigint', values: [3] });
    expect((prepare('SELECT $1::int', [4]) as { name?: string }).name).toBe(a.name);
  });
});
