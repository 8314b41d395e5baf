// The Kanta PHR adapter against a real second facade process in sandbox mode (`serve --mode
// kanta-phr`, its own PostgreSQL database), through a fault proxy; the local side is a facade on
// PostgreSQL fed with the persona Bundles.
import { randomUUID } from 'node:crypto';
import type { AuditEvent, Bundle, Patient, QuestionnaireResponse } from '@medplum/fhirtypes';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { personas } from '../../examples/tools/personas.ts';
import { toFhir, toResources } from '../../src/mapping/index.ts';
import { type RunningServer, startServer } from '../../src/server/index.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { type SyncService, createSync, kantaStatus, remoteConfigFrom } from '../../src/sync/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { silent } from '../server/helpers.ts';
import { type FaultProxy, startFaultProxy } from '../sync/helpers/fault-proxy.ts';
import { dropDatabase, freshDatabase } from '../sync/helpers/processes.ts';
import { waitFor } from '../sync/helpers/waits.ts';
import { call, startSandbox } from './helpers.ts';

const APP = { name: 'tyokyky-tests', applicationId: 'kela-test-app-1' };
const HETUS = ['120395-902S', '030879-904X', '250675Y906J'];
const NAMES = ['Virtanen', 'Meikäläinen', 'Korhonen'];

let remoteDb = '';
let localDb = '';
let sandbox: Awaited<ReturnType<typeof startSandbox>>;
let proxy: FaultProxy;
let store: Store;
let local: RunningServer;
let sync: SyncService;
const localPatient = new Map<string, string>(); // persona → local Patient id

/** Everything the remote database holds, as text (every row of every table). */
async function remoteText(): Promise<string> {
  const client = new pg.Client({ connectionString: remoteDb });
  await client.connect();
  try {
    const tables = await client.query<{ t: string }>(
      "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'",
    );
    let out = '';
    for (const { t } of tables.rows) {
      const rows = await client.query(`SELECT x::text AS j FROM "${t}" x`);
      out += rows.rows.map((r) => r.j).join('\n');
    }
    return out;
  } finally {
    await client.end();
  }
}

async function remoteResponses(): Promise<QuestionnaireResponse[]> {
  const remote = await openStore({ databaseUrl: remoteDb });
  try {
    return (await remote.search('QuestionnaireResponse', { _count: '1000' }))
      .resources as QuestionnaireResponse[];
  } finally {
    await remote.close();
  }
}

/** The remote as `--remote-kind kanta-phr --application-name … --application-id …` configures it. */
function kantaRemote() {
  const remote = remoteConfigFrom({
    remote: proxy.url,
    party: 'kela',
    remoteKind: 'kanta-phr',
    applicationName: APP.name,
    applicationId: APP.applicationId,
  });
  if (!remote) throw new Error('no remote configured');
  return { ...remote, retry: { initialDelayMs: 10, maxDelayMs: 50 } };
}

beforeAll(async () => {
  [remoteDb, localDb] = await Promise.all([
    freshDatabase('tyokyky_kanta_remote'),
    freshDatabase('tyokyky_kanta_local'),
  ]);
  sandbox = await startSandbox(remoteDb);
  proxy = await startFaultProxy(sandbox.url);
  store = await openStore({ databaseUrl: localDb });
  // No overlap of pull windows: a second pull fetches exactly what changed since the first.
  sync = createSync({ store, remote: { ...kantaRemote(), pullOverlapMs: 0 } });
  await sync.ready;
  local = await startServer({
    store: store as never,
    validator: (await loadProjectValidator()) as never,
    logger: silent,
  });
  // Maija has no self-assessment in the personas: she fills one in at the clinic.
  const maija = {
    ...personas.maija,
    selfAssessments: [
      { id: randomUUID(), clientId: personas.maija.client.id, date: '2026-02-01', overall: 5 },
    ],
  };
  for (const [name, record] of Object.entries({ ...personas, maija })) {
    const r = await call(`${local.url}/fhir`, 'POST', '', toFhir(record as never));
    expect(r.status, JSON.stringify(r.body).slice(0, 400)).toBe(200);
    const loc = (r.body as Bundle).entry?.map(
      (e) => /(?:^|\/)Patient\/([^/]+)/.exec(e.response?.location ?? '')?.[1],
    );
    localPatient.set(name, loc?.find(Boolean) as string);
  }
}, 180_000);

afterAll(async () => {
  await sync?.stop();
  await local?.close();
  await store?.close();
  await proxy?.close();
  await sandbox?.stop();
  for (const url of [remoteDb, localDb]) if (url) await dropDatabase(url);
});

/** The sync's audit rows (AuditEvents of type `code`: 110106 export, 110107 import) of a persona. */
async function transfers(name: string, code: string): Promise<AuditEvent[]> {
  const r = await call(`${local.url}/fhir`, 'GET', `/AuditEvent?patient=Patient/${localPatient.get(name)}`);
  expect(r.status).toBe(200);
  return ((r.body as Bundle<AuditEvent>).entry ?? [])
    .map((e) => e.resource as AuditEvent)
    .filter((e) => e.type.code === code);
}

describe('Kanta PHR adapter: push', () => {
  it("pushes consented self-assessments as fiphr responses of the clients' pseudonymous PHR Patients", async () => {
    const r = await sync.pushOnce();
    expect(r.dead).toBe(0);
    const responses = await remoteResponses();
    // Suvi (kela may see work-ability data) and Maija; Sirpa's consent does not cover it.
    expect(responses).toHaveLength(2);
    for (const qr of responses) {
      expect(qr.meta?.profile).toEqual([
        'http://phr.kanta.fi/StructureDefinition/fiphr-sd-questionnaireresponse-r4',
      ]);
      expect(qr.author).toEqual(qr.subject);
      expect(qr.source).toEqual(qr.subject);
      expect(qr.subject?.reference).toMatch(/^Patient\/[^/]+$/);
      expect(qr.extension).toContainEqual({
        url: 'http://phr.kanta.fi/StructureDefinition/fiphr-ext-creatingapplication',
        extension: [
          { url: 'name', valueString: APP.name },
          { url: 'applicationId', valueString: APP.applicationId },
        ],
      });
    }
    const blocked = await sync.blocked();
    expect(blocked.map((b) => b.resource_type)).toEqual(['QuestionnaireResponse']);
    expect(blocked[0].patient_id).toBe(localPatient.get('sirpa'));
    // Each response that went is a disclosure in the audit log (export, the party, the consent); Sirpa's
    // is a refused one (outcome 4, the consent's reason, no consent named).
    const suvi = await transfers('suvi', '110106');
    expect(suvi).toHaveLength(1);
    expect(suvi[0].outcome).toBe('0');
    expect(suvi[0].entity?.map((e) => e.what?.reference?.split('/')[0])).toEqual([
      'Patient',
      'QuestionnaireResponse',
      'Consent',
    ]);
    expect(suvi[0].agent[1]).toMatchObject({
      who: { display: proxy.url },
      role: [{ coding: [{ code: 'kela' }] }],
    });
    const sirpa = await transfers('sirpa', '110106');
    expect(sirpa).toHaveLength(1);
    expect(sirpa[0].outcome).toBe('4');
    expect(sirpa[0].outcomeDesc).toMatch(/^consent: /);
    expect(sirpa[0].entity?.map((e) => e.what?.reference?.split('/')[0])).toEqual([
      'Patient',
      'QuestionnaireResponse',
    ]);
  }, 60_000);

  it('never puts HETU, name or address on the wire: the remote holds pseudonymous Patients only', async () => {
    const text = await remoteText();
    for (const h of [...HETUS, ...NAMES, 'urn:oid:1.2.246.21']) expect(text).not.toContain(h);
    const remote = await openStore({ databaseUrl: remoteDb });
    try {
      const patients = (await remote.search('Patient', { _count: '100' })).resources as Patient[];
      expect(patients).toHaveLength(2);
      for (const p of patients) {
        expect(Object.keys(p).sort()).toEqual(
          ['active', 'id', 'identifier', 'language', 'meta', 'resourceType', 'text'].sort(),
        );
        expect(p.identifier).toEqual([
          { system: 'urn:ietf:rfc:3986', value: expect.stringMatching(/^urn:uuid:/) },
        ]);
      }
    } finally {
      await remote.close();
    }
    const map = await store.query<{ local_id: string }>(
      'SELECT local_id FROM sync_kanta_patient ORDER BY local_id',
    );
    expect(map.map((m) => m.local_id).sort()).toEqual(
      [localPatient.get('maija'), localPatient.get('suvi')].sort(),
    );
  });

  it('says plainly which local writes are not applicable to this remote (not failures)', async () => {
    const s = await kantaStatus(store);
    expect(Object.keys(s.notApplicable).sort()).toEqual(
      ['CarePlan', 'CareTeam', 'Consent', 'Goal', 'Observation', 'Patient', 'ServiceRequest'].sort(),
    );
    const status = await sync.status();
    expect(status.failures.deadLetters).toBe(0);
    expect(Date.parse(status.lastPushSuccess ?? '')).toBeGreaterThan(Date.now() - 10 * 60_000);
    // The service's own status (GET /api/sync/status, `tyokyky sync status --json`) says the same.
    expect(status.kanta?.notApplicable).toEqual(s.notApplicable);
  });

  it('a retry after a lost reply creates nothing new', async () => {
    const id = randomUUID();
    const suvi = localPatient.get('suvi') as string;
    const [qr] = toResources('selfAssessment', {
      id,
      clientId: personas.suvi.client.id,
      date: '2026-04-01',
      overall: 8,
    }) as QuestionnaireResponse[];
    await store.create({
      ...qr,
      subject: { reference: `Patient/${suvi}` },
      author: { reference: `Patient/${suvi}` },
    });
    proxy.faults.dropNext = 1; // the batch reaches the sandbox, its answer is lost
    const r = await sync.pushOnce();
    expect(proxy.stats.dropped).toBeGreaterThanOrEqual(1);
    expect(r.dead).toBe(0);
    const same = (await remoteResponses()).filter((x) => x.identifier?.value === `urn:uuid:${id}`);
    expect(same).toHaveLength(1);
    expect(await remoteResponses()).toHaveLength(3);
  }, 60_000);

  it('a response Kanta PHR refused on receipt is a dead letter and a refused disclosure in the audit log', async () => {
    const suvi = localPatient.get('suvi') as string;
    const [qr] = toResources('selfAssessment', {
      id: randomUUID(),
      clientId: personas.suvi.client.id,
      date: '2026-05-02',
      overall: 3,
    }) as QuestionnaireResponse[];
    // With a time of writing that has no zone, which FHIR's dateTime does not allow (written locally
    // through the store API, which does not validate; the SDK reads its day, and the date travels as
    // written). A status outside the value set is no longer one: a response not completed or amended
    // is not sent at all (tests/sync/kanta-push-scope.test.ts).
    const stored = await store.create({
      ...qr,
      authored: '2026-05-02T10:00:00',
      subject: { reference: `Patient/${suvi}` },
      author: { reference: `Patient/${suvi}` },
    });
    const r = await sync.pushOnce();
    expect(r).toMatchObject({ dead: 1 });
    const refused = (await transfers('suvi', '110106')).filter(
      (e) => e.entity?.[1]?.what?.reference === `QuestionnaireResponse/${stored.resource.id}`,
    );
    expect(refused).toHaveLength(1);
    expect(refused[0].outcome).toBe('4');
    expect(refused[0].outcomeDesc).toMatch(/^remote refused \(HTTP 4\d\d[^)]*\): error /);
    expect(JSON.stringify(refused[0])).not.toMatch(/Virtanen|120395-902S/);
  }, 60_000);

  it('a response whose version the store no longer holds is a dead letter (sync-push-3); the others go', async () => {
    const suvi = localPatient.get('suvi') as string;
    const ids: string[] = [];
    for (const overall of [4, 6]) {
      const [qr] = toResources('selfAssessment', {
        id: randomUUID(),
        clientId: personas.suvi.client.id,
        date: '2026-05-01',
        overall,
      }) as QuestionnaireResponse[];
      const stored = await store.create({
        ...qr,
        subject: { reference: `Patient/${suvi}` },
        author: { reference: `Patient/${suvi}` },
      });
      ids.push(stored.resource.id as string);
    }
    // As a pruning of the history would leave it: the queued version's content is not there to read.
    await store.query(
      "DELETE FROM resource_history WHERE resource_type = 'QuestionnaireResponse' AND id = $1",
      [ids[0]],
    );
    const r = await sync.pushOnce();
    expect(r).toMatchObject({ dead: 1 });
    const [row] = await store.query<{ state: string; reason: string }>(
      'SELECT state, reason FROM sync_outbox WHERE resource_id = $1',
      [ids[0]],
    );
    expect(row).toEqual({
      state: 'dead',
      reason: `sync-push-3: version 1 of QuestionnaireResponse/${ids[0]} is no longer in the local store`,
    });
    expect(await remoteResponses()).toHaveLength(4);
  }, 60_000);
});

describe('Kanta PHR adapter: pull', () => {
  it('imports what the citizen filled in at home through the SDK, linked to the right client; not a restricted one', async () => {
    const [{ remote_id: phr }] = await store.query<{ remote_id: string }>(
      'SELECT remote_id FROM sync_kanta_patient WHERE local_id = $1',
      [localPatient.get('suvi')],
    );
    const home = (id: string, overall: number, restricted = false): QuestionnaireResponse => ({
      resourceType: 'QuestionnaireResponse',
      meta: {
        profile: ['http://phr.kanta.fi/StructureDefinition/fiphr-sd-questionnaireresponse-r4'],
        ...(restricted
          ? { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] }
          : {}),
      },
      language: 'fi',
      text: {
        status: 'generated',
        div: '<div xmlns="http://www.w3.org/1999/xhtml">Kotona täytetty itsearvio</div>',
      },
      extension: [
        {
          url: 'http://phr.kanta.fi/StructureDefinition/fiphr-ext-creatingapplication',
          extension: [
            { url: 'name', valueString: 'Kansalaisen sovellus' },
            { url: 'applicationId', valueString: 'citizen-app-7' },
          ],
        },
      ],
      identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${id}` },
      questionnaire: 'https://tyokyky-fhir.org/fhir/Questionnaire/kykyviisari',
      status: 'completed',
      subject: { reference: `Patient/${phr}` },
      authored: '2026-05-05',
      author: { reference: `Patient/${phr}` },
      source: { reference: `Patient/${phr}` },
      item: [{ linkId: 'overall', answer: [{ valueInteger: overall }] }],
    });
    const open = randomUUID();
    const hidden = randomUUID();
    for (const qr of [home(open, 4), home(hidden, 2, true)]) {
      const r = await call(sandbox.url, 'POST', '/QuestionnaireResponse', qr);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    const result = await sync.pullOnce();
    expect(result.skipped).toBe(1);
    expect(result.applied).toBe(1);

    const suvi = localPatient.get('suvi');
    const mine = (await store.search('QuestionnaireResponse', { subject: `Patient/${suvi}`, _count: '100' }))
      .resources as QuestionnaireResponse[];
    const pulled = mine.find((q) => q.identifier?.value === `urn:uuid:${open}`);
    expect(pulled?.meta?.profile).toEqual([
      'https://tyokyky-fhir.org/fhir/StructureDefinition/tyokyky-self-assessment-response',
    ]);
    expect(pulled?.subject?.reference).toBe(`Patient/${suvi}`);
    expect(pulled?.item?.[0]).toMatchObject({ linkId: 'overall', answer: [{ valueInteger: 4 }] });
    const v = await loadProjectValidator();
    expect((v.validate(pulled).issue ?? []).filter((i) => i.severity === 'error')).toEqual([]);
    expect(mine.some((q) => q.identifier?.value === `urn:uuid:${hidden}`)).toBe(false);

    const s = await kantaStatus(store);
    expect(s.notImported).toHaveLength(1);
    expect(s.notImported[0].reason).toMatch(
      /^restricted by the citizen \(meta\.security v3 Confidentiality R\)/,
    );

    // The pulled response is an import in the client's audit log.
    const imports = await transfers('suvi', '110107');
    expect(imports.map((e) => e.entity?.[1]?.what?.reference)).toEqual([
      `QuestionnaireResponse/${pulled?.id}`,
    ]);

    // A second pull changes nothing, and nothing pulled is echoed back.
    const again = await sync.pullOnce();
    expect(again.applied).toBe(0);
    await sync.pushOnce();
    // Four pushed by the tests above, the two filled in at home; nothing came back as a copy.
    expect(await remoteResponses()).toHaveLength(6);
  }, 60_000);
});

/** The Work Ability overall answer of a response. */
const overallOf = (qr: QuestionnaireResponse | undefined) =>
  qr?.item?.find((i) => i.linkId === 'overall')?.answer?.[0]?.valueInteger;

/** `qr` with another overall answer (what a local user or the citizen changes). */
const withOverall = <T extends QuestionnaireResponse>(qr: T, overall: number): T => ({
  ...qr,
  item: qr.item?.map((i) => (i.linkId === 'overall' ? { ...i, answer: [{ valueInteger: overall }] } : i)),
});

describe('Kanta PHR adapter: versioned updates both ways', () => {
  /** A response of Suvi's, written here and pushed: its local copy and its copy on Kanta PHR. */
  /** A response of Suvi's written here (as the store API writes it): its business id and local copy. */
  async function writtenResponse(overall: number, security?: { system: string; code: string }[]) {
    const suvi = localPatient.get('suvi') as string;
    const id = randomUUID();
    const [qr] = toResources('selfAssessment', {
      id,
      clientId: personas.suvi.client.id,
      date: '2026-06-01',
      overall,
    }) as QuestionnaireResponse[];
    const { resource } = await store.create({
      ...qr,
      ...(security ? { meta: { ...qr?.meta, security } } : {}),
      subject: { reference: `Patient/${suvi}` },
      author: { reference: `Patient/${suvi}` },
    } as QuestionnaireResponse);
    return { id, local: resource as QuestionnaireResponse & { id: string } };
  }

  /** A response of Suvi's, written here and pushed: its local copy and its copy on Kanta PHR. */
  async function pushedResponse(overall: number) {
    const { id, local } = await writtenResponse(overall);
    expect(await sync.pushOnce()).toMatchObject({ dead: 0, parked: 0 });
    const remote = (await remoteResponses()).find((x) => x.identifier?.value === `urn:uuid:${id}`);
    expect(overallOf(remote)).toBe(overall);
    return { local, remote: remote as QuestionnaireResponse };
  }

  /** The citizen changes the response on Kanta PHR (their own app, a versioned update). */
  async function citizenEdits(remote: QuestionnaireResponse, change: QuestionnaireResponse) {
    const r = await call(sandbox.url, 'PUT', `/QuestionnaireResponse/${remote.id}`, change, {
      'If-Match': `W/"${remote.meta?.versionId}"`,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as QuestionnaireResponse;
  }

  const localEdit = (local: QuestionnaireResponse & { id: string }, overall: number) =>
    store.update(withOverall(local, overall), { ifMatch: local.meta?.versionId });

  const remoteCopy = async (remoteId: string | undefined) =>
    (await remoteResponses()).find((x) => x.id === remoteId);

  const lastRow = async (localId: string) =>
    (
      await store.query<{ state: string; reason: string | null; action: string }>(
        'SELECT state, reason, action FROM sync_outbox WHERE resource_id = $1 ORDER BY id DESC LIMIT 1',
        [localId],
      )
    )[0];

  const conflictsOf = (localId: string) =>
    store.query<{ policy: string; resolution: string }>(
      'SELECT policy, resolution FROM sync_conflict WHERE resource_id = $1 ORDER BY id',
      [localId],
    );

  it('a local edit of a response on Kanta PHR goes there as a versioned update', async () => {
    const { local, remote } = await pushedResponse(5);
    await localEdit(local, 7);
    expect(await sync.pushOnce()).toMatchObject({ dead: 0, parked: 0 });
    const now = await remoteCopy(remote.id);
    expect(overallOf(now)).toBe(7);
    expect(now?.meta?.versionId).toBe('2');
    expect(await lastRow(local.id)).toEqual({ state: 'done', reason: null, action: 'update' });
    expect(await conflictsOf(local.id)).toEqual([]);
  }, 60_000);

  it("a response restricted here goes to Kanta PHR restricted: kept out of professionals' view there too", async () => {
    const label = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' };
    const { id } = await writtenResponse(3, [label]);
    expect(await sync.pushOnce()).toMatchObject({ dead: 0, blocked: 0 });
    const there = (await remoteResponses()).find((x) => x.identifier?.value === `urn:uuid:${id}`);
    // In the coding Kanta PHR's ValueSet names (fiphr-vs-confidentiality): R of the pre-R4 URI.
    expect(there?.meta?.security).toEqual([{ system: 'http://hl7.org/fhir/v3/Confidentiality', code: 'R' }]);
  }, 60_000);

  it('a lost answer to an update is recognised when it is sent again: no conflict, no third version', async () => {
    const { local, remote } = await pushedResponse(5);
    await localEdit(local, 6);
    proxy.faults.dropNext = 1; // the update reaches Kanta PHR, its answer is lost
    const dropped = proxy.stats.dropped;
    for (let i = 0; i < 5 && (await lastRow(local.id))?.state !== 'done'; i++) {
      await sync.pushOnce();
      await new Promise((r) => setTimeout(r, 60));
    }
    expect(proxy.stats.dropped).toBe(dropped + 1);
    const now = await remoteCopy(remote.id);
    expect(overallOf(now)).toBe(6);
    expect(now?.meta?.versionId).toBe('2');
    expect((await lastRow(local.id))?.state).toBe('done');
    expect(await conflictsOf(local.id)).toEqual([]);
  }, 60_000);

  it("the citizen's edit on Kanta PHR wins over a local edit made meanwhile (remote-wins), recorded as a conflict", async () => {
    const { local, remote } = await pushedResponse(5);
    await citizenEdits(remote, withOverall(remote, 2));
    await localEdit(local, 9);
    expect(await sync.pushOnce()).toMatchObject({ dead: 0, parked: 0 });
    const there = await remoteCopy(remote.id);
    expect(overallOf(there)).toBe(2);
    expect(there?.meta?.versionId).toBe('2');
    const here = await store.read<QuestionnaireResponse>('QuestionnaireResponse', local.id);
    expect(overallOf(here)).toBe(2);
    expect(await lastRow(local.id)).toEqual({
      state: 'done',
      reason: "conflict: the citizen's version on Kanta PHR kept (remote-wins)",
      action: 'update',
    });
    expect(await conflictsOf(local.id)).toEqual([{ policy: 'remote-wins', resolution: 'remote kept' }]);
    // The citizen's version taken here is not sent back.
    await sync.pushOnce();
    expect((await remoteCopy(remote.id))?.meta?.versionId).toBe('2');
  }, 60_000);

  it('a response created and deleted here before it went never reaches Kanta PHR (found by kanta-sync-model)', async () => {
    const { id, local: resource } = await writtenResponse(10);
    await store.delete('QuestionnaireResponse', resource.id as string);
    expect(await sync.pushOnce()).toMatchObject({ dead: 0 });
    const rows = await store.query<{ action: string; reason: string }>(
      'SELECT action, reason FROM sync_outbox WHERE resource_id = $1 ORDER BY id',
      [resource.id],
    );
    expect(rows).toEqual([
      {
        action: 'create',
        reason:
          'not sent: the response was deleted here after this change (deletes stay local; Kanta PHR keeps what it holds)',
      },
      {
        action: 'delete',
        reason:
          'not applicable to this remote: deletes stay local (the citizen or Omakanta deletes on Kanta PHR)',
      },
    ]);
    expect((await remoteResponses()).some((x) => x.identifier?.value === `urn:uuid:${id}`)).toBe(false);
  }, 60_000);

  it("our own create's echo does not bring back a response deleted here while the create's answer was on its way", async () => {
    const { id, local } = await writtenResponse(6);
    const held = proxy.stats.held;
    Object.assign(proxy.faults, { holdNext: 1, holdMethod: 'POST' });
    const pushing = sync.pushOnce();
    try {
      await waitFor(async () => proxy.stats.held > held, 30_000, 'the held answer of the push');
      proxy.faults.holdNext = 0;
      await store.delete('QuestionnaireResponse', local.id);
      // The pull meets the response on Kanta PHR before the push has mapped it.
      await sync.pullOnce();
    } finally {
      proxy.releaseHeld();
      await pushing;
      Object.assign(proxy.faults, { holdNext: 0, holdMethod: undefined });
    }
    await sync.pullOnce();
    const here = await store.search('QuestionnaireResponse', {
      identifier: `urn:ietf:rfc:3986|urn:uuid:${id}`,
    });
    expect(here.resources).toEqual([]);
  }, 60_000);

  it('a local edit of a response the citizen deleted on Kanta PHR is not sent: their delete stands, no dead letter', async () => {
    const { local, remote } = await pushedResponse(5);
    expect((await call(sandbox.url, 'DELETE', `/QuestionnaireResponse/${remote.id}`)).status).toBe(204);
    await localEdit(local, 7);
    expect(await sync.pushOnce()).toMatchObject({ dead: 0, parked: 0 });
    expect(await lastRow(local.id)).toEqual({
      state: 'done',
      reason:
        'not sent: the response is no longer on Kanta PHR (the citizen deleted it there; deletes stay where they are made)',
      action: 'update',
    });
    expect(await remoteCopy(remote.id)).toBeUndefined();
    expect(overallOf(await store.read<QuestionnaireResponse>('QuestionnaireResponse', local.id))).toBe(7);
  }, 60_000);

  it('a response the citizen restricted on Kanta PHR is not overwritten by a local edit', async () => {
    const { local, remote } = await pushedResponse(5);
    const restricted = {
      ...remote,
      meta: {
        ...remote.meta,
        security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
      },
    };
    await citizenEdits(remote, restricted);
    await localEdit(local, 8);
    expect(await sync.pushOnce()).toMatchObject({ dead: 0, parked: 0 });
    const there = await remoteCopy(remote.id);
    expect(overallOf(there)).toBe(5);
    expect(there?.meta?.security).toEqual(restricted.meta.security);
    expect(await lastRow(local.id)).toMatchObject({
      state: 'done',
      reason: 'conflict: the citizen restricted the response on Kanta PHR; the local version was not sent',
    });
    expect(await conflictsOf(local.id)).toEqual([
      { policy: 'remote-wins', resolution: 'remote kept (restricted by the citizen)' },
    ]);
  }, 60_000);

  it('a response the citizen restricts after it was imported is labelled restricted here, its answers kept; lifting it lifts the label', async () => {
    const { local, remote } = await pushedResponse(4);
    await sync.pullOnce();
    const label = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' };
    const restricted = await citizenEdits(remote, {
      ...withOverall(remote, 1),
      meta: { ...remote.meta, security: [label] },
    });
    expect(await sync.pullOnce()).toMatchObject({ fetched: 1, skipped: 1, applied: 0 });
    const marked = await store.read<QuestionnaireResponse>('QuestionnaireResponse', local.id);
    expect(marked.meta?.security).toEqual([label]);
    expect(overallOf(marked)).toBe(4);
    // Lifted, with the answer the citizen gave meanwhile: both come here.
    const { security: _label, ...unlabelled } = restricted.meta ?? {};
    await citizenEdits(restricted, { ...withOverall(restricted, 2), meta: unlabelled });
    expect(await sync.pullOnce()).toMatchObject({ fetched: 1, applied: 1 });
    const lifted = await store.read<QuestionnaireResponse>('QuestionnaireResponse', local.id);
    expect(lifted.meta?.security).toBeUndefined();
    expect(overallOf(lifted)).toBe(2);
    const imports = (await transfers('suvi', '110107')).filter(
      (e) => e.entity?.[1]?.what?.reference === `QuestionnaireResponse/${local.id}`,
    );
    expect(imports.map((e) => e.action)).toEqual(['U', 'U']);
  }, 60_000);

  it("the pull takes the citizen's edit into the local copy, and the next pull reads only what changed since", async () => {
    const { local, remote } = await pushedResponse(4);
    await sync.pullOnce();
    await citizenEdits(remote, withOverall(remote, 1));
    const first = await sync.pullOnce();
    expect(first).toMatchObject({ fetched: 1, applied: 1 });
    const here = await store.read<QuestionnaireResponse>('QuestionnaireResponse', local.id);
    expect(overallOf(here)).toBe(1);
    expect(here.meta?.versionId).toBe('2');
    // Everything else of the local copy is its own: only the answers (and their narrative) changed.
    expect(here.identifier).toEqual(local.identifier);
    expect(here.meta?.profile).toEqual(local.meta?.profile);
    const imports = (await transfers('suvi', '110107')).filter(
      (e) => e.entity?.[1]?.what?.reference === `QuestionnaireResponse/${local.id}`,
    );
    expect(imports.map((e) => e.action)).toEqual(['U']);
    // Not echoed back, and the next pull fetches nothing.
    await sync.pushOnce();
    expect((await remoteCopy(remote.id))?.meta?.versionId).toBe('2');
    expect(await sync.pullOnce()).toMatchObject({ fetched: 0, applied: 0 });
  }, 60_000);

  it('an edit of a response Kanta PHR holds unmapped (imported before mappings were kept) goes as an update once found', async () => {
    const { local, remote } = await pushedResponse(5);
    await store.query('DELETE FROM sync_kanta_resource WHERE local_id = $1', [local.id]);
    await localEdit(local, 2);
    // A round's conditional create finds the copy there; the next round updates it over its version.
    expect(await sync.pushOnce()).toMatchObject({ retrying: 1, done: 1, dead: 0 });
    const now = await remoteCopy(remote.id);
    expect(overallOf(now)).toBe(2);
    expect(now?.meta?.versionId).toBe('2');
    expect(await lastRow(local.id)).toMatchObject({ state: 'done', reason: null });
  }, 60_000);

  it("with the park policy the conflict waits for a person; keeping the local version writes it over the citizen's", async () => {
    const parking = createSync({
      store,
      remote: kantaRemote(),
      families: { QuestionnaireResponse: { conflict: 'park' } },
      // Another worker of the same remote: the outbox hook is the first service's.
      installHook: false,
    });
    await parking.ready;
    try {
      const { local, remote: copy } = await pushedResponse(5);
      await citizenEdits(copy, withOverall(copy, 1));
      await localEdit(local, 8);
      expect(await parking.pushOnce()).toMatchObject({ parked: 1, dead: 0 });
      const [row] = await store.query<{ id: string; state: string; reason: string }>(
        'SELECT id::text AS id, state, reason FROM sync_outbox WHERE resource_id = $1 ORDER BY sync_outbox.id DESC LIMIT 1',
        [local.id],
      );
      expect(row).toMatchObject({
        state: 'parked',
        reason: `conflict: Kanta PHR QuestionnaireResponse/${copy.id} is at version 2, we expected 1; parked for manual resolution`,
      });
      expect(overallOf(await remoteCopy(copy.id))).toBe(1);
      expect(await parking.resolve(row.id, 'local')).toEqual({ row: row.id, superseded: [] });
      expect(await parking.pushOnce()).toMatchObject({ done: 1, parked: 0, dead: 0 });
      const there = await remoteCopy(copy.id);
      expect(overallOf(there)).toBe(8);
      expect(there?.meta?.versionId).toBe('3');
      expect(await conflictsOf(local.id)).toEqual([
        { policy: 'park', resolution: 'parked' },
        { policy: 'local-wins', resolution: 'local written (an operator chose local)' },
      ]);
    } finally {
      await parking.stop();
    }
  }, 60_000);

  it("a local edit stuck here (a dead letter) gives way to the citizen's version on pull, and is not sent over it later", async () => {
    const { local, remote } = await pushedResponse(6);
    await sync.pullOnce();
    await localEdit(local, 9);
    // The edit is dead-lettered before it goes (as a refusal would leave it).
    const [dead] = await store.query<{ id: string }>(
      `UPDATE sync_outbox SET state = 'dead', reason = 'refused' WHERE resource_id = $1 AND state = 'pending'
       RETURNING id::text AS id`,
      [local.id],
    );
    await citizenEdits(remote, withOverall(remote, 2));
    expect(await sync.pullOnce()).toMatchObject({ fetched: 1, applied: 1 });
    expect(overallOf(await store.read<QuestionnaireResponse>('QuestionnaireResponse', local.id))).toBe(2);
    // Retried by an operator: older than the local version Kanta PHR now holds, so it is not sent.
    expect(await sync.retry(dead.id)).toBe(1);
    await sync.pushOnce();
    const there = await remoteCopy(remote.id);
    expect(overallOf(there)).toBe(2);
    expect(there?.meta?.versionId).toBe('2');
    const [row] = await store.query<{ state: string; reason: string }>(
      'SELECT state, reason FROM sync_outbox WHERE id = $1::bigint',
      [dead.id],
    );
    expect(row).toEqual({
      state: 'done',
      reason: 'superseded: a newer local version is already on the remote',
    });
  }, 60_000);

  it("a citizen's edit pulled while a local edit waits to go is left to that edit's push (then remote-wins)", async () => {
    const { local, remote } = await pushedResponse(6);
    await sync.pullOnce();
    await citizenEdits(remote, withOverall(remote, 3));
    await localEdit(local, 10);
    const pulled = await sync.pullOnce();
    expect(pulled).toMatchObject({ fetched: 1, applied: 0, skipped: 1 });
    expect(overallOf(await store.read<QuestionnaireResponse>('QuestionnaireResponse', local.id))).toBe(10);
    await sync.pushOnce();
    expect(overallOf(await store.read<QuestionnaireResponse>('QuestionnaireResponse', local.id))).toBe(3);
    expect(overallOf(await remoteCopy(remote.id))).toBe(3);
    expect(await conflictsOf(local.id)).toEqual([{ policy: 'remote-wins', resolution: 'remote kept' }]);
    // The deferred response is read again by the next pull (the cursor stayed), and now holds nothing new.
    expect(await sync.pullOnce()).toMatchObject({ fetched: 1, applied: 0, unchanged: 1 });
  }, 60_000);
});
