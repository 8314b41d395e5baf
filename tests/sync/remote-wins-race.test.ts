// A push's remote-wins resolution (a 412 on Consent: the remote version is stored here) writes over
// the local version it judged only: a local edit committing between the re-read and that write is not
// overwritten. It stays queued, the conflict is recorded as such, and its own push then meets the
// remote under the same policy (docs/sync.md, "Policies"). PostgreSQL (two connections); the store the
// sync gets runs a local edit right before the resolution's write, on the real store, to open the
// window every time (helpers/write-window.ts, as tests/sync/pull-local-edit-race.test.ts does for the pull).
import type { Consent, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import { consent, patient, remoteCopiesOf, remotePut } from './helpers/fixtures.ts';
import { dropDatabase, freshDatabase, startRemote } from './helpers/remote.ts';
import { drain } from './helpers/waits.ts';
import { type WriteWindow, writeWindow } from './helpers/write-window.ts';

let remote: FacadeHere;
let store: Store;
let sync: SyncService;
const databases: string[] = [];
let race: WriteWindow;

beforeAll(async () => {
  const remoteDb = await freshDatabase('remote_wins_race_remote');
  const localDb = await freshDatabase('remote_wins_race_local');
  databases.push(remoteDb, localDb);
  remote = await startRemote(remoteDb);
  store = await openStore({ databaseUrl: localDb });
  race = writeWindow(store, 'Consent');
  sync = createSync({ store: race.store, remote: { baseUrl: remote.url, party: 'other-health-care' } });
  await sync.ready;
}, 120_000);

afterAll(async () => {
  await sync?.stop();
  await store?.close();
  await remote?.stop();
  for (const db of databases) await dropDatabase(db);
});

async function editHere(id: string, dateTime: string): Promise<void> {
  const cur = (await store.read('Consent', id)) as Consent;
  await store.update({ ...cur, dateTime }, { ifMatch: cur.meta?.versionId });
}

const rowsOf = (id: string) =>
  store.query<{ state: string; reason: string | null }>(
    'SELECT state, reason FROM sync_outbox WHERE resource_id = $1 ORDER BY id',
    [id],
  );

const conflictsOf = (id: string) =>
  store.query<{ policy: string; resolution: string }>(
    'SELECT policy, resolution FROM sync_conflict WHERE resource_id = $1 ORDER BY id',
    [id],
  );

describe('a local edit committing during a remote-wins resolution', () => {
  it('is not overwritten: the conflict says so, and its own push meets the remote under the same policy', async () => {
    const client = (await store.create(patient('271181-9273'))).resource as Patient;
    const c = (await store.create(consent(client.id as string))).resource as Consent;
    const id = c.id as string;
    await drain(sync);
    const [there] = (await remoteCopiesOf(remote.url, c)) as Consent[];
    await remotePut(remote.url, { ...there, dateTime: '2026-02-01' });

    await editHere(id, '2026-01-15');
    race.before(() => editHere(id, '2026-01-20'));
    await drain(sync);
    expect(race.ran()).toBe(true);

    // The resolution of the first edit kept nothing: the second had committed over the version it
    // judged. The second, its own push, met the remote's version under the same policy: remote kept.
    expect((await conflictsOf(id)).map((r) => [r.policy, r.resolution])).toEqual([
      ['remote-wins', 'remote version not kept: a newer local edit follows'],
      ['remote-wins', 'remote kept'],
    ]);
    const rows = await rowsOf(id);
    expect(rows.slice(-2)).toEqual([
      { state: 'done', reason: 'conflict: remote version not kept: a newer local edit follows' },
      { state: 'done', reason: 'conflict: remote version kept (remote-wins)' },
    ]);
    // Locally: the second edit stood as written until its own resolution replaced it.
    const history = (await store.history('Consent', id)).map(
      (h) => (h.resource as Consent | undefined)?.dateTime,
    );
    expect(history.slice(0, 3)).toEqual(['2026-02-01', '2026-01-20', '2026-01-15']);
    expect(((await store.read('Consent', id)) as Consent).dateTime).toBe('2026-02-01');
    expect(((await remoteCopiesOf(remote.url, c)) as Consent[]).map((r) => r.dateTime)).toEqual([
      '2026-02-01',
    ]);
  });
});
