// A resource here that refers to one the remote deleted — whose local copy the pull left because that
// reference still holds it (`deletesLeft`) — is not sent with the reference to what is gone there: it
// is held, the reason naming the dependency deleted on the remote, until it no longer refers to it.
// In-process: PGlite on both sides.
import type { Goal, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import type { SyncService } from '../../src/sync/index.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import { consent, goal, patient, remoteCopiesOf, score } from './helpers/fixtures.ts';
import { type SyncPair, openMemorySyncPair } from './helpers/remote.ts';
import { drain } from './helpers/waits.ts';

let pair: SyncPair;
let remote: FacadeHere;
let store: Store;
let sync: SyncService;

beforeAll(async () => {
  pair = await openMemorySyncPair({ pullTypes: ['Consent', 'Observation', 'Goal'] });
  ({ remote, store, sync } = pair);
}, 120_000);

afterAll(() => pair?.close());

async function deletedRemotely(local: Resource): Promise<void> {
  const [copy] = await remoteCopiesOf(remote.url, local);
  if (!copy) throw new Error(`${local.resourceType}/${local.id} is not on the remote`);
  const res = await fetch(`${remote.url}/${copy.resourceType}/${copy.id}`, { method: 'DELETE' });
  expect(res.status).toBe(204);
}

describe('a resource referring to one deleted on the remote', () => {
  it('is held with the reason, not sent, and goes once it no longer refers to it', async () => {
    const p = (await store.create(patient('051281-907W'))).resource as Patient;
    await store.create(consent(p.id as string));
    const o = (await store.create(score(p.id as string, 5))).resource as Observation;
    await drain(sync);
    const deadBefore = (await sync.status()).states.dead;

    const g = (await store.create(goal(p.id as string, o.id as string))).resource as Goal;
    await deletedRemotely(o);
    const pulled = await sync.pullOnce();
    expect(pulled.skippedDeletes.map((s) => s.resource)).toEqual([`Observation/${o.id}`]);
    await drain(sync);

    const status = await sync.status();
    expect(status.states.dead).toBe(deadBefore);
    expect(await remoteCopiesOf(remote.url, g)).toEqual([]);
    const row = (await sync.held()).find((r) => r.resource_id === g.id);
    expect(row?.reason).toMatch(new RegExp(`^held: depends on Observation/${o.id}, deleted on the remote`));

    // Unlinked from it: the goal goes, and the next pull deletes the copy here.
    const { addresses: _gone, ...unlinked } = g;
    await store.update(unlinked as Goal, { ifMatchOptional: true });
    await drain(sync);
    const [there] = (await remoteCopiesOf(remote.url, g)) as Goal[];
    expect(there?.addresses).toBeUndefined();
    expect((await sync.status()).states.held).toBe(0);
    await sync.pullOnce();
    expect((await sync.status()).deletesLeft.total).toBe(0);
  }, 60_000);
});
