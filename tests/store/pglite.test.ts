import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/index.ts';
import { observation } from './helpers.ts';
import { storeSuite } from './suite.ts';

// One PGlite per file: creating a fresh data directory costs ~10 s here.
const dataDir = mkdtempSync(join(tmpdir(), 'tyokyky-store-'));
let store: Store;

beforeAll(async () => {
  store = await openStore({ dataDir });
});

afterAll(async () => {
  await store?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('store on PGlite', () => {
  it('reports its engine', () => {
    expect(store.engine).toBe('pglite');
  });

  storeSuite(() => store);

  it('persists across close and reopen of the data directory', async () => {
    const { resource } = await store.create(observation());
    await store.close();
    store = await openStore({ dataDir });
    expect(await store.read('Observation', resource.id as string)).toEqual(resource);
  });
});
