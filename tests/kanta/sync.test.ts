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

beforeAll(async () => {
  [remoteDb, localDb] = await Promise.all([
    freshDatabase('tyokyky_kanta_remote'),
    freshDatabase('tyokyky_kanta_local'),
  ]);
  sandbox = await startSandbox(remoteDb);
  proxy = await startFaultProxy(sandbox.url);
  store = await openStore({ databaseUrl: localDb });
  // The remote as `--remote-kind kanta-phr --application-name … --application-id …` configures it.
  const remote = remoteConfigFrom({
    remote: proxy.url,
    party: 'kela',
    remoteKind: 'kanta-phr',
    applicationName: APP.name,
    applicationId: APP.applicationId,
  });
  if (!remote) throw new Error('no remote configured');
  sync = createSync({ store, remote: { ...remote, retry: { initialDelayMs: 10, maxDelayMs: 50 } } });
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
    // Without the narrative Kanta PHR demands (written locally through the store API, which does not validate).
    const stored = await store.create({
      ...qr,
      text: undefined,
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
