// Kanta PHR mode with security on: client data no consent family covers, references written as
// absolute URLs under our own base, creates Kanta PHR mode matches on their business identifier, and
// the audit rows of a batch's failed entries.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { EXAMPLES, batch, bodyWeight, citizenResponse, phrPatient, urn } from '../kanta/helpers.ts';
import { consent } from '../sync/helpers/fixtures.ts';
import { type Secured, auditEventsOf, startSecured } from './helpers.ts';

interface Reply {
  status: number;
  body: any;
}

/** One audit row, as the tests compare them. */
interface Row {
  interaction: string;
  outcome: string;
  detail: string;
  entities: string[];
  patients: string[];
}

let store: Store;
let s: Secured;
const tokens: Record<string, string> = {};

const as = (who: string, method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  s.send(tokens[who], method, path, body, headers);

/** The audit rows of client `agent`, oldest first. */
async function auditOf(agent: string): Promise<Row[]> {
  return (await auditEventsOf(s, tokens.auditor, agent)).map((ev) => {
    const what = (ev.entity ?? []).filter((x) => x.what?.reference);
    return {
      interaction: ev.subtype?.[0]?.code ?? '',
      outcome: ev.outcome ?? '',
      detail: ev.outcomeDesc ?? '',
      patients: what.filter((x) => x.type?.code === '1').map((x) => x.what?.reference as string),
      entities: what.filter((x) => x.type?.code === '2').map((x) => x.what?.reference as string),
    };
  });
}

const diagnostics = (r: Reply) => r.body?.issue?.[0]?.diagnostics as string;

/** Kanta's insulin dosing example (MedicationAdministration), new identifier, about `subject`. */
function insulin(subject: string): Resource {
  const ex = JSON.parse(
    readFileSync(
      join(EXAMPLES, 'MedicationAdministration-cee521bb-de12-4fdd-a86d-479a5b799810.json'),
      'utf8',
    ),
  );
  const { id: _id, ...body } = ex;
  return {
    ...body,
    identifier: [{ system: 'urn:ietf:rfc:3986', value: urn() }],
    subject: { reference: subject },
  };
}

/** Kanta's body weight about the Patient `pid` (subject and performer), carrying `identifier`. */
function weightOf(pid: string, identifier = urn()): Resource & { subject: { reference: string } } {
  return {
    ...bodyWeight(identifier),
    subject: { reference: `Patient/${pid}` },
    performer: [{ reference: `Patient/${pid}` }],
  } as never;
}

/** A PHR Patient written by the admin; its id. */
async function newPatient(identifier = urn()): Promise<string> {
  const r = await as('admin', 'POST', '/Patient', phrPatient(identifier));
  expect(r.status).toBe(201);
  return r.body.id;
}

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  const validator = await loadProjectValidator();
  s = await startSecured(store, validator, { mode: 'kanta-phr' });
  const clients: [string, string, string?][] = [
    ['admin', 'system/*.cruds'],
    ['auditor', 'system/AuditEvent.rs'],
    ['kela', 'system/*.rs', 'kela'],
    ['kelaw', 'system/Observation.cruds system/Patient.cruds', 'kela'],
    ['kelab', 'system/Observation.cruds system/Patient.cruds', 'kela'],
    ['writer', 'system/Patient.c system/Observation.c'],
    ['b', 'system/Observation.cruds system/Patient.cruds'],
  ];
  for (const [id, scope, party] of clients)
    tokens[id] = (await s.client({ id, scope, ...(party ? { party } : {}) }, scope)).token;
}, 120_000);

afterAll(async () => {
  await s?.running.close();
  await store?.close();
});

describe('client data outside the consent families, references under our own base', () => {
  it('a party reads no MedicationAdministration, whatever form its subject reference takes', async () => {
    const pid = await newPatient();
    for (const subject of [`${s.fhir}/Patient/${pid}`, `Patient/${pid}`]) {
      const w = await as('admin', 'POST', '/MedicationAdministration', insulin(subject));
      expect(w.status).toBe(201);
      const read = await as('kela', 'GET', `/MedicationAdministration/${w.body.id}`);
      expect(read.status).toBe(403);
      expect(diagnostics(read)).toBe(
        `sec-consent-1: MedicationAdministration/${w.body.id} is not available to this client`,
      );
      for (const q of [subject, `Patient/${pid}`]) {
        const found = await as('kela', 'GET', `/MedicationAdministration?patient=${encodeURIComponent(q)}`);
        expect(found.status).toBe(200);
        expect(found.body.entry ?? []).toEqual([]);
      }
    }
    // The refusals name the client: its use log shows the attempts.
    const refused = (await auditOf('kela')).filter((r) => r.interaction === 'read' && r.outcome === '4');
    expect(refused.map((r) => r.patients)).toEqual([[`Patient/${pid}`], [`Patient/${pid}`]]);
  });

  it('an audit row names the client an absolute reference under our base names', async () => {
    const pid = await newPatient();
    const w = await as('admin', 'POST', '/MedicationAdministration', insulin(`${s.fhir}/Patient/${pid}`));
    expect(w.status).toBe(201);
    const entity = `MedicationAdministration/${w.body.id}`;
    expect((await as('admin', 'GET', `/${entity}`)).status).toBe(200);
    const rows = await auditOf('admin');
    const created = rows.find((r) => r.interaction === 'create' && r.entities.includes(entity));
    const read = rows.find((r) => r.interaction === 'read' && r.entities.includes(entity));
    expect(created?.patients).toEqual([`Patient/${pid}`]);
    expect(read?.patients).toEqual([`Patient/${pid}`]);
  });

  it('a party reads what a consent shows it when the subject is an absolute URL under our base, not under another', async () => {
    const pid = await newPatient();
    await store.create(consent(pid, { parties: ['kela'], start: '2020-01-01' }));
    const ids: Record<string, string> = {};
    for (const [name, subject] of [
      ['own', `${s.fhir}/Patient/${pid}`],
      ['other', `https://phr.example/fhir/Patient/${pid}`],
    ] as const) {
      const o = bodyWeight(urn());
      o.subject.reference = subject;
      // Written to the store directly: the test is about reading what is stored.
      ids[name] = (await store.create(o)).resource.id as string;
    }
    const own = await as('kela', 'GET', `/Observation/${ids.own}`);
    expect(own.status).toBe(200);
    const other = await as('kela', 'GET', `/Observation/${ids.other}`);
    expect(other.status).toBe(403);
    const read = (await auditOf('kela')).find(
      (r) => r.interaction === 'read' && r.entities.includes(`Observation/${ids.own}`),
    );
    expect(read?.patients).toEqual([`Patient/${pid}`]);
  });
});

describe('a party pages a filtered Kanta search', () => {
  it('follows next links to every match its consent shows, as a client with full access does', async () => {
    const pid = await newPatient();
    await store.create(consent(pid, { parties: ['kela'], start: '2020-01-01' }));
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      const w = await as('admin', 'POST', '/QuestionnaireResponse', citizenResponse(pid, urn()));
      expect(w.status).toBe(201);
      made.push(w.body.id);
    }
    const questionnaire = encodeURIComponent('https://tyokyky-fhir.org/fhir/Questionnaire/kykyviisari');
    for (const who of ['admin', 'kela']) {
      let url: string | undefined =
        `/QuestionnaireResponse?patient=Patient/${pid}&questionnaire=${questionnaire}&_count=1`;
      const seen: string[] = [];
      while (url) {
        const page = await as(who, 'GET', url);
        expect(page.status).toBe(200);
        seen.push(...((page.body as Bundle).entry ?? []).map((e) => e.resource?.id as string));
        const next = (page.body as Bundle).link?.find((l) => l.relation === 'next')?.url;
        url = next?.slice(s.fhir.length);
      }
      expect(seen.sort()).toEqual([...made].sort());
    }
  });
});

describe('a Kanta PHR create matches on its business identifier: it needs what a conditional create needs', () => {
  it('a client without search permission is refused alike whether the identifier exists or not', async () => {
    const secret = urn();
    await newPatient(secret);
    const taken = await as('writer', 'POST', '/Patient', phrPatient(secret));
    const fresh = await as('writer', 'POST', '/Patient', phrPatient(urn()));
    expect([taken.status, fresh.status]).toEqual([403, 403]);
    expect(diagnostics(taken)).toBe(diagnostics(fresh));
    expect(diagnostics(taken)).toMatch(/^sec-scope-1: /);
    const inBatch = async (identifier: string) =>
      as(
        'writer',
        'POST',
        '',
        batch([{ resource: phrPatient(identifier), request: { method: 'POST', url: 'Patient' } }]),
      );
    const [b1, b2] = [await inBatch(secret), await inBatch(urn())];
    expect([b1.status, b2.status]).toEqual([403, 403]);
    expect(diagnostics(b1)).toBe(diagnostics(b2));
  });

  it('a receiving party is refused alike (sec-consent-6), as for If-None-Exist', async () => {
    const secret = urn();
    await newPatient(secret);
    const taken = await as('kelaw', 'POST', '/Patient', phrPatient(secret));
    const fresh = await as('kelaw', 'POST', '/Patient', phrPatient(urn()));
    expect([taken.status, fresh.status]).toEqual([403, 403]);
    expect(diagnostics(taken)).toBe(diagnostics(fresh));
    expect(diagnostics(taken)).toMatch(/^sec-consent-6: /);
    const rows = (await auditOf('kelaw')).filter((r) => r.detail.startsWith('sec-consent-6'));
    expect(rows.length).toBe(2);
  });

  it('a receiving party is refused alike when a second identifier is the taken one', async () => {
    const pid = await newPatient();
    const hidden = urn();
    expect((await as('admin', 'POST', '/Observation', weightOf(pid, hidden))).status).toBe(201);
    const twoIdentifiers = (second: string) => {
      const body = weightOf(pid);
      (body as { identifier: unknown[] }).identifier.push({ system: 'urn:ietf:rfc:3986', value: second });
      return body;
    };
    // The Patient its consent does not show is missing to it (store-ref-1) before any identifier is
    // looked up; the answer is the same whether the second identifier is taken or not.
    const taken = await as('kelaw', 'POST', '/Observation', twoIdentifiers(hidden));
    const fresh = await as('kelaw', 'POST', '/Observation', twoIdentifiers(urn()));
    expect([taken.status, fresh.status]).toEqual([422, 422]);
    expect(taken.body).toEqual(fresh.body);
    expect(diagnostics(taken)).toMatch(/^store-ref-1: /);
    const inBatch = async (second: string) => {
      const r = await as(
        'kelaw',
        'POST',
        '',
        batch([{ resource: twoIdentifiers(second), request: { method: 'POST', url: 'Observation' } }]),
      );
      return r.status === 200 ? r.body.entry[0].response.outcome : r.body;
    };
    const [b1, b2] = [await inBatch(hidden), await inBatch(urn())];
    expect(b1).toEqual(b2);
    expect(b1.issue[0].diagnostics).toMatch(/^store-ref-1: /);
  });

  it('a client with search permission still gets the 409 of a taken identifier', async () => {
    const secret = urn();
    await newPatient(secret);
    const taken = await as('b', 'POST', '/Patient', phrPatient(secret));
    expect(taken.status).toBe(409);
    expect(diagnostics(taken)).toMatch(/^tyk-id-4: /);
    expect((await as('b', 'POST', '/Patient', phrPatient(urn()))).status).toBe(201);
  });
});

describe("a batch's failed entries are audited, each once", () => {
  it('every entry answered 4xx leaves a row naming it', async () => {
    const pid = await newPatient();
    const oi = urn();
    const o = weightOf(pid, oi);
    const ob = (await as('admin', 'POST', '/Observation', o)).body;
    const missing = '00000000-0000-4000-8000-000000000000';
    const r = await as(
      'b',
      'POST',
      '',
      batch([
        { resource: weightOf(pid, oi), request: { method: 'POST', url: 'Observation' } },
        {
          resource: { ...weightOf(pid), language: undefined },
          request: { method: 'POST', url: 'Observation' },
        },
        {
          resource: { ...o, id: ob.id },
          request: { method: 'PUT', url: `Observation/${ob.id}`, ifMatch: 'W/"5"' },
        },
        { resource: { ...o, id: ob.id }, request: { method: 'PUT', url: `Observation/${ob.id}` } },
        { request: { method: 'DELETE', url: `Patient/${pid}` } },
        { request: { method: 'GET', url: `Observation/${missing}` } },
      ]),
    );
    expect(r.status).toBe(200);
    const statuses = (r.body as Bundle).entry?.map((e) => e.response?.status);
    expect(statuses).toEqual(['409', '422', '412', '428', '405', '404']);
    const failed = (await auditOf('b')).filter((row) => row.detail.startsWith('entry '));
    expect(failed.map((row) => [row.interaction, row.detail])).toEqual([
      ['create', 'entry 0 answered 409 (tyk-id-4)'],
      ['create', 'entry 1 answered 422'],
      ['update', 'entry 2 answered 412 (store-version-1)'],
      ['update', 'entry 3 answered 428 (kanta-version)'],
      ['delete', 'entry 4 answered 405 (kanta-interaction)'],
    ]);
    expect(failed[2]?.entities).toEqual([`Observation/${ob.id}`]);
    // Entry 5's read found nothing: the guard's row, written before the answer, names what it missed.
    const missed = (await auditOf('b')).filter((row) => row.detail.endsWith(' not found'));
    expect(missed.map((row) => [row.interaction, row.outcome, row.detail])).toEqual([
      ['read', '4', `Observation/${missing} not found`],
    ]);
  });

  it("a party's refused DELETE entry leaves one row: the guard's, naming the rule", async () => {
    const pid = await newPatient();
    const ob = (await as('admin', 'POST', '/Observation', weightOf(pid))).body;
    const r = await as(
      'kelab',
      'POST',
      '',
      batch([{ request: { method: 'DELETE', url: `Observation/${ob.id}` } }]),
    );
    expect(r.status).toBe(200);
    expect((r.body as Bundle).entry?.[0]?.response?.status).toBe('403');
    const rows = await auditOf('kelab');
    expect(rows.map((row) => [row.interaction, row.outcome, row.detail])).toEqual([
      ['delete', '4', `sec-consent-1: Observation/${ob.id} is not available to this client`],
    ]);
    expect(rows[0]?.patients).toEqual([`Patient/${pid}`]);
    expect((await as('admin', 'GET', `/Observation/${ob.id}`)).status).toBe(200);
  });
});
