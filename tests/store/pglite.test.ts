import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, freshPgliteDataDir, openStore } from '../../src/store/index.ts';
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

  it('persists across close and reopen of the data directory', async () => {
    const { resource } = await store.create(observation());
    await store.close();
    store = await openStore({ dataDir });
    expect(await store.read('Observation', resource.id as string)).toEqual(resource);
  });
});
