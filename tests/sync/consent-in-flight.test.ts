// A consent withdrawn after a round let its client through the consent gate, but before the client's
// rows left: right before a request leaves (in the send slot, and before each wave) the rows a Consent
// marked in flight go back to the queue unsent, and the next round's gate blocks them. Local store on
// PGlite; a second tyokyky facade in this process is the remote, behind our fault proxy.
import type { Consent, Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import { openStore } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import { type FacadeHere, startFacadeHere } from '../helpers/facade.ts';
import { type FaultProxy, startFaultProxy } from './helpers/fault-proxy.ts';
import { consent, patient, remoteCopiesOf, score, withdrawn } from './helpers/fixtures.ts';
import { drain, waitFor } from './helpers/waits.ts';

let remote: FacadeHere;
let proxy: FaultProxy;
let store: Store;
let hooks: SyncService;
const workers: SyncService[] = [];

beforeAll(async () => {
  remote = await startFacadeHere({ dataDir: 'memory://' }, { strict: false });
  proxy = await startFaultProxy(remote.url.replace(/\/fhir$/, ''));
  store = await openStore({ dataDir: 'memory://' });
  // The outbox hook only; each test's worker pushes.
  hooks = createSync({ store, remote: { baseUrl: `${proxy.url}/fhir`, party: 'other-health-care' } });
  await hooks.ready;
}, 60_000);
afterEach(async () => {
  proxy.releaseHeld();
  for (const w of workers.splice(0)) await w.stop();
});
afterAll(async () => {
  await hooks?.stop();
  await store?.close();
  await proxy?.close();
  await remote?.stop();
});

function worker(
  bundle: 'auto' | 'transaction' | 'none',
  extra: { batchSize?: number; pushConcurrency?: number },
) {
  const w = createSync({
    store,
    remote: { baseUrl: `${proxy.url}/fhir`, party: 'other-health-care', bundle, timeoutMs: 60_000 },
    installHook: false,
    ...extra,
  });
  workers.push(w);
  return w;
}

const rowsOf = (patientId: string) =>
  store.query<{ resource_type: string; state: string }>(
    'SELECT resource_type, state FROM sync_outbox WHERE patient_id = $1 ORDER BY id',
    [patientId],
  );

describe('a consent withdrawn while its client is in flight', () => {
  it("in the send slot: the round that passed the gate sends none of the client's rows; they end blocked", async () => {
    const a = (await store.create(patient('010181-930U'))).resource as Patient;
    await store.create(consent(a.id!));
    const b = (await store.create(patient('010181-931V'))).resource as Patient;
    const bConsent = (await store.create(consent(b.id!))).resource as Consent;
    const sync = worker('transaction', { batchSize: 2, pushConcurrency: 1 });
    await sync.ready;

    const held = proxy.stats.held;
    proxy.faults.holdNext = 1;
    proxy.faults.holdMethod = 'POST';
    const first = sync.pushRound(); // client A's Bundle, its answer held: the one send slot stays busy
    await waitFor(async () => proxy.stats.held > held, 20_000, "A's Bundle at the remote");
    const second = sync.pushRound(); // client B: let through by the gate, then waits for the slot
    await waitFor(
      async () => (await sync.status()).waiting.some((w) => w.what.includes('send slot')),
      20_000,
      "B's round waiting for the send slot",
    );
    await store.update(withdrawn(bConsent), { ifMatchOptional: true });
    proxy.releaseHeld();
    expect((await first).done).toBe(2);
    expect(await second).toMatchObject({ claimed: 2, done: 0, waiting: 2 });
    const [released] = await store.query<{ state: string; reason: string }>(
      "SELECT state, reason FROM sync_outbox WHERE patient_id = $1 AND resource_type = 'Patient'",
      [b.id],
    );
    expect(released).toEqual({ state: 'pending', reason: 'consent changed while in flight; re-checked' });

    await drain(sync);
    expect(await remoteCopiesOf(remote.url, b)).toEqual([]);
    expect(await remoteCopiesOf(remote.url, bConsent)).toEqual([]);
    expect(await remoteCopiesOf(remote.url, a)).toHaveLength(1);
    expect(await rowsOf(b.id!)).toEqual([
      { resource_type: 'Patient', state: 'blocked' },
      { resource_type: 'Consent', state: 'blocked' },
      { resource_type: 'Consent', state: 'blocked' },
    ]);
  }, 60_000);

  it('between waves (bundle none): what the withdrawal finds not yet sent stays here, blocked', async () => {
    const p = (await store.create(patient('010181-932W'))).resource as Patient;
    const c = (await store.create(consent(p.id!))).resource as Consent;
    const o = (await store.create(score(p.id!, 4))).resource as Observation;
    const sync = worker('none', {});
    await sync.ready;

    const held = proxy.stats.held;
    proxy.faults.holdNext = 1;
    proxy.faults.holdMethod = 'POST';
    const round = sync.pushRound(); // wave 1, the Patient: its answer held
    await waitFor(async () => proxy.stats.held > held, 20_000, 'the Patient at the remote');
    await store.update(withdrawn(c), { ifMatchOptional: true });
    const posts = proxy.stats.forwarded;
    proxy.releaseHeld();
    expect(await round).toMatchObject({ done: 1, waiting: 2 });
    expect(proxy.stats.forwarded).toBe(posts); // wave 2 (Consent, Observation) never left

    await drain(sync);
    // The Patient had left before the withdrawal; nothing after it did.
    expect(await remoteCopiesOf(remote.url, p)).toHaveLength(1);
    expect(await remoteCopiesOf(remote.url, o)).toEqual([]);
    expect(await remoteCopiesOf(remote.url, c)).toEqual([]);
    expect(await rowsOf(p.id!)).toEqual([
      { resource_type: 'Patient', state: 'done' },
      { resource_type: 'Consent', state: 'blocked' },
      { resource_type: 'Observation', state: 'blocked' },
      { resource_type: 'Consent', state: 'blocked' },
    ]);
  }, 60_000);

  it("in a transaction: another client's record naming the withdrawn client by urn:uuid stays behind with it", async () => {
    const a = (await store.create(patient('010181-933X'))).resource as Patient;
    await store.create(consent(a.id!));
    const b = (await store.create(patient('010181-934Y'))).resource as Patient;
    const bConsent = (await store.create(consent(b.id!))).resource as Consent;
    const naming = {
      ...score(a.id!, 5),
      performer: [{ reference: `Patient/${b.id}` }],
    } as Observation;
    const o = (await store.create(naming)).resource as Observation;
    // 'auto': the round reads the remote's CapabilityStatement after its gate; that answer is held.
    const sync = worker('auto', {});
    await sync.ready;
    const held = proxy.stats.held;
    proxy.faults.holdNext = 1;
    proxy.faults.holdMethod = 'GET';
    const round = sync.pushRound();
    await waitFor(async () => proxy.stats.held > held, 20_000, 'the capabilities read');
    await store.update(withdrawn(bConsent), { ifMatchOptional: true });
    proxy.releaseHeld();
    expect(await round).toMatchObject({ claimed: 5, done: 2, waiting: 3 });

    await drain(sync);
    expect(await remoteCopiesOf(remote.url, a)).toHaveLength(1);
    expect(await remoteCopiesOf(remote.url, o)).toEqual([]);
    expect(await remoteCopiesOf(remote.url, b)).toEqual([]);
    const [row] = await store.query<{ state: string; reason: string }>(
      "SELECT state, reason FROM sync_outbox WHERE resource_type = 'Observation' AND resource_id = $1",
      [o.id],
    );
    expect(row?.state).toBe('held');
    expect(row?.reason).toMatch(new RegExp(`^held: refers to Patient/${b.id}, another client`));
  }, 60_000);
});
