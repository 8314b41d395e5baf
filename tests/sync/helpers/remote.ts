import type { Store } from '../../../src/store/index.ts';
import { openStore } from '../../../src/store/index.ts';
import {
  type CreateSyncOptions,
  type RemoteConfig,
  type SyncService,
  createSync,
} from '../../../src/sync/index.ts';
import { dropDatabase, freshDatabase } from '../../helpers/databases.ts';
import { type FacadeHere, startFacadeHere } from '../../helpers/facade.ts';
export { dropDatabase, freshDatabase } from '../../helpers/databases.ts';

/**
 * A second tyokyky facade — the "Kanta-style store" — on its own PostgreSQL database (not strict), in
 * the test's process: the sync under test talks to it over HTTP as to any remote.
 */
export function startRemote(databaseUrl: string): Promise<FacadeHere> {
  return startFacadeHere(databaseUrl, { strict: false });
}

/** A local store, its sync and the remote it syncs with (`openSyncPair`). */
export interface SyncPair {
  remote: FacadeHere;
  store: Store;
  sync: SyncService;
  /** The local store's database URL (another store may open it, e.g. a facade reading its audit log). */
  localDatabase: string;
  /** Stops the sync, the store and the remote, and drops both databases. */
  close(): Promise<void>;
}

/**
 * The set-up most sync tests share: a local store on a fresh PostgreSQL database (`<name>_local`),
 * a remote facade on another (`<name>_remote`), and a sync for the party `other-health-care` with
 * `options` (its push loops are not started: tests push and pull when they choose).
 */
export async function openSyncPair(
  name: string,
  options: Omit<CreateSyncOptions, 'store' | 'remote'> = {},
  remoteOptions: Partial<RemoteConfig> = {},
): Promise<SyncPair> {
  const remoteDatabase = await freshDatabase(`${name}_remote`);
  const localDatabase = await freshDatabase(`${name}_local`);
  const remote = await startRemote(remoteDatabase);
  const store = await openStore({ databaseUrl: localDatabase });
  return pairOf(remote, store, localDatabase, options, remoteOptions, async () => {
    await dropDatabase(remoteDatabase);
    await dropDatabase(localDatabase);
  });
}

/** The same pair in this process's memory (PGlite on both sides): no database to make or drop. */
export async function openMemorySyncPair(
  options: Omit<CreateSyncOptions, 'store' | 'remote'> = {},
  remoteOptions: Partial<RemoteConfig> = {},
): Promise<SyncPair> {
  const remote = await startFacadeHere({ dataDir: 'memory://' }, { strict: false });
  const store = await openStore({ dataDir: 'memory://' });
  return pairOf(remote, store, 'memory://', options, remoteOptions, async () => {});
}

async function pairOf(
  remote: FacadeHere,
  store: Store,
  localDatabase: string,
  options: Omit<CreateSyncOptions, 'store' | 'remote'>,
  remoteOptions: Partial<RemoteConfig>,
  dropDatabases: () => Promise<void>,
): Promise<SyncPair> {
  const sync = createSync({
    store,
    remote: { baseUrl: remote.url, party: 'other-health-care', ...remoteOptions },
    ...options,
  });
  await sync.ready;
  return {
    remote,
    store,
    sync,
    localDatabase,
    async close() {
      await sync.stop();
      await store.close();
      await remote.stop();
      await dropDatabases();
    },
  };
}
