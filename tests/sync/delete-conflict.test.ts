// A local delete meets a remote edit. A delete is the last word on a resource whatever the family's
// 412 policy: it goes without If-Match, and the remote-wins resolution of an earlier queued edit of the
// same resource (its 412) neither brings the deleted resource back here nor stops the delete (found by
// the sync's model fuzz target, tests/fuzz/targets-sync-model.ts). In-process: PGlite on both sides.
import type { Observation, Patient, QuestionnaireResponse, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import type { SyncService } from '../../src/sync/index.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import { consent, patient, remoteCopiesOf, remotePut, score, selfAssessment } from './helpers/fixtures.ts';
import { type SyncPair, openMemorySyncPair } from './helpers/remote.ts';
import { drain } from './helpers/waits.ts';

let pair: SyncPair;
let remote: FacadeHere;
let store: Store;
let sync: SyncService;
let client: Patient;

beforeAll(async () => {
  pair = await openMemorySyncPair();
  ({ remote, store, sync } = pair);
  client = (await store.create(patient('261181-926D'))).resource as Patient;
  await store.create(consent(client.id as string));
  await drain(sync);
}, 120_000);

afterAll(() => pair?.close());

const FAMILIES = {
  'remote-wins (QuestionnaireResponse)': {
    make: () => selfAssessment(client.id as string) as Resource,
    edit: (r: Resource, n: number) =>
      ({ ...r, item: [{ linkId: 'work-ability', answer: [{ valueInteger: n }] }] }) as QuestionnaireResponse,
  },
  'local-wins (Observation)': {
    make: () => score(client.id as string, 3) as Resource,
    edit: (r: Resource, n: number) => ({ ...r, valueInteger: n }) as Observation,
  },
};

const remoteCopies = (r: Resource) => remoteCopiesOf(remote.url, r);

describe.each(Object.entries(FAMILIES))('%s', (family, { make, edit }) => {
  it('an edit queued, the remote edited, then deleted here: the delete goes and nothing comes back', async () => {
    const before = (await sync.status()).states;
    const created = (await store.create(make())).resource;
    await drain(sync);
    const [there] = await remoteCopies(created);
    const local = await store.update(edit(created, 5), { ifMatchOptional: true });
    await remotePut(remote.url, edit(there as Resource, 9));
    await store.delete(created.resourceType, created.id as string);
    await drain(sync);
    expect(await remoteCopies(created)).toEqual([]);
    await expect(store.read(created.resourceType, created.id as string)).rejects.toMatchObject({
      status: 410,
    });
    const after = (await sync.status()).states;
    expect([after.dead, after.parked, after.held]).toEqual([before.dead, before.parked, before.held]);
    // Pulling again changes nothing: the resource stays deleted here.
    await sync.pullOnce();
    await expect(store.read(created.resourceType, created.id as string)).rejects.toMatchObject({
      status: 410,
    });
    expect(local.resource.meta?.versionId).toBe('2');
    const conflicts = await store.query<{ resolution: string }>(
      'SELECT resolution FROM sync_conflict WHERE resource_id = $1',
      [created.id],
    );
    expect(conflicts.map((c) => c.resolution)).toEqual([
      family.startsWith('remote-wins')
        ? 'remote version not kept: a local delete of the resource follows'
        : 'local written',
    ]);
  });

  it('the remote edited, then deleted here with nothing else queued: the delete goes', async () => {
    const created = (await store.create(make())).resource;
    await drain(sync);
    const before = (await sync.status()).states;
    const [there] = await remoteCopies(created);
    await remotePut(remote.url, edit(there as Resource, 8));
    await store.delete(created.resourceType, created.id as string);
    await drain(sync);
    expect(await remoteCopies(created)).toEqual([]);
    const after = (await sync.status()).states;
    expect([after.dead, after.parked, after.held]).toEqual([before.dead, before.parked, before.held]);
  });
});
