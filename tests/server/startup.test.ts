// Startup failures are one line and exit 2, checked before anything is created on disk.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertPortFree, startServer } from '../../src/server/start.ts';
import { explainOpenError, openStore } from '../../src/store/index.ts';
import { MIGRATION_LOCK, STORE_MIGRATIONS } from '../../src/store/schema.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { runHere } from '../helpers/cli.ts';
import { PG_URL, dropDatabase, freshDatabase } from '../helpers/databases.ts';
import { run, startServe } from '../helpers/processes.ts';

let dir: string;
let taken: Server;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tyokyky-startup-'));
  taken = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => taken.once('listening', r));
  port = (taken.address() as { port: number }).port;
});
afterAll(() => {
  taken?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a request during start-up', () => {
  it('arriving between listen and the app being ready waits for it instead of hanging', async () => {
    const dbUrl = await freshDatabase('tyk_startup_early');
    const store = await openStore({ databaseUrl: dbUrl });
    const validator = await loadProjectValidator();
    // Holding the migration lock stalls the security layer's migration, which runs after listen and
    // before the app is attached: a window that stays open until the lock is released.
    const locker = new pg.Client({ connectionString: dbUrl });
    await locker.connect();
    await locker.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    let boundPort: ((port: number) => void) | undefined;
    const bound = new Promise<number>((resolve) => {
      boundPort = resolve;
    });
    const logger = pino(
      { level: 'info' },
      {
        write(line: string) {
          const m = /"bound":"127\.0\.0\.1:(\d+)"/.exec(line);
          if (m) boundPort?.(Number(m[1]));
        },
      },
    );
    const starting = startServer({ store, validator, port: 0, logger });
    try {
      const early = fetch(`http://127.0.0.1:${await bound}/fhir/metadata`, {
        signal: AbortSignal.timeout(20_000),
      });
      const pending = await Promise.race([early.then(() => 'answered'), sleep(500).then(() => 'waiting')]);
      expect(pending).toBe('waiting');
      await locker.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      const res = await early;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { resourceType: string }).resourceType).toBe('CapabilityStatement');
    } finally {
      await locker.end();
      await (await starting).close();
      await store.close();
      await dropDatabase(dbUrl);
    }
  }, 60_000);
});

describe('start-up on a brand-new PostgreSQL database', () => {
  it('says once that it brings the database to the store schema, in words true of a new database', async () => {
    const dbUrl = await freshDatabase('tyk_startup_new');
    try {
      const serve = await startServe(['--database-url', dbUrl]);
      await serve.stop();
      const lines = serve
        .logs()
        .split('\n')
        .filter((l) => /migration/.test(l));
      expect(lines.map((l) => JSON.parse(l).msg)).toEqual([
        'applying the store migrations: a new database, or the first start after an upgrade',
        `store migrations applied: ${STORE_MIGRATIONS.length}`,
      ]);
    } finally {
      await dropDatabase(dbUrl);
    }
  }, 120_000);
});

describe('startup errors', () => {
  it('a taken port is one line and exit 2, and no data directory is created', async () => {
    const dataDir = join(dir, 'data');
    const { code, out } = await run([
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--data-dir',
      dataDir,
    ]);
    expect(code).toBe(2);
    expect(out.trim()).toBe(
      `tyokyky serve: port ${port} on 127.0.0.1 is already in use; choose another with --port or PORT`,
    );
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);

  it('assertPortFree accepts a free port and port 0', async () => {
    await expect(assertPortFree(0, '127.0.0.1')).resolves.toBeUndefined();
    await expect(assertPortFree(port, '127.0.0.1')).rejects.toThrow(/already in use/);
  });

  it('PostgreSQL refused and a missing database are explained in one line, without a password', async () => {
    const refused = { databaseUrl: 'postgres://someone:secret@127.0.0.1:1/x' };
    const e1 = await openStore(refused).catch((err: unknown) => err);
    expect(explainOpenError(e1, refused)).toBe(
      'cannot reach PostgreSQL at 127.0.0.1:1: connection refused (is it running?)',
    );
    const u = new URL(PG_URL);
    const missing = { databaseUrl: `${PG_URL}/tyk_missing_${Date.now()}` };
    const e2 = await openStore(missing).catch((err: unknown) => err);
    const line = explainOpenError(e2, missing) ?? '';
    expect(line).toMatch(
      /^PostgreSQL database "tyk_missing_\d+" does not exist at .*; create it with: createdb /,
    );
    expect(line).toContain(`-h ${u.hostname}`);
    expect(line).not.toContain('secret');
  });

  it('a data directory that cannot be made, or is a file, is explained in one line instead of hanging', async () => {
    // Node's recursive mkdir never returns for /proc/<missing>/…: a bad --data-dir used to hang serve.
    const cases = [
      ...(existsSync('/proc/self')
        ? [['/proc/tyokyky-nope/data', 'its parent does not take new directories (ENOENT)']]
        : []),
      [join(dir, 'a-file'), 'is not a directory'],
    ];
    writeFileSync(join(dir, 'a-file'), 'not a directory');
    for (const [dataDir, why] of cases) {
      const err = await openStore({ dataDir }).catch((e: unknown) => e);
      expect(explainOpenError(err, { dataDir })).toContain(why);
    }
  }, 30_000);

  it("someone's folder (not empty, no store in it) is refused as a data directory, and left as it was", async () => {
    const folder = join(dir, 'documents');
    mkdirSync(join(folder, 'base'), { recursive: true });
    writeFileSync(join(folder, 'readme.txt'), 'mine');
    writeFileSync(join(folder, 'base', 'notes.txt'), 'also mine');
    const err = await openStore({ dataDir: folder }).catch((e: unknown) => e);
    expect(explainOpenError(err, { dataDir: folder })).toBe(
      `data directory ${folder} is not empty and holds no store: give a new or empty directory`,
    );
    expect(readdirSync(folder).sort()).toEqual(['base', 'readme.txt']);
    expect(readdirSync(join(folder, 'base'))).toEqual(['notes.txt']);
    // An empty directory, one with hidden files only, or one a killed copy left (the store's own
    // entries, no PG_VERSION) becomes a store.
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, '.keep'), '');
    const left = join(dir, 'left-by-a-killed-copy');
    mkdirSync(join(left, 'base'), { recursive: true });
    mkdirSync(join(left, 'global'));
    for (const dataDir of [empty, left]) {
      const store = await openStore({ dataDir });
      await store.close();
      expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
    }
  }, 60_000);

  it('a data directory on a read-only file system is said so, not blamed on its parent', () => {
    // No read-only mount to make here: the error openStore meets there (a lock file, a copy: EROFS).
    const readOnly = Object.assign(new Error("EROFS: read-only file system, open '/srv/data/x'"), {
      code: 'EROFS',
    });
    expect(explainOpenError(readOnly, { dataDir: '/srv/data' })).toBe(
      'data directory /srv/data is on a read-only file system',
    );
    const wrapped = new Error('Cannot open the PGlite data directory', { cause: readOnly });
    expect(explainOpenError(wrapped, { dataDir: '/srv/data' })).toBe(
      'data directory /srv/data is on a read-only file system',
    );
  });

  it.each([
    [
      ['--rate-limit', 'lots'],
      'invalid --rate-limit "lots" (requests per client per minute, a whole number from 1)',
    ],
    [
      ['--rate-limit', '0'],
      'invalid --rate-limit "0" (requests per client per minute, a whole number from 1)',
    ],
    [['--base-url', 'example.org/fhir'], '--base-url must be an absolute http(s) URL'],
    [
      [
        '--auth',
        'external',
        '--auth-issuer',
        'https://idp.example',
        '--auth-jwks-url',
        'https://u:p@idp.example/jwks',
      ],
      '--auth-jwks-url must not carry credentials (user:password@)',
    ],
    [
      [
        '--auth',
        'external',
        '--auth-issuer',
        'https://idp.example',
        '--auth-jwks-url',
        'https://idp.example/jwks',
      ],
      '--auth external needs --auth-issuer, --auth-jwks-url and --auth-token-url',
    ],
    [
      ['--remote-kind', 'kanta-phr'],
      '--remote-kind configures the sync, which runs only with --remote (or TYOKYKY_SYNC_REMOTE)',
    ],
    [
      ['--party', 'kela', '--client-secret', 's3cr3t', '--token-url', 'http://idp.example/token'],
      '--party, --token-url, --client-secret configure the sync, which runs only with --remote (or TYOKYKY_SYNC_REMOTE)',
    ],
    [
      ['--auth', 'embedded', '--auth-issuer', 'https://idp.example'],
      '--auth-issuer names an external IdP, used only with --auth external (not --auth embedded)',
    ],
    [
      ['--host', '0.0.0.0'],
      'refusing to listen on 0.0.0.0 without authentication: configure auth, bind 127.0.0.1, or pass --insecure',
    ],
    [
      ['--trust-proxy', 'garbage'],
      '--trust-proxy: trusted proxy "garbage" is not an IP address or CIDR range',
    ],
  ])('serve %j is one line and exit 2, and no data directory is created', async (args, message) => {
    const dataDir = join(dir, 'never-made');
    const r = await runHere(['serve', '--port', '0', '--data-dir', dataDir, ...args]);
    expect(r).toEqual({ code: 2, out: `tyokyky serve: ${message}\n` });
    expect(existsSync(dataDir)).toBe(false);
  });

  it('startServer refuses a bad trustProxy list before it opens a store or binds a port', async () => {
    const dataDir = join(dir, 'never-made-by-start');
    await expect(startServer({ dataDir, port: 0, trustProxy: ['10.0.0.0/33'] })).rejects.toThrow(
      'trusted proxy "10.0.0.0/33" is not an IP address or CIDR range',
    );
    expect(existsSync(dataDir)).toBe(false);
  });

  it('`tyokyky sync status` where there is no store says so and creates none', async () => {
    const nothing = join(dir, 'nothing');
    // In this process; tests/shared/cli-here.test.ts shows the real command answers the same.
    const { code, out } = await runHere(['sync', 'status', '--data-dir', nothing]);
    expect(code).toBe(2);
    expect(out).toContain(`no store in ${nothing}`);
    expect(existsSync(nothing)).toBe(false);
  }, 60_000);
});
