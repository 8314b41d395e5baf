// One client on a local store (PGlite) that syncs to a remote facade in this process, and sync
// workers of any Bundle mode on that store: the first installs the outbox hook and delivers the
// client, the others only move rows.
import type { Patient } from '@medplum/fhirtypes';
import { type Store, openStore } from '../../../src/store/index.ts';
import { type BundleMode, type SyncService, createSync } from '../../../src/sync/index.ts';
import { type FacadeHere, startFacadeHere } from '../../helpers/facade.ts';
import { consent, patient } from './fixtures.ts';
import { drain } from './waits.ts';

export interface BundleWorkers {
  remote: FacadeHere;
  store: Store;
  /** The client, with a consent that lets the remote's party receive it, already on the remote. */
  client: Patient;
  /** A sync worker on the store with this Bundle mode (stopped by `close`), reaching the remote at `baseUrl`. */
  worker(bundle: BundleMode, baseUrl?: string): SyncService;
  close(): Promise<void>;
}

export async function openBundleWorkers(first: BundleMode, hetu = '251181-925R'): Promise<BundleWorkers> {
  const remote = await startFacadeHere({ dataDir: 'memory://' }, { strict: false });
  const store = await openStore({ dataDir: 'memory://' });
  const syncs: SyncService[] = [];
  const worker = (bundle: BundleMode, baseUrl = remote.url): SyncService => {
    const sync = createSync({
      store,
      remote: { baseUrl, party: 'other-health-care', bundle },
      installHook: syncs.length === 0,
    });
    syncs.push(sync);
    return sync;
  };
  const delivers = worker(first);
  await delivers.ready;
  const client = (await store.create(patient(hetu))).resource as Patient;
  await store.create(consent(client.id as string));
  await drain(delivers);
  const close = async () => {
    for (const s of syncs) await s.stop();
    await store.close();
    await remote.stop();
  };
  return { remote, store, client, worker, close };
}
