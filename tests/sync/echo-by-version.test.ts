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
  remoteCopy,
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

const localConsent = async (id: string) => (await store.read('Consent', id)) as Consent;

describe('echo detection after a pulled version replaced what we sent', () => {
  // A withdrawn Consent stays withdrawn (consent-withdrawal-final), so the content that comes back is
  // an earlier dateTime, not a consent given again.
  it('an edit on the remote back to the content we first pushed is pulled; a withdrawal after it too, and new data is not sent', async () => {
    const client = (await store.create(patient('251181-925R'))).resource as Patient;
    const k = (await store.create(consent(client.id as string))).resource as Consent;
    await drain(sync);
    await store.update({ ...k, dateTime: '2026-01-02' }, { ifMatchOptional: true });
    await drain(sync);

    // The remote goes back to the content of our first push.
    const there = await remotePut(remote.url, { ...(await remoteCopy(remote.url, k)), dateTime: k.dateTime });
    const back = await sync.pullOnce();
    expect(back.applied).toBe(1);
    expect((await localConsent(k.id as string)).dateTime).toBe(k.dateTime);

    // The client withdraws there.
    await remotePut(remote.url, withdrawn(there));
    const pulled = await sync.pullOnce();
    expect(pulled.applied).toBe(1);
    expect((await localConsent(k.id as string)).status).toBe('inactive');

    const o = (await store.create(score(client.id as string, 5))).resource as Observation;
    await drain(sync);
    expect(await remoteCopiesOf(remote.url, o)).toEqual([]);
  });

  it('a withdrawal made here, pushed, then an earlier pushed content restored on the remote is refused there, never pulled as ours', async () => {
    const client = (await store.create(patient('261181-926D'))).resource as Patient;
    const k = (await store.create(consent(client.id as string))).resource as Consent;
    await drain(sync);
    await store.update(withdrawn(k), { ifMatchOptional: true });
    await drain(sync);
    const there = await remoteCopy(remote.url, k);
    expect(there.status).toBe('inactive');
    // The remote (a facade like ours) keeps the withdrawal: the content we first pushed cannot return.
    await expect(remotePut(remote.url, givenAgain(there))).rejects.toThrow(/409.*consent-withdrawal-final/);
    const pulled = await sync.pullOnce();
    expect(pulled.applied).toBe(0);
    expect((await localConsent(k.id as string)).status).toBe('inactive');
  });
});
