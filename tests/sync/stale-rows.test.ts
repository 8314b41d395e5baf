// A row older than the local version already on the remote (a write queued twice: the outbox hook and
// a backfill at the same moment) is settled without being sent — older content never goes over newer;
// a row whose version the store no longer holds is a dead letter and does not hold up its round.
// Local PostgreSQL store, second tyokyky facade as the remote.
import type { Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import type { SyncService } from '../../src/sync/index.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import { consent, patient, remoteAll, score } from './helpers/fixtures.ts';
import { type SyncPair, openSyncPair } from './helpers/remote.ts';

let pair: SyncPair;
let facade: FacadeHere;
let store: Store;
let sync: SyncService;

beforeAll(async () => {
  pair = await openSyncPair('tyokyky_stale', { batchSize: 10 });
  ({ remote: facade, store, sync } = pair);
}, 120_000);
afterAll(async () => pair?.close());

describe('rows older than what the remote has', () => {
  it('are settled done with the reason, not sent; the remote keeps the newer content', async () => {
    const p = (await store.create(patient('010181-977X'))).resource as Patient;
    await store.create(consent(p.id!));
    const v1 = (await store.create(score(p.id!, 3))).resource as Observation;
    await sync.pushOnce();
    const v2 = (await store.update({ ...v1, valueInteger: 8 }, { ifMatch: v1.meta!.versionId })).resource;
    await sync.pushOnce();
    // The same first version queued once more, as a backfill racing the hook could.
    await store.query(
      `INSERT INTO sync_outbox (resource_type, resource_id, version_id, action, patient_id, payload)
       VALUES ('Observation', $1, $2, 'create', $3, $4::jsonb)`,
      [v1.id, v1.meta!.versionId, p.id, JSON.stringify(v1)],
    );
    const round = await sync.pushOnce();
    expect(round).toMatchObject({ claimed: 1, done: 1, dead: 0 });
    const [row] = await store.query<{ state: string; reason: string }>(
      'SELECT state, reason FROM sync_outbox ORDER BY id DESC LIMIT 1',
    );
    expect(row).toEqual({
      state: 'done',
      reason: 'superseded: a newer local version is already on the remote',
    });
    const remote = (await remoteAll(facade.url, 'Observation')) as Observation[];
    expect(remote.map((o) => o.valueInteger)).toEqual([(v2 as Observation).valueInteger]);
    expect(remote[0].meta?.versionId).toBe('2');
  }, 60_000);

  it('a row whose version the store no longer holds is a dead letter (sync-push-3); the rest of its round goes', async () => {
    const p = (await store.create(patient('010181-941F'))).resource as Patient;
    await store.create(consent(p.id!));
    await sync.pushOnce();
    const gone = (await store.create(score(p.id!, 4))).resource as Observation;
    await store.create(score(p.id!, 6));
    // As a pruning of the history would leave it: the queued version's content is not there to read.
    await store.query("DELETE FROM resource_history WHERE resource_type = 'Observation' AND id = $1", [
      gone.id,
    ]);
    const round = await sync.pushOnce();
    expect(round).toMatchObject({ claimed: 2, dead: 1 });
    const rows = await store.query<{ state: string; reason: string }>(
      'SELECT state, reason FROM sync_outbox WHERE resource_id = $1',
      [gone.id],
    );
    expect(rows).toEqual([
      {
        state: 'dead',
        reason: `sync-push-3: version 1 of Observation/${gone.id} is no longer in the local store`,
      },
    ]);
    const remote = (await remoteAll(facade.url, 'Observation')) as Observation[];
    expect(remote.map((o) => o.valueInteger).sort()).toEqual([6, 8]);
  }, 60_000);
});
