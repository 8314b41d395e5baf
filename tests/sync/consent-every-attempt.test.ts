// A consent withdrawn after a write's check but before the write leaves: every attempt of a push
// write is checked right before it leaves — a retry the remote client makes after a 429, and a single
// write queued behind the lanes of its wave — so nothing of the client reaches the remote once the
// withdrawal has committed; the rows end blocked by the withdrawal. Only a request already on its way
// goes. Local store on PGlite; a second tyokyky facade in this process is the remote, behind our fault
// proxy.
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
let hetu = 10;

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

function worker(bundle: 'transaction' | 'batch' | 'none') {
  const w = createSync({
    store,
    remote: {
      baseUrl: `${proxy.url}/fhir`,
      party: 'other-health-care',
      bundle,
      timeoutMs: 60_000,
      retry: { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 5_000, maxRetryAfterMs: 30_000 },
    },
    installHook: false,
  });
  workers.push(w);
  return w;
}

interface Client {
  patient: Patient;
  consent: Consent;
  score?: Observation;
}

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

const rowsOf = (patientId: string) =>
  store.query<{ resource_type: string; state: string; reason: string | null }>(
    'SELECT resource_type, state, reason FROM sync_outbox WHERE patient_id = $1 ORDER BY id',
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
      const rows = await rowsOf(b.patient.id!);
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
      const rows = await rowsOf(c.patient.id!);
      expect(rows.map((r) => r.state)).toEqual(['blocked', 'blocked', 'blocked']);
      for (const r of rows) expect(r.reason).toMatch(WITHDRAWN);
    }
    // What left before the withdrawal arrived: a request already on its way.
    for (const c of going) expect((await onRemote(c)).sort()).toEqual(['Consent', 'Patient']);
  }, 60_000);
});
