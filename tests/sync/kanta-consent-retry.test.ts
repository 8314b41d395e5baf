// The Kanta PHR push under the FHIR-store push's rule (tests/sync/consent-every-attempt.test.ts): a
// withdrawal that commits while the batch Bundle waits out a 429's Retry-After stops the retry; the
// batch goes again at once without the withdrawn client's response, which ends blocked. The sandbox is
// a facade in the test's process (`mode: 'kanta-phr'`) behind our fault proxy; both stores PGlite.
import { randomUUID } from 'node:crypto';
import type { Consent, Patient, QuestionnaireResponse } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toResources } from '../../src/mapping/index.ts';
import type { RunningServer } from '../../src/server/index.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import { startSandboxHere } from '../kanta/helpers.ts';
import { type FaultProxy, startFaultProxy } from './helpers/fault-proxy.ts';
import { consent, patient, withdrawn } from './helpers/fixtures.ts';
import { drain, waitFor } from './helpers/waits.ts';

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
      application: { name: 'tyokyky-tests', applicationId: 'kela-test-app-5' },
      timeoutMs: 60_000,
      retry: { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 5_000, maxRetryAfterMs: 30_000 },
    },
    today: () => '2026-06-01',
  });
  await sync.ready;
}, 60_000);
afterAll(async () => {
  await sync?.stop();
  await store?.close();
  await proxy?.close();
  await sandbox?.close();
  await remoteStore?.close();
});

/** A self-assessment response of the client's own. */
async function response(patientId: string): Promise<QuestionnaireResponse> {
  const [qr] = toResources('selfAssessment', {
    id: randomUUID(),
    clientId: 'local',
    date: '2026-04-01',
    overall: 5,
  }) as QuestionnaireResponse[];
  const who = { reference: `Patient/${patientId}` };
  return (await store.create({ ...qr, subject: who, author: who })).resource as QuestionnaireResponse;
}

const onKanta = async (r: QuestionnaireResponse) =>
  (
    await remoteStore.search('QuestionnaireResponse', {
      identifier: `urn:ietf:rfc:3986|${r.identifier?.value}`,
    })
  ).resources.length;

const rowOf = async (r: QuestionnaireResponse) =>
  (
    await store.query<{ state: string; reason: string | null }>(
      'SELECT state, reason FROM sync_outbox WHERE resource_id = $1 ORDER BY id DESC LIMIT 1',
      [r.id],
    )
  )[0];

describe('Kanta PHR push: a withdrawal committed between a 429 and its retry', () => {
  it("the retried batch leaves without the withdrawn client's response", async () => {
    const clients: { patient: Patient; consent: Consent }[] = [];
    for (const hetu of ['010181-970A', '010181-971B']) {
      const p = (await store.create(patient(hetu))).resource as Patient;
      const c = (await store.create(consent(p.id!, { parties: ['kela'] }))).resource as Consent;
      clients.push({ patient: p, consent: c });
      await response(p.id!);
    }
    // Both PHR Patients are on Kanta PHR now: the next round's first write is its batch Bundle.
    await drain(sync, 20_000);
    const [a, b] = clients;
    const aNew = await response(a.patient.id!);
    const bNew = await response(b.patient.id!);

    Object.assign(proxy.faults, { statuses: [429], retryAfter: '1', errorNext: 1 });
    const injected = proxy.stats.injected;
    const round = sync.pushRound();
    await waitFor(async () => proxy.stats.injected > injected, 20_000, 'the 429 answer');
    await store.update(withdrawn(b.consent), { ifMatchOptional: true });
    expect(await round).toMatchObject({ claimed: 2, done: 1, waiting: 1, dead: 0 });

    await drain(sync, 20_000);
    expect([await onKanta(aNew), await onKanta(bNew)]).toEqual([1, 0]);
    expect(await rowOf(bNew)).toMatchObject({ state: 'blocked' });
    expect((await rowOf(bNew))?.reason).toMatch(/inactive \(withdrawn\)/);
  }, 60_000);
});
