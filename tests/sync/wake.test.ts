// Idle push loops wake on a local commit instead of polling: the store's after-commit hook rings the
// store's doorbell, a ring wakes one sleeper, and a rolled-back write rings nothing. Local store on
// PGlite, a FHIR server we did not write (@medplum/fhir-router) as the remote.
import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import { openStore } from '../../src/store/index.ts';
import { Doorbell, doorbellOf } from '../../src/sync/doorbell.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import { consent, patient, remoteAll, score } from './helpers/fixtures.ts';
import { type MedplumPeer, startMedplumPeer } from './helpers/medplum-peer.ts';
import { emptied, waitFor } from './helpers/waits.ts';

const settled = async (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

describe('doorbell', () => {
  it('a ring wakes one sleeper long before its idle time; a ring since the ticket skips the sleep', async () => {
    const bell = new Doorbell();
    const a = bell.sleep(60_000, bell.ticket());
    const b = bell.sleep(60_000, bell.ticket());
    bell.ring();
    expect(await settled(a, 1_000)).toBe(true);
    expect(await settled(b, 50)).toBe(false); // one ring, one sleeper
    bell.ring();
    expect(await settled(b, 1_000)).toBe(true);

    const ticket = bell.ticket();
    bell.ring(); // e.g. a commit while the loop was claiming
    expect(await settled(bell.sleep(60_000, ticket), 50)).toBe(true);
    expect(await settled(bell.sleep(60_000, bell.ticket()), 50)).toBe(false);
  });

  it('sleep ends at its idle time without a ring, and at once when aborted', async () => {
    const bell = new Doorbell();
    expect(await settled(bell.sleep(20, bell.ticket()), 1_000)).toBe(true);
    const abort = new AbortController();
    const asleep = bell.sleep(60_000, bell.ticket(), abort.signal);
    abort.abort();
    expect(await settled(asleep, 1_000)).toBe(true);
  });
});

describe('push loops wake on a local commit', () => {
  let peer: MedplumPeer;
  let store: Store;
  let sync: SyncService;

  beforeAll(async () => {
    peer = await startMedplumPeer();
    store = await openStore({ dataDir: 'memory://' });
    sync = createSync({
      store,
      remote: { baseUrl: peer.url, party: 'other-health-care', bundle: 'batch' },
      today: () => '2026-06-01',
      // Far beyond the test's waits: only the doorbell can wake the loop in time.
      pushIdleMs: 600_000,
    });
    await sync.ready;
  });
  afterAll(async () => {
    await sync?.stop();
    await store?.close();
    await peer?.close();
  });

  it('a committed write rings the store’s doorbell; a rolled-back one does not', async () => {
    const bell = doorbellOf(store);
    const before = bell.ticket();
    await expect(
      store.transaction(async (tx) => {
        await tx.create(patient('010181-931C'));
        throw new Error('roll it back');
      }),
    ).rejects.toThrow('roll it back');
    expect(bell.ticket()).toBe(before);
    await store.create(patient('010181-932D'));
    expect(bell.ticket()).toBe(before + 1);
  });

  it('a loop asleep for its idle time pushes a client written after it fell asleep, in seconds', async () => {
    sync.start({ pull: false });
    // The loop's first round pushes the Patient above (blocked: no consent) and falls asleep.
    await emptied(sync, 10_000, 'the first round to settle the outbox');
    await new Promise((r) => setTimeout(r, 300));
    const value = await store.transaction(async (tx) => {
      const p = (await tx.create(patient('010181-933E'))).resource as Patient;
      await tx.create(consent(p.id!));
      await tx.create(score(p.id!, 7));
      return p.identifier![0].value!;
    });
    // The Observation goes in the round's last wave, after the Patient and the Consent.
    await waitFor(
      async () => (await remoteAll(peer.url, 'Observation')).length === 1,
      10_000,
      'the Observation on the remote',
    );
    const patients = await remoteAll(peer.url, 'Patient');
    expect(patients.filter((r) => (r as Patient).identifier?.some((i) => i.value === value))).toHaveLength(1);
  });
});
