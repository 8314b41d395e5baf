import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshPgliteDataDir, openStore } from '../../src/store/index.ts';
import { securitySuite } from './suite.ts';

securitySuite('PGlite', async () => {
  const dir = await freshPgliteDataDir(mkdtempSync(join(tmpdir(), 'tyokyky-security-')));
  const store = await openStore({ dataDir: dir });
  return {
    store: store,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
