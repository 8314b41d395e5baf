import type { Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import { consent, patient, remoteAll, score } from './helpers/fixtures.ts';
import { type MedplumPeer, startMedplumPeer } from './helpers/medplum-peer.ts';

let peer: MedplumPeer;
let store: Store;
let sync: SyncService;

beforeAll(async () => {
  peer = await startMedplumPeer();
  store = await openStore({ dataDir: 'memory://' });
  sync = createSync({ store, remote: { baseUrl: peer.url, party: 'other-health-care', bundle: 'batch' } });
  await sync.ready;
});
afterAll(async () => {
  await sync.stop();
  await store.close();
  await peer.close();
});

describe('push to a Medplum peer', () => {
  it('delivers a client with consent and records, once each, references rewritten to remote ids', async () => {
    const p = (await store.create(patient())).resource as Patient;
    await store.create(consent(p.id!));
    const obs = (await store.create(score(p.id!, 5))).resource as Observation;
    const result = await sync.pushOnce();
    expect(result.done).toBe(3);
    const remotePatients = (await remoteAll(peer.url, 'Patient')) as Patient[];
    expect(remotePatients).toHaveLength(1);
    const remoteObs = (await remoteAll(peer.url, 'Observation')) as Observation[];
    expect(remoteObs).toHaveLength(1);
    expect(remoteObs[0].identifier).toEqual(obs.identifier);
    expect(remoteObs[0].subject?.reference).toBe(`Patient/${remotePatients[0].id}`);
    const status = await sync.status();
    expect(status.queueDepth).toBe(0);
    expect(status.states.done).toBe(3);
    expect(status.followedClients).toBe(1);
  });
});
