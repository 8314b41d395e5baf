// Our own echo is only a remote version we wrote: a remote edit whose content matches something we
// pushed before a pulled version replaced it is a real change. In-process:
// PGlite on both sides.
import type { Consent, Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import type { SyncService } from '../../src/sync/index.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import {
  consent,
  givenAgain,
  patient,
  remoteCopiesOf,
  remotePut,
  score,
  withdrawn,
} from './helpers/fixtures.ts';
import { type SyncPair, openMemorySyncPair } from './helpers/remote.ts';
import { drain } from './helpers/waits.ts';

let pair: SyncPair;
let remote: FacadeHere;
let store: Store;
let sync: SyncService;

beforeAll(async () => {
  pair = await openMemorySyncPair({ pullTypes: ['Consent', 'Observation'] });
  ({ remote, store, sync } = pair);
}, 120_000);

afterAll(() => pair?.close());

async function remoteCopy<T extends Consent | Observation>(local: T): Promise<T> {
  const [there] = await remoteCopiesOf(remote.url, local);
  if (!there) throw new Error(`${local.resourceType} is not on the remote`);
  return there as T;
}

const localConsent = async (id: string) => (await store.read('Consent', id)) as Consent;

describe('echo detection after a pulled version replaced what we sent', () => {
  it('a withdrawal made again on the remote, with the content we once pushed, is pulled; new data is not sent', async () => {
    const client = (await store.create(patient('251181-925R'))).resource as Patient;
    const k = (await store.create(consent(client.id as string))).resource as Consent;
    await drain(sync);
    await store.update(withdrawn(k), { ifMatchOptional: true });
    await drain(sync);

    let there = await remoteCopy(k);
    there = await remotePut(remote.url, givenAgain(there));
    await sync.pullOnce();
    expect((await localConsent(k.id as string)).status).toBe('active');

    // The client withdraws again there, the same day: the content we pushed earlier.
    await remotePut(remote.url, withdrawn(there));
    const pulled = await sync.pullOnce();
    expect(pulled.applied).toBe(1);
    expect((await localConsent(k.id as string)).status).toBe('inactive');

    const o = (await store.create(score(client.id as string, 5))).resource as Observation;
    await drain(sync);
    expect(await remoteCopiesOf(remote.url, o)).toEqual([]);
  });

  it('consent given again on the remote, with the content we once pushed, is pulled', async () => {
    const client = (await store.create(patient('261181-926D'))).resource as Patient;
    const k = (await store.create(consent(client.id as string))).resource as Consent;
    await drain(sync);
    await store.update({ ...k, dateTime: '2026-01-02' }, { ifMatchOptional: true });
    await drain(sync);

    const w = await remotePut(remote.url, withdrawn(await remoteCopy(k)));
    await sync.pullOnce();
    expect((await localConsent(k.id as string)).status).toBe('inactive');

    await remotePut(remote.url, givenAgain(w));
    const pulled = await sync.pullOnce();
    expect(pulled.applied).toBe(1);
    expect((await localConsent(k.id as string)).status).toBe('active');
  });
});
