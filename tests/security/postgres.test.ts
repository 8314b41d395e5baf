import { openStore } from '../../src/store/index.ts';
import { dropDatabase, freshDatabase } from '../helpers/databases.ts';
import { securitySuite } from './suite.ts';

securitySuite('PostgreSQL', async () => {
  const url = await freshDatabase('tyokyky_security');
  const store = await openStore({ databaseUrl: url });
  return {
    store: store,
    async close() {
      await store.close();
      await dropDatabase(url);
    },
  };
});
