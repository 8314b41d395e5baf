// A consent withdrawn after a round let its client through the consent gate, but before the client's
// rows left: right before a request leaves (in the send slot, and before each wave) the rows a Consent
// marked in flight go back to the queue unsent, and the next round's gate blocks them. Local store on
// PGlite; a second tyokyky facade in this process is the remote, behind our fault proxy. And every
// attempt of a push write is checked the same right before it leaves — a retry the remote client makes
// after a 429, and a single write queued behind the lanes of its wave — so nothing of the client reaches
// the remote once the withdrawal has committed; only a request already on its way goes.
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
  Object.assign(proxy.faults, { errorNext: 0, statuses: [503], retryAfter: undefined, slow: undefined });
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
  bundle: 'auto' | 'transaction' | 'batch' | 'none',
  extra: { batchSize?: number; pushConcurrency?: number } = {},
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

interface Client {
  patient: Patient;
  consent: Consent;
  score?: Observation;
}

let hetu = 10;

async function client(withScore: boolean): Promise<Client> {
  const p = (await store.create(patient(`010181-9${String(hetu++).padStart(2, '0')}X`))).resource as Patient;
  const c = (await store.create(consent(p.id!))).resource as Consent;
  const o = withScore ? ((await store.create(score(p.id!, 4))).resource as Observation) : undefined;
  return { patient: p, consent: c, ...(o ? { score: o } : {}) };
}

/** Withdraws the clients' consents in one local transaction: one commit for all of them. */
function withdraw(clients: Client[]): Promise<void> {
  return store.transaction(async (tx) => {
    for (const c of clients) await tx.update(withdrawn(c.consent), { ifMatchOptional: true });
  });
}

const reasonsOf = (patientId: string) =>
  store.query<{ state: string; reason: string | null }>(
    'SELECT state, reason FROM sync_outbox WHERE patient_id = $1 ORDER BY id',
    [patientId],
  );

const onRemote = async (c: Client) =>
  [
    ...(await remoteCopiesOf(remote.url, c.patient)),
    ...(await remoteCopiesOf(remote.url, c.consent)),
    ...(c.score ? await remoteCopiesOf(remote.url, c.score) : []),
  ].map((r) => r.resourceType);

/** The reason a withdrawn client's rows are blocked with (the consent read names the withdrawal). */
const WITHDRAWN = /^not disclosed: identification to other-health-care .* is inactive \(withdrawn\)/;

describe('a withdrawal committed between a 429 and its retry', () => {
  it.each([
    // One transaction Bundle of both clients: its retry would carry B's Patient, Consent and score.
    ['transaction', 1],
    // Wave 1 is the two Patients in one batch Bundle.
    ['batch', 1],
    // Wave 1 is the two Patients, each a request of its own: both answered 429.
    ['none', 2],
  ] as const)(
    "--bundle %s: the retry leaves without the withdrawn client's resources",
    async (mode, refused) => {
      const a = await client(true);
      const b = await client(true);
      const sync = worker(mode);
      await sync.ready;
      Object.assign(proxy.faults, { statuses: [429], retryAfter: '1', errorNext: refused });
      const injected = proxy.stats.injected;
      const round = sync.pushRound();
      await waitFor(async () => proxy.stats.injected === injected + refused, 20_000, 'the 429 answers');
      // The remote answered 429 Retry-After: 1; the client waits a second before it tries again.
      await withdraw([b]);
      const result = await round;
      expect(result.dead).toBe(0);

      await drain(sync);
      expect(await onRemote(b)).toEqual([]);
      expect((await onRemote(a)).sort()).toEqual(['Consent', 'Observation', 'Patient']);
      const rows = await reasonsOf(b.patient.id!);
      expect(rows.map((r) => r.state)).toEqual(['blocked', 'blocked', 'blocked', 'blocked']);
      for (const r of rows) expect(r.reason).toMatch(WITHDRAWN);
    },
    60_000,
  );
});

describe('single writes queued behind slow answers (--bundle none)', () => {
  it("a write that waited for a lane is checked when it leaves: withdrawn clients' Patients stay here", async () => {
    // 12 Patients in wave 1, 8 lanes: the last 4 wait for a lane while the remote answers slowly.
    const clients: Client[] = [];
    for (let i = 0; i < 12; i++) clients.push(await client(false));
    const sync = worker('none');
    await sync.ready;
    proxy.faults.slow = { path: /\/fhir\/Patient$/, ms: 1_500 };
    const requests = proxy.stats.requests;
    const round = sync.pushRound();
    await waitFor(async () => proxy.stats.requests >= requests + 8, 20_000, 'eight Patients at the remote');
    const [going, queued] = [clients.slice(0, 8), clients.slice(8)];
    await withdraw(queued);
    expect(proxy.stats.requests).toBe(requests + 8); // the other four still wait for a lane
    const result = await round;
    // The eight Patients, then their Consents; the others' Patients and Consents went back unsent.
    expect(result).toMatchObject({ done: 16, waiting: 8, dead: 0, retrying: 0 });
    proxy.faults.slow = undefined;

    await drain(sync);
    for (const c of queued) {
      expect(await onRemote(c)).toEqual([]);
      const rows = await reasonsOf(c.patient.id!);
      expect(rows.map((r) => r.state)).toEqual(['blocked', 'blocked', 'blocked']);
      for (const r of rows) expect(r.reason).toMatch(WITHDRAWN);
    }
    // What left before the withdrawal arrived: a request already on its way.
    for (const c of going) expect((await onRemote(c)).sort()).toEqual(['Consent', 'Patient']);
  }, 60_000);
});
