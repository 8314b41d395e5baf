// What the Kanta PHR adapter takes on and brings back. Kanta PHR holds citizen-produced data: a local
// response goes only when the client wrote it (author and source the client's own Patient) and it is
// completed or amended; anything else is settled "not applicable", never sent with its author rewritten
// to the citizen. Only responses to our Kykyviisari questionnaire are self-assessments, either way. One
// client's failure settles that client's rows only. The sandbox is a facade in the test's process
// (`mode: 'kanta-phr'`), behind our fault proxy; both stores PGlite.
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/index.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { type SyncService, createSync, kantaStatus, remoteConfigFrom } from '../../src/sync/index.ts';
import { call, citizenResponse, sdkResponse, startSandboxHere, urn } from '../kanta/helpers.ts';
import { silent } from '../server/helpers.ts';
import { type FaultProxy, startFaultProxy } from './helpers/fault-proxy.ts';
import { consent, patient } from './helpers/fixtures.ts';
import { drain } from './helpers/waits.ts';

const APP = { name: 'tyokyky-tests', applicationId: 'kela-test-app-scope' };
const KYKYVIISARI = 'https://tyokyky-fhir.org/fhir/Questionnaire/kykyviisari';

let remoteStore: Store;
let sandbox: RunningServer;
let proxy: FaultProxy;
let base: string;
let store: Store;
let sync: SyncService;

beforeAll(async () => {
  ({ remoteStore, sandbox } = await startSandboxHere());
  base = `${sandbox.url}/fhir`;
  proxy = await startFaultProxy(base);
  store = await openStore({ dataDir: 'memory://' });
  const remote = remoteConfigFrom({
    remote: proxy.url,
    party: 'kela',
    remoteKind: 'kanta-phr',
    applicationName: APP.name,
    applicationId: APP.applicationId,
  });
  if (!remote) throw new Error('no remote configured');
  sync = createSync({
    store,
    remote: {
      ...remote,
      pullOverlapMs: 0,
      retry: { initialDelayMs: 10, maxDelayMs: 50 },
      breaker: { halfOpenAfterMs: 100 },
    },
    retryBaseMs: 10,
    logger: silent,
  });
  await sync.ready;
});

afterEach(() => {
  proxy.faults.refuse = undefined;
});

afterAll(async () => {
  await sync?.stop();
  await store?.close();
  await proxy?.close();
  await sandbox?.close();
  await remoteStore?.close();
});

/** A new local client with a consent for kela; returns its Patient id. */
async function newClient(hetu: string): Promise<string> {
  const id = (await store.create(patient(hetu))).resource.id as string;
  await store.create(consent(id, { parties: ['kela'] }));
  return id;
}

/** A self-assessment response of a local client as the SDK writes it (the client its author), `change` over it. */
async function localResponse(
  of: string,
  change: Partial<QuestionnaireResponse> = {},
): Promise<QuestionnaireResponse & { id: string }> {
  const written = await store.create(sdkResponse(of, 6, change));
  return written.resource as QuestionnaireResponse & { id: string };
}

const onKanta = async (identifier: string) =>
  (await remoteStore.search('QuestionnaireResponse', { identifier: `urn:ietf:rfc:3986|${identifier}` }))
    .resources as QuestionnaireResponse[];

const lastRow = async (id: string) =>
  (
    await store.query<{ state: string; reason: string | null }>(
      'SELECT state, reason FROM sync_outbox WHERE resource_id = $1 ORDER BY id DESC LIMIT 1',
      [id],
    )
  )[0];

const phrOf = async (local: string) =>
  (
    await store.query<{ remote_id: string | null }>(
      'SELECT remote_id FROM sync_kanta_patient WHERE local_id = $1',
      [local],
    )
  )[0]?.remote_id;

const NOT_THE_CITIZENS = /^not applicable to this remote: Kanta PHR holds citizen-produced data/;

describe('Kanta PHR push: only what the citizen wrote goes', () => {
  it('a response a professional wrote, or one not completed, stays here: not applicable, with the reason', async () => {
    const client = await newClient('120395-902S');
    const cases = {
      practitionerRole: {
        change: { author: { reference: 'PractitionerRole/nurse-1', display: 'Sairaanhoitaja' } },
        element: 'QuestionnaireResponse.author',
      },
      displayOnly: {
        change: { author: { display: 'Anna Koskinen, sosiaalityöntekijä' } },
        element: 'QuestionnaireResponse.author',
      },
      noAuthor: { change: { author: undefined }, element: 'QuestionnaireResponse.author' },
      anotherPatient: {
        change: { author: { reference: 'Patient/someone-else' } },
        element: 'QuestionnaireResponse.author',
      },
      sourcePractitioner: {
        change: { source: { reference: 'Practitioner/x' } },
        element: 'QuestionnaireResponse.source',
      },
      inProgress: { change: { status: 'in-progress' }, element: 'QuestionnaireResponse.status' },
      enteredInError: { change: { status: 'entered-in-error' }, element: 'QuestionnaireResponse.status' },
    } as const;
    const made = new Map<string, QuestionnaireResponse & { id: string }>();
    for (const [name, c] of Object.entries(cases))
      made.set(name, await localResponse(client, c.change as Partial<QuestionnaireResponse>));
    const own = await localResponse(client, { source: { reference: `Patient/${client}` } });
    const amended = await localResponse(client, { status: 'amended' });
    await sync.pushOnce();
    for (const [name, c] of Object.entries(cases)) {
      const local = made.get(name) as QuestionnaireResponse & { id: string };
      const row = await lastRow(local.id);
      expect(row?.state, name).toBe('done');
      expect(row?.reason, name).toMatch(NOT_THE_CITIZENS);
      expect(row?.reason, name).toContain(`(${c.element})`);
      // The reason names the element, never the value (a professional's name).
      expect(row?.reason, name).not.toMatch(/Koskinen|Sairaanhoitaja|nurse-1|someone-else/);
      expect(await onKanta(local.identifier?.value as string), name).toEqual([]);
    }
    for (const sent of [own, amended]) {
      expect(await lastRow(sent.id)).toMatchObject({ state: 'done', reason: null });
      const [there] = await onKanta(sent.identifier?.value as string);
      expect(there?.author).toEqual({ reference: `Patient/${await phrOf(client)}` });
    }
    expect(amended.status).toBe('amended');
    expect((await kantaStatus(store)).notApplicable.QuestionnaireResponse).toBeGreaterThanOrEqual(7);
  });

  it('a response sent once and then handed to a professional is not sent again: Kanta keeps the citizen’s', async () => {
    const client = await newClient('030879-904X');
    const local = await localResponse(client);
    await sync.pushOnce();
    expect(await lastRow(local.id)).toMatchObject({ state: 'done', reason: null });
    await store.update(
      { ...local, author: { reference: 'PractitionerRole/nurse-1' } },
      { ifMatch: local.meta?.versionId },
    );
    await sync.pushOnce();
    expect((await lastRow(local.id))?.reason).toMatch(NOT_THE_CITIZENS);
    const [there] = await onKanta(local.identifier?.value as string);
    expect(there?.meta?.versionId).toBe('1');
  });
});

describe('Kanta PHR: only responses to the Kykyviisari are self-assessments', () => {
  it('a response to another questionnaire on Kanta PHR is not imported, recorded with the reason', async () => {
    const client = await newClient('250675Y906J');
    await localResponse(client);
    await sync.pushOnce();
    const phr = (await phrOf(client)) as string;
    expect(phr).toBeTruthy();
    const other = {
      ...citizenResponse(phr, urn(), { overall: 2 }),
      questionnaire: 'http://example.org/Questionnaire/mood',
    };
    const ours = citizenResponse(phr, urn(), { overall: 3 });
    const versioned = {
      ...citizenResponse(phr, urn(), { overall: 4 }),
      questionnaire: `${KYKYVIISARI}|0.1.0`,
    };
    const posted: Record<string, string> = {};
    for (const [name, r] of Object.entries({ other, ours, versioned })) {
      const answer = await call(base, 'POST', '/QuestionnaireResponse', r);
      expect(answer.status, name).toBe(201);
      posted[name] = answer.body.id;
    }
    await sync.pullOnce();
    const here = (
      await store.search('QuestionnaireResponse', { subject: `Patient/${client}`, _count: '100' })
    ).resources as QuestionnaireResponse[];
    const values = here.map((q) => q.identifier?.value);
    expect(values).toContain(ours.identifier?.value);
    expect(values).toContain(versioned.identifier?.value);
    expect(values).not.toContain(other.identifier?.value);
    for (const q of here) expect(q.questionnaire).toBe(KYKYVIISARI);
    const { notImported } = await kantaStatus(store);
    expect(notImported).toContainEqual({
      resourceType: 'QuestionnaireResponse',
      remoteId: posted.other,
      reason:
        'not readable as a self-assessment: QuestionnaireResponse.questionnaire: not the Kykyviisari questionnaire',
    });
  });

  it('a local response to another questionnaire is not sent: a dead letter naming the element', async () => {
    const client = await newClient('111181-910Y');
    const local = await localResponse(client, { questionnaire: 'http://example.org/Questionnaire/mood' });
    await sync.pushOnce();
    expect(await lastRow(local.id)).toEqual({
      state: 'dead',
      reason: 'not sent: not readable as a self-assessment (QuestionnaireResponse.questionnaire)',
    });
    expect(await onKanta(local.identifier?.value as string)).toEqual([]);
  });
});

describe("Kanta PHR push: one client's failure is that client's", () => {
  /** A client whose PHR Patient Kanta PHR holds already, and one new there; a response of each queued. */
  async function twoClients(known: string, fresh: string) {
    const a = await newClient(known);
    await localResponse(a);
    await sync.pushOnce();
    expect(await phrOf(a)).toBeTruthy();
    const b = await newClient(fresh);
    return { a: await localResponse(a), b: await localResponse(b), clientB: b };
  }

  it("a PHR Patient create Kanta PHR refuses (422) dead-letters that client's rows only", async () => {
    const { a, b, clientB } = await twoClients('010181-900C', '020202A912U');
    proxy.faults.refuse = { path: /\/Patient$/, status: 422 };
    const round = await sync.pushOnce();
    expect(round).toMatchObject({ dead: 1 });
    expect(await lastRow(a.id)).toMatchObject({ state: 'done' });
    expect(await onKanta(a.identifier?.value as string)).toHaveLength(1);
    expect((await lastRow(b.id))?.state).toBe('dead');
    expect(await phrOf(clientB)).toBeNull();
  });

  it("a transient failure of a PHR Patient create sends that client's rows back to the queue only", async () => {
    const { a, b, clientB } = await twoClients('131052-9085', '290296-9026');
    proxy.faults.refuse = { path: /\/Patient$/, status: 503 };
    // One round: a push until nothing is ready would take b's row again and again (it backs off 10 ms
    // here) until the breaker opens, and an open circuit giving its rows back after 100 ms keeps it going.
    const round = await sync.pushRound();
    expect(round.dead).toBe(0);
    expect(round.retrying).toBe(1);
    expect(await lastRow(a.id)).toMatchObject({ state: 'done' });
    expect(await onKanta(a.identifier?.value as string)).toHaveLength(1);
    expect((await lastRow(b.id))?.state).toBe('pending');
    proxy.faults.refuse = undefined;
    await drain(sync);
    expect(await lastRow(b.id)).toMatchObject({ state: 'done' });
    expect(await phrOf(clientB)).toBeTruthy();
  });
});
