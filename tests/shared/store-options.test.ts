// Which store a command opens: --data-dir and --database-url given on the command line beat the
// environment (DATA_DIR, DATABASE_URL); both flags at once are a usage error; a --database-url that
// is no PostgreSQL URL is refused before anything is opened. The same for serve, clients and sync.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHere } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-store-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Nothing listens on port 1: a store opened there fails at once, naming PostgreSQL. */
const NOWHERE = 'postgres://someone:secret@127.0.0.1:1/x';
const UNREACHABLE = 'cannot reach PostgreSQL at 127.0.0.1:1: connection refused (is it running?)';

/** `runHere` with environment variables set for the command (read when its options are registered). */
async function runWithEnv(env: Record<string, string>, args: string[]) {
  const previous = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await runHere(args);
  } finally {
    for (const [k, v] of Object.entries(previous)) {
      if (v === undefined) Reflect.deleteProperty(process.env, k);
      else process.env[k] = v;
    }
  }
}

describe('--data-dir and --database-url against DATA_DIR and DATABASE_URL', () => {
  const aFile = join(dir, 'a-file');
  writeFileSync(aFile, 'not a directory');

  it('serve --data-dir beats DATABASE_URL', async () => {
    const r = await runWithEnv({ DATABASE_URL: NOWHERE }, ['serve', '--port', '0', '--data-dir', aFile]);
    expect(r).toEqual({ code: 2, out: `tyokyky serve: data directory ${aFile} is not a directory\n` });
  });

  it('serve --database-url beats DATA_DIR', async () => {
    const r = await runWithEnv({ DATA_DIR: aFile }, ['serve', '--port', '0', '--database-url', NOWHERE]);
    expect(r).toEqual({ code: 2, out: `tyokyky serve: ${UNREACHABLE}\n` });
  });

  it.each([
    ['serve', ['serve', '--port', '0']],
    ['clients add', ['clients', 'add', 'c1', '--scope', 'system/Patient.rs']],
    ['sync retry', ['sync', 'retry']],
    ['sync resolve', ['sync', 'resolve', '1', '--keep', 'local']],
  ])('%s with both flags is a usage error (exit 2), and nothing is made', async (name, args) => {
    const dataDir = join(dir, 'never-made');
    const r = await runHere([...args, '--data-dir', dataDir, '--database-url', NOWHERE]);
    const prefix = `tyokyky ${name.split(' ')[0]}`;
    expect(r).toEqual({ code: 2, out: `${prefix}: give either --data-dir or --database-url, not both\n` });
    expect(existsSync(dataDir)).toBe(false);
  });

  it('clients add --data-dir registers in that directory, not in DATABASE_URL', async () => {
    const dataDir = join(dir, 'clients-store');
    const r = await runWithEnv({ DATABASE_URL: NOWHERE }, [
      'clients',
      'add',
      'c1',
      '--scope',
      'system/Patient.rs',
      '--jwks-url',
      'https://client.example/jwks',
      '--data-dir',
      dataDir,
    ]);
    expect(r.code).toBe(0);
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
    const listed = await runWithEnv({ DATABASE_URL: NOWHERE }, ['clients', 'list', '--data-dir', dataDir]);
    expect(listed).toEqual({ code: 0, out: 'c1\t-\tsystem/Patient.rs\thttps://client.example/jwks\n' });
  }, 60_000);

  it.each([
    ['retry', ['sync', 'retry', '7']],
    ['resolve', ['sync', 'resolve', '7', '--keep', 'remote']],
  ])('sync %s --data-dir reads that directory, not DATABASE_URL', async (_name, args) => {
    const none = join(dir, 'no-store');
    const r = await runWithEnv({ DATABASE_URL: NOWHERE }, [...args, '--data-dir', none]);
    expect(r).toEqual({
      code: 2,
      out: `tyokyky sync: no store in ${none} (no PGlite database there); pass --data-dir or --database-url\n`,
    });
  });
});

describe('a database URL that is no PostgreSQL URL', () => {
  it.each([
    ['serve', ['serve', '--port', '0', '--database-url', 'mysql://someone:secret@db/x'], 'mysql:'],
    ['clients', ['clients', 'list', '--database-url', 'http://db.example/x'], 'http:'],
    ['sync', ['sync', 'status', '--database-url', 'localhost:5432/x'], 'localhost:'],
  ])('%s refuses it in one line (exit 2), naming the scheme, never the URL', async (name, args, scheme) => {
    const r = await runHere(args);
    expect(r).toEqual({
      code: 2,
      out: `tyokyky ${name}: invalid --database-url: give a postgres:// or postgresql:// URL (the scheme given is ${scheme})\n`,
    });
  });

  it('from DATABASE_URL is refused naming the variable', async () => {
    const r = await runWithEnv({ DATABASE_URL: 'not a url at all' }, ['serve', '--port', '0']);
    expect(r).toEqual({
      code: 2,
      out: 'tyokyky serve: invalid DATABASE_URL: give a postgres:// or postgresql:// URL (it is no URL)\n',
    });
  });
});
