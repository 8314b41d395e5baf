import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirError, issue } from '../../src/shared/outcome.ts';
import { DataDirInUseError, type Store, freshPgliteDataDir, openStore } from '../../src/store/index.ts';
import { run } from '../helpers/processes.ts';
import { observation } from './helpers.ts';
import { storeSuite } from './suite.ts';

// One PGlite per file, in a copy of the migrated template (initialising a new directory costs ~10 s).
let dataDir: string;
let store: Store;

beforeAll(async () => {
  dataDir = await freshPgliteDataDir();
  store = await openStore({ dataDir });
});

afterAll(async () => {
  await store?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('store on PGlite', () => {
  it('reports its engine and starts empty (a fresh copy of the template)', async () => {
    expect(store.engine).toBe('pglite');
    expect(await store.query('SELECT id FROM resources')).toEqual([]);
  });

  storeSuite(() => store);

  it('a write needing more identifier locks than the lock table holds is 413 store-locks-1; nothing written', async () => {
    const count = async () => (await store.query('SELECT count(*)::int AS n FROM resources'))[0]?.n;
    const before = await count();
    const refused = () => new FhirError(409, issue('error', 'duplicate', 'taken'));
    const items = Array.from({ length: 20_000 }, () => ({
      resource: observation(),
      opts: {
        unique: {
          identifiers: [{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${randomUUID()}` }],
          refused,
        },
      },
    }));
    const failed = await store.createMany(items).then(
      () => undefined,
      (err: unknown) => err as FhirError,
    );
    expect(failed).toBeInstanceOf(FhirError);
    expect(failed?.status).toBe(413);
    expect(failed?.outcome.issue?.[0]?.diagnostics).toMatch(
      /^store-locks-1: the write needs 20000 identifier locks/,
    );
    expect(await count()).toBe(before);
  });

  it('persists across close and reopen of the data directory', async () => {
    const { resource } = await store.create(observation());
    await store.close();
    store = await openStore({ dataDir });
    expect(await store.read('Observation', resource.id as string)).toEqual(resource);
  });
});

describe('one process per PGlite data directory', () => {
  const lock = () => join(dataDir, 'tyokyky.lock');

  it('a second open in this process is refused naming the holder; the first store is untouched', async () => {
    const { resource } = await store.create(observation());
    const second = openStore({ dataDir });
    await expect(second).rejects.toBeInstanceOf(DataDirInUseError);
    await expect(second).rejects.toThrow(`data directory ${dataDir} is in use by process ${process.pid}`);
    expect(await store.read('Observation', resource.id as string)).toEqual(resource);
  });

  it('another process is refused too, with one line and no stack', async () => {
    const r = await run(['sync', 'status', '--data-dir', dataDir]);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(`data directory ${dataDir} is in use by process ${process.pid}`);
    expect(r.out).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('a lock left by a process that is gone is taken over; closing removes it', async () => {
    await store.close();
    expect(existsSync(lock())).toBe(false);
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(lock(), String(gone));
    store = await openStore({ dataDir });
    expect(JSON.parse(readFileSync(lock(), 'utf8')).pid).toBe(process.pid);
    await store.close();
    expect(existsSync(lock())).toBe(false);
    // Our own pid on a lock we do not hold: an earlier process with the same pid (a restarted
    // container's pid 1) left it.
    writeFileSync(lock(), String(process.pid));
    store = await openStore({ dataDir });
    expect(JSON.parse(readFileSync(lock(), 'utf8')).pid).toBe(process.pid);
  });
});
