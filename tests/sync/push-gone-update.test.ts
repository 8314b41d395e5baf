// A local edit of a resource deleted on the remote: the update meets 404/410 and the resource is
// created again there under its business identifier, its id map pointing at the new copy — sent by
// itself, in a batch Bundle or in a transaction Bundle (docs/sync.md, "A local delete is the last
// word"). In-process: PGlite on both sides, the remote a tyokyky facade (which answers 410 Gone).
import type { CarePlan, Goal, Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import type { BundleMode, SyncService } from '../../src/sync/index.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import { type BundleWorkers, openBundleWorkers } from './helpers/bundle-workers.ts';
import { carePlan, goal, remoteCopiesOf, score } from './helpers/fixtures.ts';
import { drain } from './helpers/waits.ts';

let workers: BundleWorkers;
let remote: FacadeHere;
let store: Store;
let client: Patient;

beforeAll(async () => {
  workers = await openBundleWorkers('none');
  ({ remote, store, client } = workers);
}, 120_000);

afterAll(() => workers?.close());

const worker = (bundle: BundleMode): SyncService => workers.worker(bundle);

/** Scores pushed to the remote, then deleted there (another writer, or the client in Omakanta). */
async function deletedRemotely(sync: SyncService, values: number[]): Promise<Observation[]> {
  const made = [];
  for (const v of values)
    made.push((await store.create(score(client.id as string, v))).resource as Observation);
  await drain(sync);
  for (const o of made) {
    const [copy] = await remoteCopiesOf(remote.url, o);
    expect((await fetch(`${remote.url}/Observation/${copy?.id}`, { method: 'DELETE' })).status).toBe(204);
  }
  return made;
}

async function edited(o: Observation, value: number): Promise<Observation> {
  const cur = (await store.read('Observation', o.id as string)) as Observation;
  return (await store.update({ ...cur, valueInteger: value }, { ifMatch: cur.meta?.versionId }))
    .resource as Observation;
}

/** The rows of `o` not delivered (dead, held, parked, blocked, still queued), with their reasons. */
async function undelivered(o: Observation): Promise<{ state: string; reason: string | null }[]> {
  return store.query(
    "SELECT state, reason FROM sync_outbox WHERE resource_id = $1 AND state <> 'done' ORDER BY id",
    [o.id],
  );
}

/** Each resource's single remote copy carries the edit, and the id map names that copy. */
async function expectCreatedAgain(o: Observation, value: number): Promise<void> {
  expect(await undelivered(o)).toEqual([]);
  const copies = (await remoteCopiesOf(remote.url, o)) as Observation[];
  expect(copies.map((c) => c.valueInteger)).toEqual([value]);
  const [map] = await store.query<{ remote_id: string }>(
    "SELECT remote_id FROM sync_idmap WHERE resource_type = 'Observation' AND local_id = $1",
    [o.id],
  );
  expect(map?.remote_id).toBe(copies[0]?.id);
  const [last] = await store.query<{ reason: string | null }>(
    'SELECT reason FROM sync_outbox WHERE resource_id = $1 ORDER BY id DESC LIMIT 1',
    [o.id],
  );
  expect(last?.reason).toBe('created again: the remote copy was gone');
}

describe.each(['none', 'batch', 'auto'] as const)('bundle mode %s', (mode) => {
  it('an update of a copy deleted on the remote creates it again there', async () => {
    const sync = worker(mode);
    await sync.ready;
    const [o] = await deletedRemotely(sync, [6]);
    await edited(o, 3);
    await drain(sync);
    await expectCreatedAgain(o, 3);
  });

  it('several updates of copies deleted there, in one round, are each created again', async () => {
    const sync = worker(mode);
    await sync.ready;
    const [a, b] = await deletedRemotely(sync, [6, 8]);
    await edited(a, 2);
    await edited(b, 9);
    await drain(sync);
    await expectCreatedAgain(a, 2);
    await expectCreatedAgain(b, 9);
  });

  it('an update of a copy deleted there, deleted here too before it went: not created again', async () => {
    const sync = worker(mode);
    await sync.ready;
    const [o] = await deletedRemotely(sync, [4]);
    await edited(o, 7);
    await store.delete('Observation', o.id as string);
    await drain(sync);
    expect(await undelivered(o)).toEqual([]);
    expect(await remoteCopiesOf(remote.url, o)).toEqual([]);
    // Nothing of it went: the update found the copy gone and the delete following it.
    const [update] = await store.query<{ reason: string | null }>(
      "SELECT reason FROM sync_outbox WHERE resource_id = $1 AND action = 'update'",
      [o.id],
    );
    expect(update?.reason).toBe(
      'not sent: the remote copy is gone and a local delete of the resource follows',
    );
  });

  it('an update of a copy deleted there in a round of dependent writes (one transaction where the remote takes it)', async () => {
    const sync = worker(mode);
    await sync.ready;
    const [o] = await deletedRemotely(sync, [5]);
    await edited(o, 1);
    // A new goal and the plan that refers to it: two waves, so the round goes as one transaction.
    const { addresses: _, ...aim } = goal(client.id as string, o.id as string) as Goal;
    const g = (await store.create(aim)).resource as Goal;
    const plan = (
      await store.create({
        ...(carePlan(client.id as string) as CarePlan),
        goal: [{ reference: `Goal/${g.id}` }],
      })
    ).resource as CarePlan;
    await drain(sync);
    await expectCreatedAgain(o, 1);
    expect(await remoteCopiesOf(remote.url, plan)).toHaveLength(1);
  });
});
