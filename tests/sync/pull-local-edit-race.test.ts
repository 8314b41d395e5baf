// A local edit that commits while a pull's transaction is between its "local changes queued?" check
// and its write is not overwritten: the pull writes over the version it checked only, counts the
// resource skipped, and the edit's push meets the remote change by the family's 412 policy, recorded
// as a conflict. PostgreSQL (two connections); the store the sync gets runs a
// local edit right before the pull's write, on the real store, to open the window every time (helpers/write-window.ts).
import type { Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import { consent, patient, remoteCopiesOf, remotePut, score } from './helpers/fixtures.ts';
import { dropDatabase, freshDatabase, startRemote } from './helpers/remote.ts';
import { drain } from './helpers/waits.ts';
import { type WriteWindow, writeWindow } from './helpers/write-window.ts';

let remote: FacadeHere;
let store: Store;
let sync: SyncService;
const databases: string[] = [];
let race: WriteWindow;

beforeAll(async () => {
  const remoteDb = await freshDatabase('tyokyky_race_remote');
  const localDb = await freshDatabase('tyokyky_race_local');
  databases.push(remoteDb, localDb);
  remote = await startRemote(remoteDb);
  store = await openStore({ databaseUrl: localDb });
  race = writeWindow(store, 'Observation');
  sync = createSync({
    store: race.store,
    remote: { baseUrl: remote.url, party: 'other-health-care' },
    pullTypes: ['Consent', 'Observation'],
  });
  await sync.ready;
}, 120_000);

afterAll(async () => {
  await sync?.stop();
  await store?.close();
  await remote?.stop();
  for (const db of databases) await dropDatabase(db);
});

describe('a local edit committing during a pull', () => {
  it('is not overwritten: the pull skips it, and its push records the conflict (local-wins)', async () => {
    const client = (await store.create(patient('271181-9273'))).resource as Patient;
    await store.create(consent(client.id as string));
    const o = (await store.create(score(client.id as string, 5))).resource as Observation;
    await drain(sync);
    const [there] = (await remoteCopiesOf(remote.url, o)) as Observation[];
    await remotePut(remote.url, { ...there, valueInteger: 9 });

    race.before(async () => {
      const cur = (await store.read('Observation', o.id as string)) as Observation;
      await store.update({ ...cur, valueInteger: 4 }, { ifMatch: cur.meta?.versionId });
    });
    const pulled = await sync.pullOnce();
    expect(race.ran()).toBe(true);
    expect(pulled.skipped).toBe(1);
    expect(((await store.read('Observation', o.id as string)) as Observation).valueInteger).toBe(4);

    await drain(sync);
    const [after] = (await remoteCopiesOf(remote.url, o)) as Observation[];
    expect(after.valueInteger).toBe(4);
    expect((await sync.status()).conflicts).toBe(1);
  });
});
