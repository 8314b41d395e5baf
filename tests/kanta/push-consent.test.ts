// A consent withdrawn after a Kanta PHR round let its client through the consent gate, but before
// the client's responses left: right before a request leaves — before a client's PHR Patient is
// created there, and before the batch Bundle — the rows a Consent marked in flight go back to the
// queue unsent, and the next round's gate blocks them (the FHIR-store push's rule,
// tests/sync/consent-in-flight.test.ts). The sandbox is a facade in the test's process
// (`mode: 'kanta-phr'`) behind our fault proxy, which holds the answer to the round's first write;
// the stores PGlite. And a withdrawal that commits while the batch waits out a 429's Retry-After stops
// the retry (tests/sync/consent-in-flight.test.ts for the FHIR-store push).
import type { Consent, Patient, QuestionnaireResponse } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/index.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import { type FaultProxy, startFaultProxy } from '../sync/helpers/fault-proxy.ts';
import { consent, patient, withdrawn } from '../sync/helpers/fixtures.ts';
import { drain, waitFor } from '../sync/helpers/waits.ts';
import { sdkResponse, startSandboxHere } from './helpers.ts';

let remoteStore: Store;
let sandbox: RunningServer;
let proxy: FaultProxy;
let store: Store;
let sync: SyncService;

beforeAll(async () => {
  ({ remoteStore, sandbox } = await startSandboxHere());
  proxy = await startFaultProxy(sandbox.url);
  store = await openStore({ dataDir: 'memory://' });
  sync = createSync({
    store,
    remote: {
      baseUrl: `${proxy.url}/fhir`,
      party: 'kela',
      kind: 'kanta-phr',
      application: { name: 'tyokyky-tests', applicationId: 'kela-test-app-4' },
      timeoutMs: 60_000,
    },
    today: () => '2026-06-01',
  });
  await sync.ready;
}, 60_000);
afterAll(async () => {
  proxy?.releaseHeld();
  await sync?.stop();
  await store?.close();
  await proxy?.close();
  await sandbox?.close();
  await remoteStore?.close();
});

interface Client {
  patient: Patient & { id: string };
  consent: Consent;
  response: QuestionnaireResponse & { id: string };
}

/** A client with a consent for kela and one self-assessment response. */
async function client(hetu: string): Promise<Client> {
  const p = (await store.create(patient(hetu))).resource as Patient & { id: string };
  const c = (await store.create(consent(p.id, { parties: ['kela'] }))).resource as Consent;
  return { patient: p, consent: c, response: await responseOf(p.id) };
}

/** A new self-assessment response of the client's own. */
async function responseOf(patientId: string): Promise<QuestionnaireResponse & { id: string }> {
  return (await store.create(sdkResponse(patientId, 5))).resource as QuestionnaireResponse & {
    id: string;
  };
}

/** How many copies of a response Kanta PHR holds. */
const onKanta = async (r: QuestionnaireResponse) =>
  (
    await remoteStore.search('QuestionnaireResponse', {
      identifier: `urn:ietf:rfc:3986|${r.identifier?.value}`,
    })
  ).resources.length;

/** The client's PHR Patient id on Kanta PHR (null: never created there). */
const phrOf = async (c: Client) =>
  (
    await store.query<{ remote_id: string | null }>(
      'SELECT remote_id FROM sync_kanta_patient WHERE local_id = $1',
      [c.patient.id],
    )
  )[0]?.remote_id ?? null;

const rowOf = async (c: Client) =>
  (
    await store.query<{ state: string; reason: string | null }>(
      'SELECT state, reason FROM sync_outbox WHERE resource_id = $1 ORDER BY id DESC LIMIT 1',
      [c.response.id],
    )
  )[0];

describe('Kanta PHR push: a consent withdrawn while the round waits to send', () => {
  it("none of the withdrawn clients' responses reach Kanta PHR; the others' go; the withdrawn end blocked", async () => {
    const a = await client('010181-960A');
    const b = await client('010181-961B');
    const c = await client('010181-962C');

    const held = proxy.stats.held;
    proxy.faults.holdNext = 1;
    proxy.faults.holdMethod = 'POST';
    // The round's first write is client a's PHR Patient: its answer held, the round waits.
    const round = sync.pushRound();
    await waitFor(async () => proxy.stats.held > held, 20_000, "a's PHR Patient at Kanta PHR");
    await store.update(withdrawn(a.consent), { ifMatchOptional: true });
    await store.update(withdrawn(b.consent), { ifMatchOptional: true });
    proxy.releaseHeld();
    // Patients and Consents are settled as not applicable; c's response went; a's and b's wait.
    expect(await round).toMatchObject({ claimed: 9, done: 7, waiting: 2, dead: 0, blocked: 0 });
    for (const withdrawnOne of [a, b])
      expect(await rowOf(withdrawnOne)).toEqual({
        state: 'pending',
        reason: 'consent changed while in flight; re-checked',
      });
    // a's PHR Patient was on its way before the withdrawal; b's was never created (pseudonym only).
    expect(await phrOf(a)).not.toBeNull();
    expect(await phrOf(b)).toBeNull();
    expect([await onKanta(a.response), await onKanta(b.response), await onKanta(c.response)]).toEqual([
      0, 0, 1,
    ]);

    await drain(sync, 20_000);
    expect([await onKanta(a.response), await onKanta(b.response)]).toEqual([0, 0]);
    for (const withdrawnOne of [a, b]) expect((await rowOf(withdrawnOne))?.state).toBe('blocked');
    expect(await phrOf(b)).toBeNull();
  }, 60_000);
});

describe('Kanta PHR push: a withdrawal committed between a 429 and its retry', () => {
  it("the retried batch leaves without the withdrawn client's response, which ends blocked", async () => {
    const a = await client('010181-970A');
    const b = await client('010181-971B');
    // Both PHR Patients are on Kanta PHR now: the next round's first write is its batch Bundle.
    await drain(sync, 20_000);
    const aNew = { ...a, response: await responseOf(a.patient.id) };
    const bNew = { ...b, response: await responseOf(b.patient.id) };

    Object.assign(proxy.faults, { statuses: [429], retryAfter: '1', errorNext: 1 });
    const injected = proxy.stats.injected;
    const round = sync.pushRound();
    await waitFor(async () => proxy.stats.injected > injected, 20_000, 'the 429 answer');
    await store.update(withdrawn(b.consent), { ifMatchOptional: true });
    expect(await round).toMatchObject({ claimed: 2, done: 1, waiting: 1, dead: 0 });

    await drain(sync, 20_000);
    expect([await onKanta(aNew.response), await onKanta(bNew.response)]).toEqual([1, 0]);
    expect(await rowOf(bNew)).toMatchObject({ state: 'blocked' });
    expect((await rowOf(bNew))?.reason).toMatch(/inactive \(withdrawn\)/);
  }, 60_000);
});
