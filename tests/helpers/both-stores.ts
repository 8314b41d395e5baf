// One store on each engine for a test file: a fresh PGlite data directory and a fresh PostgreSQL
// database (unique name under `prefix`), opened before the file's tests and removed after them.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { type Store, freshPgliteDataDir, openStore } from '../../src/store/index.ts';
import { dropDatabase, freshDatabase } from './databases.ts';

export interface BothStores {
  readonly pglite: Store;
  readonly postgres: Store;
}

export function bothStores(prefix: string): BothStores {
  const opened: { pglite?: Store; postgres?: Store } = {};
  let dataDir = '';
  let databaseUrl = '';
  beforeAll(async () => {
    dataDir = await freshPgliteDataDir();
    databaseUrl = await freshDatabase(prefix);
    [opened.pglite, opened.postgres] = await Promise.all([
      openStore({ dataDir }),
      openStore({ databaseUrl }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([opened.pglite?.close(), opened.postgres?.close()]);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (databaseUrl) await dropDatabase(databaseUrl);
  });
  return {
    get pglite() {
      if (!opened.pglite) throw new Error('the PGlite store opens in beforeAll');
      return opened.pglite;
    },
    get postgres() {
      if (!opened.postgres) throw new Error('the PostgreSQL store opens in beforeAll');
      return opened.postgres;
    },
  };
}
