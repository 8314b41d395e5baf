import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { preparer } from '../../src/store/engine.ts';
import { openStore } from '../../src/store/index.ts';
import { pgliteArchiveBlob } from '../../src/store/template.ts';

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

describe('in-memory PGlite stores', () => {
  it('start from one read of the template dump per process, each with a database of its own', async () => {
    expect(await pgliteArchiveBlob()).toBe(await pgliteArchiveBlob());
    const [a, b] = [await openStore({ dataDir: 'memory://' }), await openStore({ dataDir: 'memory://' })];
    try {
      const written = await a.create<Resource>({ resourceType: 'Basic', code: { text: 'x' } } as Resource);
      expect((await a.read('Basic', written.resource.id!)).id).toBe(written.resource.id);
      await expect(b.read('Basic', written.resource.id!)).rejects.toMatchObject({ status: 404 });
    } finally {
      await a.close();
      await b.close();
    }
  });
});
