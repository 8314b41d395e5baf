// Every `tyokyky clients` subcommand opens its store through one wrapper: a store it cannot open (a
// PGlite directory another process holds, a PostgreSQL database that does not exist) is one line with
// the `tyokyky clients:` prefix and exit 2, as `add` has always answered; a password in the database
// URL (user:password@ or ?password=) is never printed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockDataDir } from '../../src/store/dir-lock.ts';
import { runHere as run } from '../helpers/cli.ts';
import { PG_URL } from '../helpers/databases.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-clients-store-'));
const data = join(dir, 'data');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ADD = ['clients', 'add', 'c', '--scope', 'system/*.rs', '--jwks-url', 'https://c.example/jwks'];

describe('tyokyky clients on a store it cannot open', () => {
  beforeAll(async () => {
    expect((await run([...ADD, '--data-dir', data])).code).toBe(0);
  }, 120_000);

  it('a PGlite directory in use: add, list and remove all answer exit 2 with the clients prefix', async () => {
    const release = lockDataDir(data);
    try {
      for (const args of [ADD, ['clients', 'list'], ['clients', 'remove', 'c']]) {
        const r = await run([...args, '--data-dir', data]);
        expect(r.code).toBe(2);
        expect(r.out).toMatch(/^tyokyky clients: data directory \S+ is in use by process \d+ .*\n$/);
      }
    } finally {
      release();
    }
  }, 60_000);

  it('a PostgreSQL database that does not exist: list and remove exit 2 with the clients prefix', async () => {
    // Never made: the name is this run's own, so no other run's database answers.
    const url = `${PG_URL}/rv_clifix_missing_${process.pid}`;
    for (const args of [
      ['clients', 'list'],
      ['clients', 'remove', 'c'],
    ]) {
      const r = await run([...args, '--database-url', url]);
      expect(r.code).toBe(2);
      expect(r.out).toMatch(/^tyokyky clients: Cannot connect to PostgreSQL at .*does not exist\n$/);
    }
  }, 60_000);

  it('a password in the URL query (?password=) is masked as one in user:password@ is', async () => {
    const r = await run([
      'clients',
      'list',
      '--database-url',
      'postgres://u@127.0.0.1:9/x?password=s3cret&sslpassword=t0p&application_name=cli',
    ]);
    expect(r.code).toBe(2);
    expect(r.out).not.toContain('s3cret');
    expect(r.out).not.toContain('t0p');
    expect(r.out).toContain(
      'Cannot connect to PostgreSQL at postgres://u@127.0.0.1:9/x?password=***&sslpassword=***&application_name=cli:',
    );
  }, 60_000);
});
