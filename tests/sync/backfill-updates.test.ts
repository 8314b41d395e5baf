// `sync backfill` after writes made without the outbox hook (a facade without `--remote` on the same
// store): an update of a resource the sync has already sent is queued too — its current version is
// newer than every version the sync queued, sent or pulled — once; a version already queued, or one
// the pull wrote, is not queued again. Real PostgreSQL stores, a remote facade in the test's process.
import type { Observation, Patient, QuestionnaireResponse } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { recordMappings } from '../../src/sync/kanta/mapping.ts';
import { KANTA_SCHEMA } from '../../src/sync/kanta/schema.ts';
import { consent, patient, remoteCopy, remotePut, score, selfAssessment } from './helpers/fixtures.ts';
import { type SyncPair, openSyncPair } from './helpers/remote.ts';
import { drain } from './helpers/waits.ts';

let pair: SyncPair;
/** The same local database opened without a sync: its writes pass no outbox hook. */
let plain: Store;

beforeAll(async () => {
  pair = await openSyncPair('tyokyky_backfill_updates', {
    batchSize: 5,
    heldRecheckMs: 100,
    pullTypes: ['Consent', 'Observation'],
  });
  plain = await openStore({ databaseUrl: pair.localDatabase });
}, 120_000);
afterAll(async () => {
  await plain?.close();
  await pair?.close();
});

type Row = { resource_id: string; version_id: string; action: string };
const rowsOf = (store: Store, type: string, id: string) =>
  store.query<Row>(
    'SELECT resource_id, version_id, action FROM sync_outbox WHERE resource_type = $1 AND resource_id = $2 ORDER BY id',
    [type, id],
  );
const allRows = async (store: Store) =>
  (await store.query<{ n: number }>('SELECT count(*)::int AS n FROM sync_outbox'))[0].n;

describe('sync backfill: writes made without the hook to resources already synced', () => {
  it('queues the newer version once; a second run, a version already queued and a pulled version add nothing', async () => {
    const { store, sync, remote } = pair;
    // v1 of each written with the hook, and pushed.
    const p = (await store.create(patient('010181-961H'))).resource as Patient;
    await store.create(consent(p.id as string));
    const obs = (await store.create(score(p.id as string, 6))).resource as Observation;
    const other = (await store.create(score(p.id as string, 4))).resource as Observation;
    await drain(sync);
    expect((await remoteCopy(remote.url, obs)).valueInteger).toBe(6);

    // v2 written without the hook: nothing queued, the remote keeps v1.
    const v2 = (await plain.update({ ...obs, valueInteger: 9 }, { ifMatch: '1' })).resource as Observation;
    expect(v2.meta?.versionId).toBe('2');
    expect(await rowsOf(store, 'Observation', obs.id as string)).toHaveLength(1);

    const before = await allRows(store);
    const first = await sync.backfill({ force: true });
    expect(first.enqueued).toBe(1);
    expect(await allRows(store)).toBe(before + 1);
    expect((await rowsOf(store, 'Observation', obs.id as string)).at(-1)).toEqual({
      resource_id: obs.id,
      version_id: '2',
      action: 'update',
    });
    // The current version is queued now: a second run adds nothing.
    expect((await sync.backfill({ force: true })).enqueued).toBe(0);
    expect(await allRows(store)).toBe(before + 1);

    await drain(sync);
    expect((await remoteCopy(remote.url, obs)).valueInteger).toBe(9);
    expect((await sync.backfill({ force: true })).enqueued).toBe(0);

    // A version the hook queued (not pushed yet) is not queued a second time.
    await store.update({ ...other, valueInteger: 5 }, { ifMatch: '1' });
    const queued = await allRows(store);
    expect((await sync.backfill({ force: true })).enqueued).toBe(0);
    expect(await allRows(store)).toBe(queued);
    await drain(sync);

    // A version the pull wrote (the remote's edit) is the remote's already: not queued back.
    const there = await remoteCopy(remote.url, obs);
    await remotePut(remote.url, { ...there, valueInteger: 3 });
    await sync.pullOnce();
    const pulled = (await store.read('Observation', obs.id as string)) as Observation;
    expect(pulled).toMatchObject({ valueInteger: 3, meta: { versionId: '3' } });
    const settled = await allRows(store);
    expect((await sync.backfill({ force: true })).enqueued).toBe(0);
    expect(await allRows(store)).toBe(settled);
  }, 120_000);

  it('a response Kanta PHR holds is queued only when changed since the version it holds', async () => {
    const { store, sync } = pair;
    for (const [name, statements] of KANTA_SCHEMA) await store.migrate(name, statements);
    const p = (await plain.create(patient('010181-962J'))).resource as Patient;
    // Stored here by a Kanta PHR pull (a citizen's response): the adapter's mapping, no outbox row.
    const qr = (await plain.create(selfAssessment(p.id as string))).resource as QuestionnaireResponse;
    await recordMappings(store, [
      { localId: qr.id as string, remote: { id: 'phr-1', meta: { versionId: '1' } }, localVersion: '1' },
    ]);
    await sync.backfill({ force: true });
    expect(await rowsOf(store, 'QuestionnaireResponse', qr.id as string)).toEqual([]);

    await plain.update({ ...qr, status: 'amended' }, { ifMatch: '1' });
    expect((await sync.backfill({ force: true })).enqueued).toBe(1);
    expect(await rowsOf(store, 'QuestionnaireResponse', qr.id as string)).toEqual([
      { resource_id: qr.id, version_id: '2', action: 'update' },
    ]);
    expect((await sync.backfill({ force: true })).enqueued).toBe(0);
  }, 120_000);
});
