import { type OpenStoreOptions, type Store, openStore } from '../../../src/store/index.ts';
import { createSync } from '../../../src/sync/index.ts';

/**
 * A store with the sync's outbox hook installed and nothing else: its remote is never asked anything,
 * so the tests drive claims and settles themselves. PGlite in memory unless told otherwise.
 */
export async function openOutboxOnlyStore(
  options: OpenStoreOptions = { dataDir: 'memory://' },
): Promise<Store> {
  const store = await openStore(options);
  await createSync({ store, remote: { baseUrl: 'http://127.0.0.1:9/fhir', party: 'other-health-care' } })
    .ready;
  return store;
}
