// Commands that read an existing store refuse a PostgreSQL database holding no tyokyky store as they
// refuse a --data-dir without one (exit 2, "no store in …"), and make nothing there: a mistyped database
// name would otherwise answer as an empty store, and leave the whole schema behind.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHere as run } from '../helpers/cli.ts';
import { dropDatabase, freshDatabase } from '../helpers/databases.ts';

let url = '';
beforeAll(async () => {
  url = await freshDatabase('tyokyky_cli_nostore');
}, 60_000);
afterAll(async () => {
  if (url) await dropDatabase(url);
});

async function tables(): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    );
    return r.rows.map((row) => row.table_name as string);
  } finally {
    await client.end();
  }
}

describe('read-only commands on an empty PostgreSQL database', () => {
  it.each([
    [['sync', 'dead-letters'], 'sync'],
    [['sync', 'status'], 'sync'],
    [['clients', 'list'], 'clients'],
  ])(
    '%j: exit 2 "no store in …", nothing made',
    async (args, prefix) => {
      const r = await run([...args, '--database-url', url]);
      const database = new URL(url).pathname.slice(1);
      expect(r.code).toBe(2);
      expect(r.out).toMatch(
        new RegExp(
          `^tyokyky ${prefix}: no store in PostgreSQL database "${database}" at [^ ]+ \\(no tyokyky tables there\\); pass --data-dir or --database-url\\n$`,
        ),
      );
      expect(await tables()).toEqual([]);
    },
    60_000,
  );

  it('once a client is added (which may make the store), list reads it', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'tyokyky-pg-nostore-'));
    try {
      expect((await run(['clients', 'keygen', '--out', join(dir, 'k')])).code).toBe(0);
      const add = ['clients', 'add', 'c1', '--scope', 'system/*.rs', '--jwks-file', join(dir, 'k.jwks.json')];
      expect((await run([...add, '--database-url', url])).code).toBe(0);
      const list = await run(['clients', 'list', '--database-url', url]);
      expect(list.code).toBe(0);
      expect(list.out).toContain('c1\t-\tsystem/*.rs\t1 key(s)');
      expect((await run(['sync', 'status', '--database-url', url])).code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
