import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, CapabilityStatement, CarePlan, Resource } from '@medplum/fhirtypes';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KANTA_PACKAGE_DIR } from '../../profiles/kanta-phr/build.ts';
import { type RunningServer, startServer } from '../../src/server/index.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { startSecured } from '../security/helpers.ts';
import { silent } from '../server/helpers.ts';
import {
  batch,
  bodyWeight,
  call,
  entryIssue,
  firstIssue,
  kantaExample,
  phrPatient,
  statuses,
  urn,
} from './helpers.ts';

let server: RunningServer;
let base: string;
let store: Store;
let close: () => Promise<void>;

beforeAll(async () => {
  const validator = await loadProjectValidator();
  store = await openStore({ dataDir: 'memory://' });
  server = await startServer({
    store: store as never,
    validator: validator as never,
    logger: silent,
    mode: 'kanta-phr',
  });
  base = `${server.url}/fhir`;
  close = async () => {
    await server.close();
    await store.close();
  };
});
afterAll(async () => close?.());

describe('Kanta PHR sandbox: CapabilityStatement', () => {
  it("serves Kanta's statement with its own base", async () => {
    const r = await call(base, 'GET', '/metadata');
    const cs = r.body as CapabilityStatement;
    expect(r.status).toBe(200);
    expect(cs.implementation?.url).toBe(base);
    expect(cs.instantiates).toEqual(['http://phr.kanta.fi/capabilitystatementR4']);
    expect(cs.software).toEqual({ name: 'Omatietovaranto', version: '1.1', releaseDate: '2021-11-24' });
    expect(cs.rest?.[0].resource?.map((x) => x.type)).toEqual([
      'CarePlan',
      'Observation',
      'Patient',
      'MedicationAdministration',
      'Questionnaire',
      'QuestionnaireResponse',
      'ValueSet',
      'StructureDefinition',
      'CodeSystem',
    ]);
    // What the sandbox does not do is not promised: no update-as-create, no CORS, no OAuth.
    expect(cs.rest?.[0].resource?.filter((x) => x.updateCreate).map((x) => x.type)).toEqual([]);
    expect(cs.rest?.[0].security?.cors).toBe(false);
    expect(cs.rest?.[0].security?.service).toBeUndefined();
    const put = await call(
      base,
      'PUT',
      '/Patient/newpat1',
      { ...phrPatient(), id: 'newpat1' },
      { 'If-Match': 'W/"1"' },
    );
    expect(put.status).toBe(404);
  });

  it("declares the batch it takes (no transaction) and is no copy of Kanta's statement under its url", async () => {
    const cs = (await call(base, 'GET', '/metadata')).body as CapabilityStatement;
    expect(cs.rest?.[0].interaction).toEqual([{ code: 'batch' }]);
    // It instantiates Kanta's statement; it is not that statement (its canonical url is Kanta's own).
    expect(cs.url).toBeUndefined();
    expect(cs.instantiates).toEqual(['http://phr.kanta.fi/capabilitystatementR4']);
  });

  it('refuses a type Kanta PHR does not hold', async () => {
    const r = await call(base, 'GET', '/Practitioner');
    expect(r.status).toBe(404);
    expect(firstIssue(r)?.diagnostics).toMatch(/^kanta-type: Kanta PHR does not hold Practitioner/);
  });

  it('refuses an interaction the statement does not list (delete Patient)', async () => {
    const r = await call(base, 'DELETE', '/Patient/abc');
    expect(r.status).toBe(405);
    expect(firstIssue(r)?.diagnostics).toBe('kanta-interaction: Kanta PHR does not allow delete on Patient');
  });

  for (const type of ['Observation', 'MedicationAdministration', 'QuestionnaireResponse']) {
    it(`${type} search without the mandatory patient is 400 naming it`, async () => {
      const r = await call(base, 'GET', `/${type}`);
      expect(r.status).toBe(400);
      const i = firstIssue(r);
      expect(i?.expression).toEqual(['patient']);
      expect(i?.diagnostics).toBe(
        `kanta-search: search parameter 'patient' is mandatory for ${type} in Kanta PHR`,
      );
      expect((await call(base, 'GET', `/${type}?patient=Patient/x`)).status).toBe(200);
    });
  }

  it('CarePlan search needs no patient; an undeclared parameter is 400 naming it', async () => {
    expect((await call(base, 'GET', '/CarePlan')).status).toBe(200);
    // The format parameters shape any answer (R4 http.html); they are no search parameters.
    expect((await call(base, 'GET', '/CarePlan?_format=json&_pretty=true')).status).toBe(200);
    const r = await call(base, 'GET', '/Observation?patient=Patient/x&status=final');
    expect(r.status).toBe(400);
    expect(firstIssue(r)?.expression).toEqual(['status']);
    expect(firstIssue(r)?.diagnostics).toMatch(
      /^kanta-search: Kanta PHR does not support search parameter 'status' on Observation/,
    );
  });

  it('Patient search accepts only _id', async () => {
    expect((await call(base, 'GET', '/Patient?_id=abc')).status).toBe(200);
    expect(firstIssue(await call(base, 'GET', '/Patient?identifier=x'))?.expression).toEqual(['identifier']);
  });
});

describe('Kanta PHR sandbox: every CapabilityStatement row', () => {
  const statement = JSON.parse(
    readFileSync(join(KANTA_PACKAGE_DIR, 'CapabilityStatement-kanta-phr-capabilitystatement.json'), 'utf8'),
  ) as CapabilityStatement;
  for (const row of statement.rest?.[0].resource ?? []) {
    const declared = new Set((row.interaction ?? []).map((i) => i.code));
    const mandatory = (row.searchParam ?? []).filter((p) => /mandatory/i.test(p.documentation ?? ''));
    it(`${row.type}: search-type, delete ${declared.has('delete') ? 'allowed' : 'refused'}, mandatory ${mandatory.map((m) => m.name).join(',') || 'none'}`, async () => {
      const q = mandatory.map((m) => `${m.name}=Patient/x`).join('&');
      expect((await call(base, 'GET', `/${row.type}${q ? `?${q}` : ''}`)).status).toBe(200);
      const del = await call(base, 'DELETE', `/${row.type}/no-such-id`);
      if (declared.has('delete')) expect(del.status).not.toBe(405);
      else {
        expect(del.status).toBe(405);
        expect(firstIssue(del)?.diagnostics).toBe(
          `kanta-interaction: Kanta PHR does not allow delete on ${row.type}`,
        );
      }
      const read = await call(base, 'GET', `/${row.type}/no-such-id`);
      expect(read.status).toBe(404);
      expect(firstIssue(read)?.diagnostics ?? '').not.toMatch(/^kanta-/);
    });
  }
});

describe('Kanta PHR sandbox: writes', () => {
  it("accepts Kanta's pseudonymous Patient example; a second plain create of its identifier is 409", async () => {
    const p = kantaExample('Patient-36749a02-1710-44e7-aa76-0e934eb7860a.json');
    const first = await call(base, 'POST', '/Patient', p);
    expect(first.status).toBe(201);
    const again = await call(base, 'POST', '/Patient', p);
    expect(again.status).toBe(409);
    expect(firstIssue(again)?.expression).toEqual(['Patient.identifier[0]']);
    expect(firstIssue(again)?.diagnostics).toMatch(
      /^tyk-id-4: another Patient already has this business identifier/,
    );
    const cond = await call(base, 'POST', '/Patient', p, {
      'If-None-Exist': 'identifier=urn:ietf:rfc:3986|urn:uuid:36749a02-1710-44e7-aa76-0e934eb7860a',
    });
    expect(cond.status).toBe(200);
    expect(cond.body.id).toBe(first.body.id);
  });

  it('conditional create by anything but identifier is 400', async () => {
    const r = await call(base, 'POST', '/Patient', phrPatient(), { 'If-None-Exist': '_id=abc' });
    expect(r.status).toBe(400);
    expect(firstIssue(r)?.diagnostics).toBe(
      'kanta-conditional: conditional create allows only one identifier=… as condition',
    );
    // Criteria are never quoted back: they may carry a HETU.
    const hetu = await call(base, 'POST', '/Patient', phrPatient(), {
      'If-None-Exist': 'identifier=urn:oid:1.2.246.21|131052-308T&x=1',
    });
    expect(hetu.status).toBe(400);
    expect(JSON.stringify(hetu.body)).not.toContain('131052');
  });

  it('one resource per business identifier: batch twins, concurrent creates, a foreign If-None-Exist, an update', async () => {
    const value = urn();
    const twins = await call(base, 'POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [0, 1].map(() => ({ resource: phrPatient(value), request: { method: 'POST', url: 'Patient' } })),
    });
    expect(twins.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual([
      '201',
      '409',
    ]);
    expect(twins.body.entry[1].response.outcome.issue[0].expression).toEqual([
      'Bundle.entry[1].resource.identifier[0]',
    ]);
    const racing = urn();
    const statuses = await Promise.all(
      Array.from({ length: 8 }, () =>
        call(base, 'POST', '/Patient', phrPatient(racing)).then((r) => r.status),
      ),
    );
    expect(statuses.sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    // If-None-Exist must name the resource's own identifier, or a retry would create it again.
    const foreign = await call(base, 'POST', '/Patient', phrPatient(value), {
      'If-None-Exist': `identifier=urn:ietf:rfc:3986|${urn()}`,
    });
    expect(foreign.status).toBe(400);
    expect(firstIssue(foreign)?.expression).toEqual(['Patient.identifier']);
    // An update cannot move a resource onto another's identifier (or any other).
    const other = await call(base, 'POST', '/Patient', phrPatient());
    const moved = await call(
      base,
      'PUT',
      `/Patient/${other.body.id}`,
      { ...phrPatient(value), id: other.body.id },
      { 'If-Match': 'W/"1"' },
    );
    expect(moved.status).toBe(409);
    expect(firstIssue(moved)?.diagnostics).toMatch(
      /^kanta-identifier: a stored Patient keeps its business identifier/,
    );
  });

  it('a business identifier must be a real urn:uuid or urn:oid, not just the prefix', async () => {
    for (const value of ['urn:uuid:', 'urn:uuid:not-a-uuid', 'urn:oid:hello world']) {
      const r = await call(base, 'POST', '/Patient', phrPatient(value));
      expect(r.status, value).toBe(422);
      expect(JSON.stringify(r.body), value).toMatch(/kanta-identifier: at least one globally unique/);
    }
  });

  it("a reference to the wrong type is refused even when it does not resolve here (Kanta's data is the citizen's)", async () => {
    const obs = kantaExample<Resource & { identifier: { value: string }[]; subject: { reference: string } }>(
      'Observation-bodyweight-min.json',
    );
    obs.identifier[0]!.value = urn();
    const { id: _id, ...body } = { ...obs, subject: { reference: 'Practitioner/abc' } };
    const r = await call(base, 'POST', '/Observation', body);
    expect(r.status).toBe(422);
    expect(JSON.stringify(r.body)).toMatch(
      /the type 'Practitioner' of the reference '…' is not a valid target/,
    );
  });

  it('a malformed meta.profile is the kanta-profile 422, not a 500', async () => {
    for (const profile of ['http://phr.kanta.fi/StructureDefinition/fiphr-sd-patient', [5], [null], {}]) {
      const r = await call(base, 'POST', '/Patient', { ...phrPatient(), meta: { profile } });
      expect(r.status, JSON.stringify(profile)).toBe(422);
      expect(firstIssue(r)?.expression).toEqual(['Patient.meta.profile']);
    }
  });

  it('a write without a fiphr-* profile in meta.profile is 422 naming meta.profile', async () => {
    const p = phrPatient();
    p.meta = undefined;
    const r = await call(base, 'POST', '/Patient', p);
    expect(r.status).toBe(422);
    expect(firstIssue(r)?.expression).toEqual(['Patient.meta.profile']);
    expect(firstIssue(r)?.diagnostics).toMatch(/^kanta-profile: /);
  });

  it('language, text in that language and a global business identifier are mandatory', async () => {
    const noLang = { ...phrPatient(), language: undefined };
    expect(firstIssue(await call(base, 'POST', '/Patient', noLang))?.expression).toEqual([
      'Patient.language',
    ]);
    const noText = { ...phrPatient(), text: undefined };
    expect(firstIssue(await call(base, 'POST', '/Patient', noText))?.expression).toEqual(['Patient.text']);
    const wrongLang = { ...phrPatient(), language: 'sv' };
    const r = await call(base, 'POST', '/Patient', wrongLang);
    expect(r.status).toBe(422);
    expect(firstIssue(r)?.expression).toEqual(['Patient.text.div']);
    expect(firstIssue(r)?.diagnostics).toBe("kanta-text: narrative is in 'fi' (lang) but language is 'sv'");
    // Both attributes are read (single quotes too): an xml:lang in another language is refused as well.
    const xmlLang = {
      ...phrPatient(),
      text: {
        status: 'generated',
        div: `<div xmlns="http://www.w3.org/1999/xhtml" lang='fi' xml:lang='sv'>Pseudonyymi potilas</div>`,
      },
    };
    const x = await call(base, 'POST', '/Patient', xmlLang);
    expect(x.status).toBe(422);
    expect(firstIssue(x)?.diagnostics).toBe(
      "kanta-text: narrative is in 'sv' (xml:lang) but language is 'fi'",
    );
    const localId = { ...phrPatient(), identifier: [{ system: 'urn:ietf:rfc:3986', value: 'urn:local:42' }] };
    const li = await call(base, 'POST', '/Patient', localId);
    expect(li.status).toBe(422);
    expect(firstIssue(li)?.expression).toEqual(['Patient.identifier']);
    expect(firstIssue(li)?.diagnostics).toMatch(/^kanta-identifier: /);
  });

  it('a Patient with a name (fiphr-sd-patient forbids it) is refused by the profile', async () => {
    const named = { ...phrPatient(), name: [{ family: 'Virtanen' }] };
    const r = await call(base, 'POST', '/Patient', named);
    expect(r.status).toBe(422);
    expect(firstIssue(r)?.expression?.[0]).toMatch(/^Patient\.name/);
  });

  it('a refusal names the element and the rule but never quotes the value (the data is the citizen’s)', async () => {
    const named = { ...phrPatient(), birthDate: 'Virtanen 010181-900C' };
    const r = await call(base, 'POST', '/Patient', named);
    expect(r.status).toBe(422);
    expect(r.body.issue).toContainEqual(
      expect.objectContaining({
        expression: ['Patient.birthDate'],
        diagnostics: expect.stringMatching(/^The value '…' is not a valid date/),
      }),
    );
    expect(JSON.stringify(r.body)).not.toMatch(/Virtanen|010181/);
  });

  it("refuses Kanta's own CarePlan example whose status is not 'completed'", async () => {
    const r = await call(
      base,
      'POST',
      '/CarePlan',
      kantaExample('CarePlan-b88191e3-ea47-4feb-9da9-e3b359fa8fca.json'),
    );
    expect(r.status).toBe(422);
    const issues = r.body.issue as { expression?: string[]; diagnostics?: string }[];
    expect(issues.find((i) => i.expression?.[0] === 'CarePlan.status')?.diagnostics).toMatch(
      /value is '…' but must be 'completed'/,
    );
  });

  it("a self-care plan's author is its subject: another Patient as author is 422 kanta-author", async () => {
    const {
      id: _id,
      meta,
      ...example
    } = kantaExample<CarePlan>('CarePlan-b88191e3-ea47-4feb-9da9-e3b359fa8fca.json');
    // The example's status and identifier are wrong by its profile (docs/kanta.md); the rest is Kanta's.
    const plan = (author: string): CarePlan => ({
      ...example,
      meta: { profile: meta?.profile },
      status: 'completed',
      identifier: [{ system: 'urn:ietf:rfc:3986', value: urn() }],
      subject: { reference: 'Patient/daf8ca40-b46c-4c6b-99d5-d3a1b77074ad' },
      author: { reference: author },
    });
    const other = await call(base, 'POST', '/CarePlan', plan('Patient/someone-else'));
    expect(other.status, JSON.stringify(other.body)).toBe(422);
    expect(other.body.issue).toEqual([
      expect.objectContaining({
        code: 'business-rule',
        diagnostics: expect.stringMatching(/^kanta-author: /),
        expression: ['CarePlan.author'],
      }),
    ]);
    expect(JSON.stringify(other.body)).not.toContain('someone-else');
    const own = await call(base, 'POST', '/CarePlan', plan('Patient/daf8ca40-b46c-4c6b-99d5-d3a1b77074ad'));
    expect(own.status, JSON.stringify(own.body)).toBe(201);
    // An update may not make another its author either.
    const moved = { ...own.body, author: { reference: 'Patient/someone-else' } };
    const upd = await call(base, 'PUT', `/CarePlan/${own.body.id}`, moved);
    expect(upd.status).toBe(422);
    expect(firstIssue(upd)?.expression).toEqual(['CarePlan.author']);
  });

  it('update needs If-Match (428), a stale one is 412, no update-as-create (404), no conditional update (405)', async () => {
    const created = await call(base, 'POST', '/Patient', phrPatient());
    const id = created.body.id;
    const body = { ...created.body, active: false };
    expect((await call(base, 'PUT', `/Patient/${id}`, body)).status).toBe(428);
    expect((await call(base, 'PUT', `/Patient/${id}`, body, { 'If-Match': 'W/"7"' })).status).toBe(412);
    const ok = await call(base, 'PUT', `/Patient/${id}`, body, { 'If-Match': 'W/"1"' });
    expect(ok.status).toBe(200);
    expect(ok.body.meta.versionId).toBe('2');
    const v1 = await call(base, 'GET', `/Patient/${id}/_history/1`);
    expect(v1.body.active).toBe(true);
    expect(
      (await call(base, 'PUT', '/Patient/nope', { ...body, id: 'nope' }, { 'If-Match': 'W/"1"' })).status,
    ).toBe(404);
    expect((await call(base, 'PUT', '/Patient?identifier=x', body)).status).toBe(405);
  });

  it('the 428 of an update without If-Match names If-Match (request.ifMatch in a batch)', async () => {
    const created = await call(base, 'POST', '/Patient', phrPatient());
    const body = { ...created.body, active: false };
    const r = await call(base, 'PUT', `/Patient/${created.body.id}`, body);
    expect(r.status).toBe(428);
    expect(firstIssue(r)).toMatchObject({
      code: 'required',
      diagnostics: expect.stringMatching(/^kanta-version: /),
      expression: ['If-Match'],
    });
    const b = await call(
      base,
      'POST',
      '',
      batch([{ resource: body, request: { method: 'PUT', url: `Patient/${created.body.id}` } }]),
    );
    expect(statuses(b)).toEqual(['428']);
    expect(entryIssue(b, 0).expression).toEqual(['Bundle.entry[0].request.ifMatch']);
  });

  it('a delete with a stale If-Match is 412 and deletes nothing, directly or in a batch; a current one deletes', async () => {
    const patient = await call(base, 'POST', '/Patient', phrPatient());
    const obs = kantaExample<Resource & { identifier: { value: string }[] }>(
      'Observation-bodyweight-min.json',
    );
    obs.identifier[0]!.value = urn();
    const { id: _id, ...body } = JSON.parse(
      JSON.stringify(obs).replace(/"Patient\/[^"]+"/g, `"Patient/${patient.body.id}"`),
    ) as Resource;
    const created = await call(base, 'POST', '/Observation', body);
    expect(created.status).toBe(201);
    const at = `/Observation/${created.body.id}`;
    expect((await call(base, 'DELETE', at, undefined, { 'If-Match': 'W/"2"' })).status).toBe(412);
    const entry = (ifMatch: string) => ({ request: { method: 'DELETE', url: at.slice(1), ifMatch } });
    const batch = await call(base, 'POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [entry('W/"5"')],
    });
    expect(batch.body.entry[0].response.status).toMatch(/^412/);
    expect((await call(base, 'GET', at)).status).toBe(200);
    const current = await call(base, 'POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [entry('W/"1"')],
    });
    expect(current.body.entry[0].response.status).toMatch(/^204/);
    expect((await call(base, 'GET', at)).status).toBe(410);
  });

  it('other system-level interactions are 405 and an unknown path 404, each naming the rule', async () => {
    const system = await call(base, 'DELETE', '');
    expect(system.status).toBe(405);
    expect(firstIssue(system)?.diagnostics).toMatch(/^kanta-interaction: .*system-level interactions/);
    const unknown = await call(base, 'GET', '/Patient/x/_history');
    expect(unknown.status).toBe(404);
    // The path is never quoted: it is the caller's text (it may hold a HETU); the method is named.
    expect(firstIssue(unknown)?.diagnostics).toBe(
      'kanta-interaction: no Kanta PHR interaction at this path (GET)',
    );
  });

  it('a transaction Bundle is refused: Kanta PHR takes batches only', async () => {
    const r = await call(base, 'POST', '', { resourceType: 'Bundle', type: 'transaction', entry: [] });
    expect(r.status).toBe(400);
    expect(firstIssue(r)?.expression).toEqual(['Bundle.type']);
  });
});

describe("Kanta PHR sandbox: Kanta's 958-entry example batch", () => {
  const bundle = kantaExample<Bundle>('Bundle-diabetes-data-bundle-kantaphr-r4-en.json');
  const patient = 'Patient/77c2c8d2-11ce-41d5-8150-75489f8b0b0a';

  it('loads, and loads again without duplicates', async () => {
    const first = await call(base, 'POST', '', bundle);
    expect(first.status).toBe(200);
    expect(first.body.type).toBe('batch-response');
    expect(first.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual(
      new Array(958).fill('201'),
    );
    const second = await call(base, 'POST', '', bundle);
    const statuses = second.body.entry.map((e: { response: { status: string } }) => e.response.status);
    expect(statuses).toEqual(new Array(958).fill('200'));
    const obs = await call(base, 'GET', `/Observation?patient=${patient}&_total=accurate&_count=1`);
    expect(obs.body.total).toBe(646);
    const ma = await call(
      base,
      'GET',
      `/MedicationAdministration?patient=${patient}&_total=accurate&_count=1`,
    );
    expect(ma.body.total).toBe(312);
  }, 120_000);

  /** The client's MedicationAdministrations in the store's order: ids, effective times, a day to cut at. */
  const administrations = async () => {
    const all = await call(base, 'GET', `/MedicationAdministration?patient=${patient}&_count=1000`);
    type Entry = {
      resource: { id: string; effectivePeriod?: { start: string }; effectiveDateTime?: string };
    };
    const entries = all.body.entry as Entry[];
    const times = entries.map(
      (e) => (e.resource.effectivePeriod?.start ?? e.resource.effectiveDateTime) as string,
    );
    return { ids: entries.map((e) => e.resource.id), times, cut: [...times].sort()[100]!.slice(0, 10) };
  };

  it('answers a declared parameter the store does not index by filtering (effective-time)', async () => {
    const { times, cut } = await administrations();
    const query = `/MedicationAdministration?patient=${patient}&effective-time=lt${cut}`;
    const r = await call(base, 'GET', `${query}&_count=1000`);
    expect(r.status).toBe(200);
    // As the store's indexed date search reads it: instants with their zones, `cut` as a UTC day.
    const want = times.filter((t) => Date.parse(t) < Date.parse(cut)).length;
    expect(r.body.entry.length).toBe(want);
    expect(want).toBeGreaterThan(20);
    // Without _count, the default page (20) and a next link, as an indexed search gives.
    const first = await call(base, 'GET', query);
    expect(first.body.entry).toHaveLength(20);
    expect(first.body.link.map((l: { relation: string }) => l.relation)).toEqual(['self', 'next']);
  });

  it('a filtered search pages by _count with next links that carry the search, and _total counts every match', async () => {
    const { ids, times, cut } = await administrations();
    const want = ids.filter((_, i) => Date.parse(times[i]!) < Date.parse(cut));
    expect(want.length).toBeGreaterThan(14);
    let url: string | undefined =
      `/MedicationAdministration?patient=${patient}&effective-time=lt${cut}&_count=9&_total=accurate`;
    const seen: string[] = [];
    const sizes: number[] = [];
    while (url) {
      const page = await call(base, 'GET', url);
      expect(page.status).toBe(200);
      expect(page.body.total).toBe(want.length);
      const ids = (page.body.entry ?? []).map((e: { resource: { id: string } }) => e.resource.id);
      sizes.push(ids.length);
      seen.push(...ids);
      const next = page.body.link.find((l: { relation: string }) => l.relation === 'next')?.url as
        | string
        | undefined;
      if (next) expect(next).toMatch(/[?&]effective-time=.*_cursor=/);
      url = next?.slice(base.length);
    }
    // Every match once, in the store's order, in pages of 9 (the last one shorter, no empty page).
    expect(seen).toEqual(want);
    expect(sizes.slice(0, -1).every((n) => n === 9)).toBe(true);
    expect(sizes.at(-1)).toBeGreaterThan(0);
    const junk = await call(
      base,
      'GET',
      `/MedicationAdministration?patient=${patient}&effective-time=lt${cut}&_count=x`,
    );
    expect(junk.status).toBe(400);
    expect(firstIssue(junk)?.expression).toEqual(['_count']);
  });

  it('a filtered date compares instants across zones, and a malformed value is the 400 of an indexed one', async () => {
    const all = await call(base, 'GET', `/MedicationAdministration?patient=${patient}&_count=1000`);
    const instant = all.body.entry
      .map((e: { resource: { effectiveDateTime?: string } }) => e.resource.effectiveDateTime)
      .find((t?: string) => t && /T\d{2}:\d{2}/.test(t)) as string;
    const utc = new Date(Date.parse(instant)).toISOString().replace('.000Z', 'Z');
    const plusThree = new Date(Date.parse(instant) + 3 * 3_600_000).toISOString().replace('.000Z', '+03:00');
    const count = async (q: string) =>
      (await call(base, 'GET', `/MedicationAdministration?patient=${patient}&${q}`)).body.entry?.length ?? 0;
    const inUtc = await count(
      `effective-time=ge${encodeURIComponent(utc)}&effective-time=le${encodeURIComponent(utc)}`,
    );
    const inHelsinki = await count(
      `effective-time=ge${encodeURIComponent(plusThree)}&effective-time=le${encodeURIComponent(plusThree)}`,
    );
    expect(inUtc).toBeGreaterThan(0);
    expect(inHelsinki).toBe(inUtc);
    for (const junk of ['banana', 'xx2021', '131052-308T']) {
      const r = await call(
        base,
        'GET',
        `/MedicationAdministration?patient=${patient}&effective-time=${junk}`,
      );
      expect(r.status, junk).toBe(400);
      expect(firstIssue(r)?.expression).toEqual(['effective-time']);
      expect(JSON.stringify(r.body)).not.toContain('131052');
    }
  });

  it('a batch entry that breaks a rule fails alone, with its own OperationOutcome', async () => {
    const good = phrPatient(urn());
    const bad = { ...phrPatient(), language: undefined };
    const r = await call(base, 'POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: good, request: { method: 'POST', url: 'Patient' } },
        { resource: bad, request: { method: 'POST', url: 'Patient' } },
      ],
    });
    expect(r.body.entry[0].response.status).toBe('201');
    expect(r.body.entry[1].response.status).toBe('422');
    expect(r.body.entry[1].response.outcome.issue[0].expression).toEqual([
      'Bundle.entry[1].resource.language',
    ]);
  });

  it('a malformed batch is a 400 naming what is wrong, never a 500', async () => {
    const notArray = await call(base, 'POST', '', { resourceType: 'Bundle', type: 'batch', entry: {} });
    expect(notArray.status).toBe(400);
    expect(firstIssue(notArray)?.expression).toEqual(['Bundle.entry']);
    const r = await call(base, 'POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        null,
        { request: { method: 'GET', url: 5 } },
        { request: { method: 'GET', url: 'Patient/a/b/c' } },
      ],
    });
    expect(r.status).toBe(200);
    const [nul, numeric, odd] = r.body.entry;
    expect(nul.response.status).toBe('400');
    expect(nul.response.outcome.issue[0].expression).toEqual(['Bundle.entry[0]']);
    expect(numeric.response.status).toBe('400');
    expect(numeric.response.outcome.issue[0].expression).toEqual(['Bundle.entry[1].request.url']);
    expect(odd.response.status).toBe('400');
    expect(JSON.stringify(odd.response.outcome)).not.toContain('Patient/a/b/c');
    expect(odd.response.outcome.issue[0].expression[0]).toMatch(/^Bundle\.entry\[2\]/);
  });

  it("a search's next link carries the search, and following it gives the next page", async () => {
    const first = await call(base, 'GET', `/Observation?patient=${patient}&_count=5`);
    expect(first.status).toBe(200);
    const self = first.body.link.find((l: { relation: string }) => l.relation === 'self').url as string;
    expect(self).toContain('patient=');
    const next = first.body.link.find((l: { relation: string }) => l.relation === 'next').url as string;
    expect(next).toMatch(/[?&]patient=.*_cursor=/);
    const second = await call(base, 'GET', next.slice(base.length));
    expect(second.status).toBe(200);
    expect(second.body.entry).toHaveLength(5);
    const ids = (b: Bundle) => (b.entry ?? []).map((e) => e.resource?.id);
    expect(ids(second.body).some((id) => ids(first.body).includes(id))).toBe(false);
  });

  it('batch entries with a conditional update or delete are 400 naming the entry url', async () => {
    const r = await call(base, 'POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: phrPatient(), request: { method: 'PUT', url: 'Patient?identifier=x' } },
        { request: { method: 'DELETE', url: 'Patient?identifier=x' } },
      ],
    });
    for (const [i, what] of [
      [0, 'update'],
      [1, 'delete'],
    ] as const) {
      expect(r.body.entry[i].response.status).toBe('400');
      expect(r.body.entry[i].response.outcome.issue[0]).toMatchObject({
        expression: [`Bundle.entry[${i}].request.url`],
        diagnostics: `kanta-conditional: no conditional ${what} in Kanta PHR`,
      });
    }
  });
});

/** Whether the store holds a current resource of `type` with this global business identifier. */
const held = async (type: string, value: string) =>
  (await store.findByIdentifiers(type, [{ system: 'urn:ietf:rfc:3986', value }]))[0]?.length ?? 0;

describe('Kanta PHR sandbox: a batch entry is read exactly as written', () => {
  it('a POST entry whose url is anything but the bare type is 400 naming request.url, and creates nothing', async () => {
    // The security front reads `POST Patient/_search` as a search: run as a create, a client allowed
    // only to search would create Patients.
    const urls = ['Patient/_search', 'Patient/$validate', 'Patient?x=1', 'Patient/abc', 'Patient/abc/'];
    const values = urls.map(() => urn());
    const r = await call(
      base,
      'POST',
      '',
      batch(urls.map((url, i) => ({ resource: phrPatient(values[i]), request: { method: 'POST', url } }))),
    );
    expect(r.status).toBe(200);
    expect(statuses(r)).toEqual(urls.map(() => '400'));
    for (const i of urls.keys()) {
      expect(entryIssue(r, i)).toMatchObject({
        expression: [`Bundle.entry[${i}].request.url`],
        diagnostics: 'kanta-batch: a POST entry is a create: request.url must be the resource type alone',
      });
    }
    for (const value of values) expect(await held('Patient', value)).toBe(0);
    // The type alone, as Kanta's own example batch writes it too (`Observation/`), creates.
    const ok = ['Patient', '/Patient', 'Patient/', 'Patient?'].map((url) => ({ url, value: urn() }));
    const created = await call(
      base,
      'POST',
      '',
      batch(ok.map(({ url, value }) => ({ resource: phrPatient(value), request: { method: 'POST', url } }))),
    );
    expect(statuses(created)).toEqual(['201', '201', '201', '201']);
  });

  it('an entry url the batch cannot read as written is 400 naming request.url, never read otherwise', async () => {
    const created = await call(base, 'POST', '/Patient', phrPatient());
    const id = created.body.id as string;
    const urls = [
      `Patient/${id}/_history/1/extra`,
      `Patient/${id}/_history`,
      `Patient//${id}`,
      'Patient/_history/1',
      `Patient/${id}?_id=other`,
    ];
    const r = await call(base, 'POST', '', batch(urls.map((url) => ({ request: { method: 'GET', url } }))));
    expect(statuses(r)).toEqual(urls.map(() => '400'));
    for (const i of urls.keys()) {
      expect(entryIssue(r, i)).toMatchObject({
        expression: [`Bundle.entry[${i}].request.url`],
        diagnostics:
          'kanta-batch: request.url must be Type, Type/id, Type/id/_history/version or Type?query, as written',
      });
    }
    // What reads as written still does.
    const ok = await call(
      base,
      'POST',
      '',
      batch(
        [`Patient/${id}`, `/Patient/${id}/_history/1`, `Patient/${id}/`, `Patient?_id=${id}`].map((url) => ({
          request: { method: 'GET', url },
        })),
      ),
    );
    expect(statuses(ok)).toEqual(['200', '200', '200', '200']);
  });

  it('DELETE or PUT of a version (_history) is 400 naming request.url, and changes nothing', async () => {
    const created = await call(base, 'POST', '/Observation', bodyWeight(urn()));
    const id = created.body.id as string;
    const r = await call(
      base,
      'POST',
      '',
      batch([
        { request: { method: 'DELETE', url: `Observation/${id}/_history/1` } },
        {
          resource: { ...created.body, status: 'amended' },
          request: { method: 'PUT', url: `Observation/${id}/_history/1`, ifMatch: 'W/"1"' },
        },
      ]),
    );
    expect(statuses(r)).toEqual(['400', '400']);
    for (const [i, method] of ['DELETE', 'PUT'].entries()) {
      expect(entryIssue(r, i)).toMatchObject({
        expression: [`Bundle.entry[${i}].request.url`],
        diagnostics: `kanta-batch: request.url of a ${method} entry cannot name a version (_history)`,
      });
    }
    const now = await call(base, 'GET', `/Observation/${id}`);
    expect(now.status).toBe(200);
    expect(now.body.meta.versionId).toBe('1');
  });

  it('request.ifNoneExist or request.ifMatch that is no string is 400 naming it (not a 500); a method is not quoted', async () => {
    const created = await call(base, 'POST', '/Observation', bodyWeight(urn()));
    const id = created.body.id as string;
    const r = await call(
      base,
      'POST',
      '',
      batch([
        { resource: bodyWeight(urn()), request: { method: 'POST', url: 'Observation', ifNoneExist: 5 } },
        {
          resource: bodyWeight(urn()),
          request: { method: 'POST', url: 'Observation', ifNoneExist: ['identifier=x'] },
        },
        { request: { method: 'DELETE', url: `Observation/${id}`, ifMatch: 1 } },
        { request: { method: 'Virtanen 010181-900C', url: 'Observation' } },
      ]),
    );
    expect(statuses(r)).toEqual(['400', '400', '400', '400']);
    for (const [i, field] of ['ifNoneExist', 'ifNoneExist', 'ifMatch'].entries()) {
      expect(entryIssue(r, i)).toMatchObject({
        expression: [`Bundle.entry[${i}].request.${field}`],
        diagnostics: `kanta-batch: request.${field} must be a string`,
      });
    }
    expect(entryIssue(r, 3)).toMatchObject({
      expression: ['Bundle.entry[3].request.method'],
      diagnostics: 'kanta-batch: request.method must be GET, POST, PUT or DELETE',
    });
    expect(JSON.stringify(r.body)).not.toMatch(/Virtanen|010181/);
    expect((await call(base, 'GET', `/Observation/${id}`)).status).toBe(200);
  });
});

describe('Kanta PHR sandbox: the mandatory patient search parameter', () => {
  it('takes no modifier: patient:missing=false would return every patient’s data', async () => {
    for (const key of ['patient:missing', 'patient:Patient', 'patient:identifier']) {
      const r = await call(base, 'GET', `/Observation?${key}=false`);
      expect(r.status, key).toBe(400);
      expect(firstIssue(r)).toMatchObject({
        expression: ['patient'],
        diagnostics:
          "kanta-search: the mandatory search parameter 'patient' takes no modifier on Observation in Kanta PHR (a plain patient=…)",
      });
    }
    // Also beside a plain one.
    const both = await call(base, 'GET', '/Observation?patient=Patient/x&patient:missing=false');
    expect(both.status).toBe(400);
  });
});

describe('Kanta PHR sandbox: profiles and validation of every write', () => {
  it('a meta.profile pinned to a version not held is the kanta-profile 422; the held one is enforced', async () => {
    const named = { ...phrPatient(), name: [{ family: 'Virtanen' }], birthDate: '1981-01-01' };
    const pinned = (version: string) => ({
      ...named,
      meta: { profile: [`http://phr.kanta.fi/StructureDefinition/fiphr-sd-patient|${version}`] },
    });
    const unknown = await call(base, 'POST', '/Patient', pinned('9.9.9'));
    expect(unknown.status).toBe(422);
    expect(firstIssue(unknown)).toMatchObject({
      expression: ['Patient.meta.profile'],
      diagnostics:
        'kanta-profile: meta.profile must name a Kanta PHR profile for Patient held here (http://phr.kanta.fi/StructureDefinition/fiphr-sd-patient; a version, if given, must be the one held)',
    });
    // The held version passes that rule, and its profile is applied (it forbids a name).
    const heldVersion = await call(base, 'POST', '/Patient', pinned('0.4.0'));
    expect(heldVersion.status).toBe(422);
    const issues = heldVersion.body.issue as { expression?: string[]; diagnostics?: string }[];
    expect(issues.some((i) => i.diagnostics?.startsWith('kanta-profile'))).toBe(false);
    expect(issues.map((i) => i.expression?.[0])).toContain('Patient.name');
  });

  it('ValueSet, CodeSystem and StructureDefinition writes get the R4 validation of every write (not the citizen-data rules)', async () => {
    const garbage = {
      resourceType: 'ValueSet',
      status: 'bogus-status',
      url: 12,
      foo: 'bar',
      name: 'Virtanen 010181-900C',
    };
    const vs = await call(base, 'POST', '/ValueSet', garbage);
    expect(vs.status).toBe(422);
    const paths = (vs.body.issue as { expression?: string[] }[]).map((i) => i.expression?.[0]);
    expect(paths).toEqual(expect.arrayContaining(['ValueSet.status', 'ValueSet.url', 'ValueSet.foo']));
    expect(JSON.stringify(vs.body)).not.toMatch(/Virtanen|010181|bogus/);
    const cs = await call(base, 'POST', '/CodeSystem', { resourceType: 'CodeSystem' });
    expect(cs.status).toBe(422);
    expect(cs.body.issue).toContainEqual(
      expect.objectContaining({
        expression: ['CodeSystem'],
        diagnostics: 'CodeSystem.status: minimum required = 1, but only found 0',
      }),
    );
    const sd = await call(base, 'POST', '/StructureDefinition', { resourceType: 'StructureDefinition' });
    expect(sd.status).toBe(422);
    // A conformant one needs no fiphr profile, language or business identifier.
    const {
      id: _id,
      meta: _meta,
      ...valueSet
    } = JSON.parse(readFileSync(join(KANTA_PACKAGE_DIR, 'ValueSet-fiphr-vs-confidentiality.json'), 'utf8'));
    expect((await call(base, 'POST', '/ValueSet', valueSet)).status).toBe(201);
  });
});

describe("Kanta PHR sandbox: meta.versionId and meta.lastUpdated of a write are the server's", () => {
  const valueSet = () => {
    const {
      id: _id,
      meta: _meta,
      ...vs
    } = JSON.parse(readFileSync(join(KANTA_PACKAGE_DIR, 'ValueSet-fiphr-vs-confidentiality.json'), 'utf8'));
    return { ...vs, url: `http://example.org/ValueSet/${urn().slice(9)}` };
  };
  const sent = { versionId: '7', lastUpdated: '2017-01-01T00:00:00Z' };

  it('a create whose meta holds only them is stored with ours (not refused as an empty meta)', async () => {
    const r = await call(base, 'POST', '/ValueSet', { ...valueSet(), meta: sent });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.meta.versionId).toBe('1');
    expect(r.body.meta.lastUpdated).not.toBe(sent.lastUpdated);
    const read = await call(base, 'GET', `/ValueSet/${r.body.id}`);
    expect(read.body.meta).toEqual({ versionId: '1', lastUpdated: r.body.meta.lastUpdated });
    const inBatch = await call(
      base,
      'POST',
      '',
      batch([{ resource: { ...valueSet(), meta: sent }, request: { method: 'POST', url: 'ValueSet' } }]),
    );
    expect(statuses(inBatch)).toEqual(['201']);
  });

  it("Kanta's own ValueSets, CodeSystems and StructureDefinitions, meta and all, are taken as they are (one aside)", async () => {
    const files = readdirSync(KANTA_PACKAGE_DIR).filter((f) =>
      /^(ValueSet|CodeSystem|StructureDefinition)-.*\.json$/.test(f),
    );
    const refused: string[] = [];
    for (const f of files) {
      const { id: _id, ...r } = JSON.parse(readFileSync(join(KANTA_PACKAGE_DIR, f), 'utf8')) as Resource;
      const answer = await call(base, 'POST', `/${r.resourceType}`, r);
      if (answer.status !== 201)
        refused.push(`${f}: ${answer.status} ${answer.body.issue?.[0]?.diagnostics?.split(':')[0]}`);
    }
    expect(files.length).toBeGreaterThan(40);
    // Refused for what it is, not for its meta: an element of its snapshot lacks a definition (sdf-3).
    expect(refused).toEqual(['StructureDefinition-fiphr-sd-bloodglucose.json: 422 sdf-3']);
  });

  it('an update whose meta holds only them is versioned by If-Match, with ours', async () => {
    const made = await call(base, 'POST', '/ValueSet', valueSet());
    expect(made.status).toBe(201);
    const r = await call(
      base,
      'PUT',
      `/ValueSet/${made.body.id}`,
      { ...made.body, title: 'Toinen', meta: sent },
      { 'If-Match': 'W/"1"' },
    );
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.meta.versionId).toBe('2');
    expect(r.body.meta.lastUpdated).not.toBe(sent.lastUpdated);
  });
});

describe('Kanta PHR sandbox: one resource per business identifier, every one of them', () => {
  const conflict = (type: string, index: number, at = type) => ({
    expression: [`${at}.identifier[${index}]`],
    diagnostics: expect.stringMatching(
      new RegExp(`^(entry\\[\\d+\\]: )?tyk-id-4: another ${type} already has this business identifier`),
    ),
  });

  it('a create is refused when any of its global identifiers is taken, not only the first', async () => {
    const [u1, u2, u3] = [urn(), urn(), urn()];
    expect((await call(base, 'POST', '/Observation', bodyWeight(u1, u2))).status).toBe(201);
    const second = await call(base, 'POST', '/Observation', bodyWeight(u3, u2));
    expect(second.status).toBe(409);
    expect(firstIssue(second)).toMatchObject(conflict('Observation', 1));
    expect(await held('Observation', u3)).toBe(0);
    expect(await held('Observation', u2)).toBe(1);
  });

  it('an If-None-Exist on another identifier does not turn the check off', async () => {
    const u = urn();
    expect((await call(base, 'POST', '/Observation', bodyWeight(u))).status).toBe(201);
    const local = { system: 'http://example.org/ids', value: `x-${urn()}` };
    const obs = bodyWeight(u) as Resource & { identifier: { system: string; value: string }[] };
    obs.identifier.push(local);
    const r = await call(base, 'POST', '/Observation', obs, {
      'If-None-Exist': `identifier=${local.system}|${local.value}`,
    });
    expect(r.status).toBe(409);
    expect(firstIssue(r)).toMatchObject(conflict('Observation', 0));
    expect(await held('Observation', u)).toBe(1);
    // A conditional create whose criteria find the one holding every identifier is still a 200.
    const same = await call(base, 'POST', '/Observation', bodyWeight(u), {
      'If-None-Exist': `identifier=urn:ietf:rfc:3986|${u}`,
    });
    expect(same.status).toBe(200);
  });

  it('two entries of one batch sharing a second identifier: the later one is 409', async () => {
    const [u1, u2, u3] = [urn(), urn(), urn()];
    const r = await call(
      base,
      'POST',
      '',
      batch([
        { resource: bodyWeight(u1, u2), request: { method: 'POST', url: 'Observation' } },
        { resource: bodyWeight(u3, u2), request: { method: 'POST', url: 'Observation' } },
      ]),
    );
    expect(statuses(r)).toEqual(['201', '409']);
    expect(entryIssue(r, 1)).toMatchObject(conflict('Observation', 1, 'Bundle.entry[1].resource'));
    expect(await held('Observation', u2)).toBe(1);
  });

  it('an update keeps every business identifier: none added, changed or removed', async () => {
    const [u1, u2, taken] = [urn(), urn(), urn()];
    expect((await call(base, 'POST', '/Observation', bodyWeight(taken))).status).toBe(201);
    const created = await call(base, 'POST', '/Observation', bodyWeight(u1));
    const id = created.body.id as string;
    for (const values of [[u1, taken], [u1, u2], [u2]]) {
      const r = await call(
        base,
        'PUT',
        `/Observation/${id}`,
        { ...bodyWeight(...values), id },
        { 'If-Match': 'W/"1"' },
      );
      expect(r.status, values.join()).toBe(409);
      expect(firstIssue(r)).toMatchObject({
        expression: ['Observation.identifier'],
        diagnostics:
          'kanta-identifier: a stored Observation keeps its business identifiers; an update cannot add, change or remove one',
      });
    }
    expect(await held('Observation', taken)).toBe(1);
    const kept = await call(
      base,
      'PUT',
      `/Observation/${id}`,
      { ...bodyWeight(u1), id },
      { 'If-Match': 'W/"1"' },
    );
    expect(kept.status).toBe(200);
  });
});

describe('Kanta PHR sandbox: an update keeps its subject', () => {
  it('an update that moves a resource to another patient is 422 naming subject', async () => {
    const created = await call(base, 'POST', '/Observation', bodyWeight(urn()));
    const id = created.body.id as string;
    const other = await call(base, 'POST', '/Patient', phrPatient());
    const moved = { ...created.body, subject: { reference: `Patient/${other.body.id}` } };
    const r = await call(base, 'PUT', `/Observation/${id}`, moved, { 'If-Match': 'W/"1"' });
    expect(r.status).toBe(422);
    expect(firstIssue(r)).toMatchObject({
      expression: ['Observation.subject'],
      diagnostics:
        'kanta-subject: a stored Observation keeps its subject; an update cannot move it to another',
    });
    expect((await call(base, 'GET', `/Observation/${id}`)).body.subject).toEqual(created.body.subject);
    // In a batch too; and one without a subject at all is refused (here its profile already asks for one).
    const { subject: _s, ...without } = created.body;
    const b = await call(
      base,
      'POST',
      '',
      batch(
        [moved, without].map((resource) => ({
          resource,
          request: { method: 'PUT', url: `Observation/${id}`, ifMatch: 'W/"1"' },
        })),
      ),
    );
    expect(statuses(b)).toEqual(['422', '422']);
    expect(entryIssue(b, 0)).toMatchObject({
      expression: ['Bundle.entry[0].resource.subject'],
      diagnostics:
        'entry[0]: kanta-subject: a stored Observation keeps its subject; an update cannot move it to another',
    });
    // Anything else may change.
    const heavier = { ...created.body.valueQuantity, value: created.body.valueQuantity.value + 1 };
    const ok = await call(
      base,
      'PUT',
      `/Observation/${id}`,
      { ...created.body, valueQuantity: heavier },
      {
        'If-Match': 'W/"1"',
      },
    );
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  });
});

describe('Kanta PHR sandbox: an entry that fails unexpectedly', () => {
  it('is its own 500, and logged with the entry index and the error name only', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const own = await openStore({ dataDir: 'memory://' });
    const running = await startServer({
      store: own as never,
      validator: (await loadProjectValidator()) as never,
      logger,
      mode: 'kanta-phr',
    });
    try {
      const id = (await call(`${running.url}/fhir`, 'POST', '/Patient', phrPatient())).body.id as string;
      // The database goes away under the service: an unexpected error, not a FhirError.
      await own.close();
      const r = await call(
        `${running.url}/fhir`,
        'POST',
        '',
        batch([
          { request: { method: 'GET', url: 'Patient/010181-900C' } },
          { request: { method: 'GET', url: `Patient/${id}` } },
        ]),
      );
      expect(statuses(r)).toEqual(['500', '500']);
      const logged = lines.filter((l) => l.msg === 'kanta batch: an entry failed unexpectedly');
      expect(logged.map(({ entry, error, status, level }) => ({ entry, error, status, level }))).toEqual([
        { entry: 0, error: 'Error', status: 500, level: 50 },
        { entry: 1, error: 'Error', status: 500, level: 50 },
      ]);
      expect(logged.every((l) => typeof l.reqId === 'string')).toBe(true);
      expect(JSON.stringify(logged)).not.toMatch(/010181|stack|PGlite/);
    } finally {
      await running.close();
    }
  });
});

describe('Kanta PHR sandbox behind the security layer', () => {
  it('a plain create whose identifier is taken is a 409, and no read of the match is recorded (it was never shown)', async () => {
    const own = await openStore({ dataDir: 'memory://' });
    const secured = await startSecured(own as never, (await loadProjectValidator()) as never, {
      mode: 'kanta-phr',
    });
    try {
      // A create looks its identifier up in every type Kanta PHR holds: search on each.
      const scope = 'system/Patient.crus';
      const { token } = await secured.client({ id: 'twice', scope } as never, scope);
      const audit = 'system/AuditEvent.rs';
      const { token: auditor } = await secured.client({ id: 'auditor', scope: audit } as never, audit);
      const body = JSON.stringify(phrPatient(urn()));
      expect((await secured.call(token, '/Patient', { method: 'POST', body })).status).toBe(201);
      expect((await secured.call(token, '/Patient', { method: 'POST', body })).status).toBe(409);
      const rows = async () => {
        const log = (await (await secured.call(auditor, '/AuditEvent?agent=twice')).json()) as Bundle;
        return (log.entry ?? [])
          .map((e) => {
            const event = e.resource as { action?: string; outcome?: string };
            return `${event.action} ${event.outcome}`;
          })
          .sort();
      };
      // The refusal's row is written when the response has finished; the create's, with the create.
      for (let i = 0; i < 100 && (await rows()).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await rows()).toEqual(['C 0', 'C 4']);
    } finally {
      await secured.running.close();
      await own.close();
    }
  });

  it('a client allowed only to search Patients creates none through a batch entry POST Patient/_search', async () => {
    const own = await openStore({ dataDir: 'memory://' });
    const secured = await startSecured(own as never, (await loadProjectValidator()) as never, {
      mode: 'kanta-phr',
    });
    try {
      const { token } = await secured.client(
        { id: 'searcher', scope: 'system/Patient.s' } as never,
        'system/Patient.s',
      );
      const value = urn();
      const r = await secured.call(token, '', {
        method: 'POST',
        body: JSON.stringify(
          batch([{ resource: phrPatient(value), request: { method: 'POST', url: 'Patient/_search' } }]),
        ),
      });
      const body = (await r.json()) as { entry: { response: unknown }[] };
      expect(r.status).toBe(200);
      expect(body.entry[0].response).toMatchObject({
        status: '400',
        outcome: {
          issue: [
            {
              expression: ['Bundle.entry[0].request.url'],
              diagnostics:
                'kanta-batch: a POST entry is a create: request.url must be the resource type alone',
            },
          ],
        },
      });
      const found = await own.findByIdentifiers('Patient', [{ system: 'urn:ietf:rfc:3986', value }]);
      expect(found).toEqual([[]]);
    } finally {
      await secured.running.close();
      await own.close();
    }
  });
});
