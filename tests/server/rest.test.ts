import { readFileSync } from 'node:fs';
// REST behaviour a FHIR client written to R4 http.html / search.html expects.
import type {
  Bundle,
  BundleEntry,
  CapabilityStatement,
  OperationOutcome,
  Practitioner,
  Resource,
} from '@medplum/fhirtypes';
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { afterInstant } from '../helpers/clock.ts';
import { appPerSuite, firstIssue, localPractitioner, postFhir, practitioner, uniqueUrn } from './helpers.ts';

const FHIR = 'application/fhir+json';
const suite = appPerSuite({ strict: false });

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  postFhir(suite.app, path, body, headers);
/** The same facade with a configured base URL, for tests of absolute URLs (the Host header names none). */
const HERE = 'http://facade.test/fhir';
let hereApp: ReturnType<typeof suite.fx.app> | undefined;
const here = () => {
  hereApp ??= suite.fx.app({ strict: false, baseUrl: HERE });
  return hereApp;
};
const postHere = (path: string, body: unknown) => postFhir(here(), path, body);
const patient = () => ({
  resourceType: 'Patient',
  identifier: [{ system: 'urn:ietf:rfc:3986', value: uniqueUrn() }],
  name: [{ family: 'Testinen' }],
});

/** A new Patient and an Observation referring to it, as `Type/id` references. */
async function referenced(): Promise<{ patient: string; observation: string }> {
  const p = await post('/fhir/Patient', patient());
  const obs = await post('/fhir/Observation', {
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'x' },
    subject: { reference: `Patient/${p.body.id}` },
  });
  expect(obs.status).toBe(201);
  return { patient: `Patient/${p.body.id}`, observation: `Observation/${obs.body.id}` };
}

describe('content negotiation', () => {
  it('accepts fhirVersion=4.0, the R3-era application/json+fhir and _format=json; other versions are 406', async () => {
    for (const accept of [
      `${FHIR}; fhirVersion=4.0`,
      'application/json+fhir',
      `${FHIR}; fhirVersion=4.0.1`,
    ]) {
      const res = await request(suite.app).get('/fhir/metadata').set('Accept', accept);
      expect(res.status, accept).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    }
    const format = await request(suite.app).get('/fhir/metadata?_format=json');
    expect(format.status).toBe(200);
    const r3 = await request(suite.app).get('/fhir/metadata').set('Accept', `${FHIR}; fhirVersion=3.0`);
    expect(r3.status).toBe(406);
    expect(firstIssue(r3.body)?.code).toBe('not-supported');
  });
});

describe('_pretty', () => {
  it('_pretty=true indents the answer; without it the answer is compact', async () => {
    const pretty = await request(suite.app).get('/fhir/metadata').query({ _pretty: 'true' });
    expect(pretty.status).toBe(200);
    expect(pretty.text.startsWith('{\n  "resourceType": "CapabilityStatement"')).toBe(true);
    const compact = await request(suite.app).get('/fhir/metadata');
    expect(compact.text.startsWith('{"resourceType":"CapabilityStatement"')).toBe(true);
    const search = await request(suite.app).get('/fhir/Practitioner').query({ _pretty: 'true', _count: '1' });
    expect(search.status).toBe(200);
    expect(search.text).toContain('\n  "type": "searchset"');
    const created = await post('/fhir/Practitioner', practitioner());
    const read = await request(suite.app)
      .get(`/fhir/Practitioner/${created.body.id}`)
      .query({ _pretty: 'true' });
    expect(read.text.startsWith('{\n  "')).toBe(true);
    expect(JSON.parse(read.text).id).toBe(created.body.id);
  });
});

describe('search results', () => {
  it("the self link is the search's own URL: no dangling ? when there are no parameters", async () => {
    const self = (body: Bundle) => body.link?.find((l) => l.relation === 'self')?.url;
    const bare = await request(suite.app).get('/fhir/Practitioner');
    expect(self(bare.body)).toMatch(/\/fhir\/Practitioner$/);
    const counted = await request(suite.app)
      .get('/fhir/Practitioner')
      .query({ _count: '1', _pretty: 'false' });
    expect(self(counted.body)).toMatch(/\/fhir\/Practitioner\?_count=1$/);
  });

  it('_id takes :not and :missing, _lastUpdated :missing, as the CapabilityStatement types them', async () => {
    const made = [];
    for (let i = 0; i < 3; i++)
      made.push((await post('/fhir/Practitioner', practitioner())).body.id as string);
    const [a, b, c] = made as [string, string, string];
    const found = async (query: Record<string, string>) => {
      const res = await request(suite.app).get('/fhir/Practitioner').query(query);
      expect([query, res.status]).toEqual([query, 200]);
      return ((res.body as Bundle).entry?.map((e) => e.resource?.id as string) ?? []).sort();
    };
    const all = made.join(',');
    expect(await found({ _id: all, '_id:not': b })).toEqual([a, c].sort());
    expect(await found({ _id: all, '_id:not': `${a},${c}` })).toEqual([b]);
    expect(await found({ _id: all, '_id:missing': 'false' })).toEqual([...made].sort());
    expect(await found({ _id: all, '_id:missing': 'true' })).toEqual([]);
    expect(await found({ _id: all, '_lastUpdated:missing': 'false' })).toEqual([...made].sort());
    expect(await found({ _id: all, '_lastUpdated:missing': 'true' })).toEqual([]);
  });

  it('searches demographics, the directory and who-did-what: gender, birthdate, active, practitioner, role, participant, performer, lifecycle-status, authored', async () => {
    const tag = uniqueUrn();
    const pat = (
      await post('/fhir/Patient', { ...patient(), gender: 'female', birthDate: '1981-01-01', active: true })
    ).body.id as string;
    const doer = (await post('/fhir/Practitioner', { ...practitioner(), gender: 'male' })).body.id as string;
    const role = (
      await post('/fhir/PractitionerRole', {
        resourceType: 'PractitionerRole',
        practitioner: { reference: `Practitioner/${doer}` },
        code: [{ coding: [{ system: tag, code: 'social-worker' }] }],
      })
    ).body.id as string;
    const team = (
      await post('/fhir/CareTeam', {
        resourceType: 'CareTeam',
        subject: { reference: `Patient/${pat}` },
        participant: [{ member: { reference: `PractitionerRole/${role}` } }],
      })
    ).body.id as string;
    const obs = (
      await post('/fhir/Observation', {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        subject: { reference: `Patient/${pat}` },
        performer: [{ reference: `PractitionerRole/${role}` }],
      })
    ).body.id as string;
    const goal = (
      await post('/fhir/Goal', {
        resourceType: 'Goal',
        lifecycleStatus: 'proposed',
        description: { text: 'x' },
        subject: { reference: `Patient/${pat}` },
      })
    ).body.id as string;
    const qr = (
      await post('/fhir/QuestionnaireResponse', {
        resourceType: 'QuestionnaireResponse',
        status: 'completed',
        subject: { reference: `Patient/${pat}` },
        authored: '2026-03-04T10:00:00+02:00',
      })
    ).body.id as string;
    const found = async (query: string) => {
      const res = await request(suite.app).get(`/fhir/${query}`);
      expect([query, res.status]).toEqual([query, 200]);
      return (res.body as Bundle).entry?.map((e) => e.resource?.id) ?? [];
    };
    expect(await found(`Patient?_id=${pat}&gender=female&birthdate=ge1981&active=true`)).toEqual([pat]);
    expect(await found(`Patient?_id=${pat}&gender=male`)).toEqual([]);
    expect(await found(`Patient?_id=${pat}&birthdate=lt1981`)).toEqual([]);
    expect(await found(`PractitionerRole?practitioner=${doer}&role=${tag}|social-worker`)).toEqual([role]);
    expect(await found(`CareTeam?participant=PractitionerRole/${role}`)).toEqual([team]);
    expect(await found(`Observation?performer=PractitionerRole/${role}`)).toEqual([obs]);
    expect(await found(`Observation?performer:PractitionerRole.practitioner=${doer}`)).toEqual([obs]);
    expect(await found(`Goal?patient=${pat}&lifecycle-status=proposed`)).toEqual([goal]);
    expect(await found(`Goal?patient=${pat}&lifecycle-status=active`)).toEqual([]);
    expect(await found(`QuestionnaireResponse?patient=${pat}&authored=2026-03-04`)).toEqual([qr]);
    expect(await found(`QuestionnaireResponse?patient=${pat}&authored=gt2026-03-05`)).toEqual([]);
    const cs = (await request(suite.app).get('/fhir/metadata')).body as CapabilityStatement;
    const params = (type: string) =>
      cs.rest?.[0]?.resource?.find((r) => r.type === type)?.searchParam?.map((p) => p.name) ?? [];
    expect(params('Patient')).toEqual(
      expect.arrayContaining(['gender', 'birthdate', 'active', 'organization', 'name', 'family', 'given']),
    );
    const name = cs.rest?.[0]?.resource
      ?.find((r) => r.type === 'Patient')
      ?.searchParam?.find((s) => s.name === 'name');
    expect(name?.type).toBe('string');
    expect(await found(`Patient?_id=${pat}&family=${encodeURIComponent('TESTI')}`)).toEqual([pat]);
    expect(params('CareTeam')).toContain('participant');
  });

  it("value-integer, the project's own number parameter: declared with its definition, searched with prefixes", async () => {
    const p = await post('/fhir/Patient', patient());
    const scores: Record<string, string> = {};
    for (const valueInteger of [3, 7, 9]) {
      const obs = await post('/fhir/Observation', {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'Työkykypistemäärä' },
        subject: { reference: `Patient/${p.body.id}` },
        valueInteger,
      });
      expect(obs.status).toBe(201);
      scores[valueInteger] = obs.body.id;
    }
    const found = async (value: string) => {
      const res = await request(suite.app)
        .get('/fhir/Observation')
        .query({ subject: `Patient/${p.body.id}`, 'value-integer': value });
      expect(res.status).toBe(200);
      return ((res.body as Bundle).entry ?? []).map((e) => e.resource?.id).sort();
    };
    expect(await found('le7')).toEqual([scores[3], scores[7]].sort());
    expect(await found('gt7')).toEqual([scores[9]]);
    expect(await found('9.0')).toEqual([scores[9]]);
    // The worklist: clients with a score that calls for a closer look (reverse chaining).
    const clients = async (value: string) =>
      (
        (
          await request(suite.app)
            .get('/fhir/Patient')
            .query({ _id: p.body.id, '_has:Observation:subject:value-integer': value })
        ).body as Bundle
      ).total;
    expect([await clients('le7'), await clients('le2')]).toEqual([1, 0]);
    const bad = await request(suite.app).get('/fhir/Observation').query({ 'value-integer': '1.5.0' });
    expect(bad.status).toBe(400);
    expect(firstIssue(bad.body)).toMatchObject({
      code: 'invalid',
      diagnostics: "Invalid value for 'value-integer': not a number",
      expression: ['value-integer'],
    });
    const cs = (await request(suite.app).get('/fhir/metadata')).body as CapabilityStatement;
    const declared = cs.rest?.[0]?.resource
      ?.find((r) => r.type === 'Observation')
      ?.searchParam?.find((s) => s.name === 'value-integer');
    expect(declared).toMatchObject({
      type: 'number',
      definition: 'https://tyokyky-fhir.org/fhir/SearchParameter/observation-value-integer',
    });
    expect(
      cs.rest?.[0]?.resource?.find((r) => r.type === 'Patient')?.searchParam?.map((s) => s.name),
    ).not.toContain('value-integer');
  });

  it('an empty searchset has no entry element', async () => {
    const res = await request(suite.app)
      .get('/fhir/Practitioner')
      .query({ identifier: `urn:x|${uniqueUrn()}` });
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('searchset');
    expect('entry' in res.body).toBe(false);
  });

  it('_summary=count, _summary=true, _summary=data, _elements shape the results; a bad _summary is 400', async () => {
    const p = {
      ...practitioner('Summary'),
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
    };
    const created = await post('/fhir/Practitioner', p);
    const ident = `${p.identifier?.[0].system}|${p.identifier?.[0].value}`;
    const count = await request(suite.app)
      .get('/fhir/Practitioner')
      .query({ identifier: ident, _summary: 'count' });
    expect(count.body.total).toBe(1);
    expect(count.body.entry).toBeUndefined();
    const summary = await request(suite.app)
      .get('/fhir/Practitioner')
      .query({ identifier: ident, _summary: 'true' });
    const s = summary.body.entry[0].resource;
    expect(s.name[0].family).toBe('Summary'); // name is a summary element
    expect(s.text).toBeUndefined();
    expect(s.meta.tag).toContainEqual(expect.objectContaining({ code: 'SUBSETTED' }));
    const data = await request(suite.app)
      .get(`/fhir/Practitioner/${created.body.id}`)
      .query({ _summary: 'data' });
    expect(data.body.text).toBeUndefined();
    expect(data.body.identifier).toBeDefined();
    const elements = await request(suite.app)
      .get('/fhir/Practitioner')
      .query({ identifier: ident, _elements: 'identifier' });
    const e = elements.body.entry[0].resource;
    expect(Object.keys(e).sort()).toEqual(['id', 'identifier', 'meta', 'resourceType']);
    // Mandatory elements come along unasked (Observation.status and .code are 1..1).
    const obs = await post('/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'elements' },
      valueString: 'left out',
      note: [{ text: 'left out' }],
    });
    const few = await request(suite.app)
      .get(`/fhir/Observation/${obs.body.id}`)
      .query({ _elements: 'value[x]' });
    expect(Object.keys(few.body).sort()).toEqual([
      'code',
      'id',
      'meta',
      'resourceType',
      'status',
      'valueString',
    ]);
    // A vread is shaped as the read is.
    const version = await request(suite.app)
      .get(`/fhir/Observation/${obs.body.id}/_history/1`)
      .query({ _elements: 'value[x]' });
    expect(version.body).toEqual(few.body);
    expect(version.body.meta.tag).toContainEqual(expect.objectContaining({ code: 'SUBSETTED' }));
    const badVersion = await request(suite.app)
      .get(`/fhir/Observation/${obs.body.id}/_history/1`)
      .query({ _summary: 'maybe' });
    expect(badVersion.status).toBe(400);
    const bad = await request(suite.app).get('/fhir/Practitioner').query({ _summary: 'maybe' });
    expect(bad.status).toBe(400);
    expect(firstIssue(bad.body)?.expression).toEqual(['_summary']);
  });

  it('chains over indexed references and brings in _include/_revinclude resources', async () => {
    const pat = patient();
    const p = await post('/fhir/Patient', pat);
    const obs = await post('/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'chain' },
      subject: { reference: `Patient/${p.body.id}` },
    });
    expect(obs.status).toBe(201);
    const ident = `${pat.identifier[0].system}|${pat.identifier[0].value}`;
    for (const key of ['patient.identifier', 'subject:Patient.identifier']) {
      const res = await request(suite.app)
        .get('/fhir/Observation')
        .query({ [key]: ident });
      expect(res.status, key).toBe(200);
      expect(res.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([obs.body.id]);
    }
    const none = await request(suite.app)
      .get('/fhir/Observation')
      .query({ 'patient.identifier': `${ident}-other` });
    expect(none.body.entry).toBeUndefined();
    // Of the types `subject` may name, this server serves Patient only: the chain names it.
    const served = await request(suite.app).get('/fhir/Observation').query({ 'subject.identifier': ident });
    expect(served.status).toBe(200);
    expect(served.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([obs.body.id]);
    const unserved = await request(suite.app)
      .get('/fhir/Observation')
      .query({ 'subject:Group.identifier': ident });
    expect(unserved.status).toBe(400);
    expect(firstIssue(unserved.body)?.expression).toEqual(['subject:Group.identifier']);
    // `performer` may name several served types (Practitioner, PractitionerRole, Organization, …).
    const ambiguous = await request(suite.app)
      .get('/fhir/Observation')
      .query({ 'performer.identifier': ident });
    expect(ambiguous.status).toBe(400);
    expect(firstIssue(ambiguous.body)?.expression).toEqual(['performer.identifier']);

    const inc = await request(suite.app)
      .get('/fhir/Observation')
      .query({ _id: obs.body.id, _include: 'Observation:subject' });
    const modes = inc.body.entry.map(
      (e: { search: { mode: string }; resource: { resourceType: string } }) => [
        e.search.mode,
        e.resource.resourceType,
      ],
    );
    expect(modes).toEqual([
      ['match', 'Observation'],
      ['include', 'Patient'],
    ]);
    const rev = await request(suite.app)
      .get('/fhir/Patient')
      .query({ _id: p.body.id, _revinclude: 'Observation:subject' });
    expect(rev.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([
      p.body.id,
      obs.body.id,
    ]);
    const bad = await request(suite.app).get('/fhir/Observation').query({ _include: 'Observation:code' });
    expect(bad.status).toBe(400);
    expect(firstIssue(bad.body)?.expression).toEqual(['_include']);

    // The wildcard: every indexed reference parameter of the source type (R4 search.html, `Type:*`).
    const doer = await post('/fhir/Practitioner', practitioner());
    const performed = await post('/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'wildcard' },
      subject: { reference: `Patient/${p.body.id}` },
      performer: [{ reference: `Practitioner/${doer.body.id}` }],
    });
    const included = async (query: Record<string, string>) =>
      (
        (
          await request(suite.app)
            .get(`/fhir/${query._revinclude ? 'Patient' : 'Observation'}`)
            .query(query)
        ).body as Bundle
      ).entry
        ?.filter((e) => e.search?.mode === 'include')
        .map((e) => `${e.resource?.resourceType}/${e.resource?.id}`)
        .sort();
    expect(await included({ _id: performed.body.id, _include: 'Observation:*' })).toEqual(
      [`Patient/${p.body.id}`, `Practitioner/${doer.body.id}`].sort(),
    );
    expect(await included({ _id: performed.body.id, _include: 'Observation:*:Practitioner' })).toEqual([
      `Practitioner/${doer.body.id}`,
    ]);
    expect(await included({ _id: p.body.id, _revinclude: 'Observation:*' })).toEqual(
      [`Observation/${obs.body.id}`, `Observation/${performed.body.id}`].sort(),
    );
    const wrongType = await request(suite.app).get('/fhir/Observation').query({ _include: 'Patient:*' });
    expect(wrongType.status).toBe(400);

    // :iterate starts from what an earlier include brought in: Observation → its Patient → the
    // Patient's CarePlans (CarePlan.subject cannot reference an Observation, so only via the Patient).
    const plan = await post('/fhir/CarePlan', {
      resourceType: 'CarePlan',
      status: 'active',
      intent: 'plan',
      subject: { reference: `Patient/${p.body.id}` },
    });
    expect(plan.status).toBe(201);
    const iterated = await request(suite.app).get('/fhir/Observation').query({
      _id: obs.body.id,
      _include: 'Observation:subject',
      '_revinclude:iterate': 'CarePlan:subject',
    });
    expect(iterated.status).toBe(200);
    expect(
      iterated.body.entry.map((e: { search: { mode: string }; resource: Resource }) => [
        e.search.mode,
        `${e.resource.resourceType}/${e.resource.id}`,
      ]),
    ).toEqual([
      ['match', `Observation/${obs.body.id}`],
      ['include', `Patient/${p.body.id}`],
      ['include', `CarePlan/${plan.body.id}`],
    ]);
    // Without :iterate the same _revinclude is refused: it cannot start from the searched type.
    const flat = await request(suite.app)
      .get('/fhir/Observation')
      .query({ _id: obs.body.id, _revinclude: 'CarePlan:subject' });
    expect(flat.status).toBe(400);
  });

  it('declares in the CapabilityStatement what it supports', async () => {
    const cs = (await request(suite.app).get('/fhir/metadata')).body as CapabilityStatement;
    const obs = cs.rest?.[0].resource?.find((r) => r.type === 'Observation');
    expect(obs?.interaction?.map((i) => i.code)).toEqual(
      expect.arrayContaining([
        'history-type',
        'history-instance',
        'read',
        'vread',
        'create',
        'update',
        'delete',
      ]),
    );
    expect(obs?.searchParam?.map((p) => p.name)).toEqual(expect.arrayContaining(['_summary', '_elements']));
    expect(obs?.searchInclude).toContain('Observation:subject');
    const pat = cs.rest?.[0].resource?.find((r) => r.type === 'Patient');
    expect(pat?.searchRevInclude).toContain('Observation:subject');
    expect(cs.rest?.[0].interaction?.map((i) => i.code)).toContain('history-system');
  });
});

describe('conditional read (If-None-Match, If-Modified-Since)', () => {
  /** A Practitioner at version 2, its id and its Last-Modified. */
  async function twoVersions(): Promise<{ id: string; modified: string }> {
    const created = await post('/fhir/Practitioner', practitioner());
    const id = created.body.id as string;
    const updated = await request(suite.app)
      .put(`/fhir/Practitioner/${id}`)
      .set({ 'Content-Type': FHIR, 'If-Match': 'W/"1"' })
      .send(JSON.stringify({ ...created.body, active: true }));
    expect(updated.status).toBe(200);
    return { id, modified: updated.headers['last-modified'] as string };
  }
  const get = (path: string, headers: Record<string, string>) => request(suite.app).get(path).set(headers);

  it('an If-None-Match naming the current version (or *) is 304 with the version headers and no body', async () => {
    const { id, modified } = await twoVersions();
    for (const tag of ['W/"2"', '"2"', 'W/"1", W/"2"', '*']) {
      const res = await get(`/fhir/Practitioner/${id}`, { 'If-None-Match': tag });
      expect(res.status, tag).toBe(304);
      expect(res.headers.etag).toBe('W/"2"');
      expect(res.headers['last-modified']).toBe(modified);
      expect(res.text).toBe('');
    }
    for (const tag of ['W/"1"', '"3"', 'abc', '']) {
      const res = await get(`/fhir/Practitioner/${id}`, { 'If-None-Match': tag });
      expect(res.status, tag).toBe(200);
      expect(res.body.meta.versionId).toBe('2');
    }
  });

  it('If-Modified-Since at or after the last update is 304, before it 200; If-None-Match takes precedence', async () => {
    const { id, modified } = await twoVersions();
    const earlier = new Date(Date.parse(modified) - 1000).toUTCString();
    const later = new Date(Date.parse(modified) + 60_000).toUTCString();
    expect((await get(`/fhir/Practitioner/${id}`, { 'If-Modified-Since': modified })).status).toBe(304);
    expect((await get(`/fhir/Practitioner/${id}`, { 'If-Modified-Since': later })).status).toBe(304);
    expect((await get(`/fhir/Practitioner/${id}`, { 'If-Modified-Since': earlier })).status).toBe(200);
    expect((await get(`/fhir/Practitioner/${id}`, { 'If-Modified-Since': 'yesterday' })).status).toBe(200);
    const both = await get(`/fhir/Practitioner/${id}`, {
      'If-None-Match': 'W/"1"',
      'If-Modified-Since': later,
    });
    expect(both.status).toBe(200);
  });

  it('a vread answers 304 for the version the client holds; a deleted or unknown resource is never 304', async () => {
    const { id } = await twoVersions();
    expect((await get(`/fhir/Practitioner/${id}/_history/1`, { 'If-None-Match': 'W/"1"' })).status).toBe(304);
    expect((await get(`/fhir/Practitioner/${id}/_history/1`, { 'If-None-Match': 'W/"2"' })).status).toBe(200);
    expect((await request(suite.app).delete(`/fhir/Practitioner/${id}`)).status).toBe(204);
    expect((await get(`/fhir/Practitioner/${id}`, { 'If-None-Match': '*' })).status).toBe(410);
    expect((await get('/fhir/Practitioner/never-was', { 'If-None-Match': '*' })).status).toBe(404);
  });

  it('a batch GET entry with request.ifNoneMatch / ifModifiedSince answers 304 in its response', async () => {
    const { id, modified } = await twoVersions();
    const res = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: `Practitioner/${id}`, ifNoneMatch: 'W/"2"' } },
        { request: { method: 'GET', url: `Practitioner/${id}`, ifNoneMatch: 'W/"1"' } },
        {
          request: {
            method: 'GET',
            url: `Practitioner/${id}`,
            ifModifiedSince: new Date(Date.parse(modified) + 1000).toISOString(),
          },
        },
      ],
    });
    expect(res.status).toBe(200);
    const [current, stale, since] = res.body.entry;
    expect(current).toEqual({
      response: { status: '304 Not Modified', etag: 'W/"2"', lastModified: new Date(modified).toISOString() },
    });
    expect(stale.response.status).toBe('200 OK');
    expect(stale.resource.meta.versionId).toBe('2');
    expect(since.response.status).toBe('304 Not Modified');
  });

  it('the CapabilityStatement declares conditionalRead full-support', async () => {
    const cs = (await request(suite.app).get('/fhir/metadata')).body as CapabilityStatement;
    const kinds = new Set(cs.rest?.[0].resource?.map((r) => r.conditionalRead));
    expect([...kinds]).toEqual(['full-support']);
  });
});

describe('patch (JSON Patch)', () => {
  const JSON_PATCH = 'application/json-patch+json';
  const patch = (id: string, body: unknown, headers: Record<string, string> = {}) =>
    request(suite.app)
      .patch(`/fhir/Practitioner/${id}`)
      .set({ 'Content-Type': JSON_PATCH, ...headers })
      .send(typeof body === 'string' ? body : JSON.stringify(body));
  const created = async () => (await post('/fhir/Practitioner', practitioner())).body.id as string;
  const version = async (id: string) =>
    (await request(suite.app).get(`/fhir/Practitioner/${id}`)).body.meta.versionId;

  it('applies the operations to the stored resource and writes the result as a versioned update', async () => {
    const id = await created();
    const res = await patch(
      id,
      [
        { op: 'test', path: '/name/0/family', value: 'Virtanen' },
        { op: 'replace', path: '/name/0/family', value: 'Korhonen' },
        { op: 'add', path: '/active', value: true },
      ],
      { 'If-Match': 'W/"1"' },
    );
    expect(res.status, res.text).toBe(200);
    expect(res.headers.etag).toBe('W/"2"');
    expect(res.body).toMatchObject({
      id,
      active: true,
      name: [{ family: 'Korhonen' }],
      meta: { versionId: '2' },
    });
    const read = (await request(suite.app).get(`/fhir/Practitioner/${id}`)).body;
    expect(read.name[0].family).toBe('Korhonen');
    const minimal = await patch(id, [{ op: 'remove', path: '/active' }], {
      'If-Match': 'W/"2"',
      Prefer: 'return=minimal',
    });
    expect(minimal.status).toBe(200);
    expect(minimal.text).toBe('');
    expect(minimal.headers.etag).toBe('W/"3"');
  });

  it('is versioned like PUT: 428 without If-Match, 412 when stale (before the patch is tried); nothing written', async () => {
    const id = await created();
    const ops = [{ op: 'test', path: '/name/0/family', value: 'other' }];
    const missing = await patch(id, ops);
    expect(missing.status).toBe(428);
    expect(firstIssue(missing.body)).toMatchObject({
      code: 'required',
      diagnostics: `If-Match is required to update Practitioner/${id}`,
      expression: ['Practitioner.meta.versionId'],
    });
    const stale = await patch(id, ops, { 'If-Match': 'W/"7"' });
    expect(stale.status).toBe(412);
    expect(firstIssue(stale.body)?.diagnostics).toBe(
      `store-version-1: version conflict on Practitioner/${id}: If-Match is 7 but the current version is 1`,
    );
    expect((await patch(id, ops, { 'If-Match': 'nonsense' })).status).toBe(400);
    expect(await version(id)).toBe('1');
  });

  it('a document that is not a JSON Patch is 400, one that does not fit the resource 422, naming the operation, the element and the rule, never a value', async () => {
    const id = await created();
    const P = 'Practitioner';
    const cases: [unknown, number, string, string[] | undefined][] = [
      [{ op: 'add' }, 400, 'fhir-patch-1: a JSON Patch document is an array of operations', undefined],
      [
        [{ op: 'frobnicate', path: '/active' }],
        400,
        'fhir-patch-1: JSON Patch operation 0 (frobnicate /active) has no valid op (add, remove, replace, move, copy, test)',
        [`${P}.active`],
      ],
      [
        [{ op: 'add', path: '/active' }],
        400,
        'fhir-patch-1: JSON Patch operation 0 (add /active) needs value',
        [`${P}.active`],
      ],
      [
        [
          { op: 'add', path: '/active', value: true },
          { op: 'replace', path: '/nosuch/x', value: 1 },
        ],
        422,
        'fhir-patch-2: JSON Patch operation 1 (replace /nosuch/x) names a path the resource does not have',
        [`${P}.nosuch.x`],
      ],
      [
        [{ op: 'test', path: '/name/0/family', value: '010181-900C' }],
        422,
        'fhir-patch-2: JSON Patch operation 0 (test /name/0/family) is a test that failed',
        [`${P}.name[0].family`],
      ],
      [
        [{ op: 'copy', from: '/telecom/0', path: '/name/1' }],
        422,
        'fhir-patch-2: JSON Patch operation 0 (copy /name/1) names a from the resource does not have',
        [`${P}.telecom[0]`],
      ],
      [
        [
          { op: 'add', path: '/name/-', value: { family: 'x' } },
          { op: 'remove', path: '/name/7' },
        ],
        422,
        'fhir-patch-2: JSON Patch operation 1 (remove /name/7) names a path the resource does not have',
        [`${P}.name[7]`],
      ],
      [
        [{ op: 'replace', path: '/id', value: 'another' }],
        422,
        'fhir-patch-3: a patch may not change id',
        [`${P}.id`],
      ],
      [
        [{ op: 'replace', path: '/resourceType', value: 'Patient' }],
        422,
        'fhir-patch-3: a patch may not change resourceType',
        [`${P}.resourceType`],
      ],
      [
        [{ op: 'add', path: '/__proto__/polluted', value: 1 }],
        400,
        'fhir-patch-1: a JSON Patch may not touch __proto__',
        [P],
      ],
      // RFC 6902 §4.4: a value cannot be moved into one of its own children.
      [
        [{ op: 'move', from: '/name', path: '/name/0' }],
        400,
        'fhir-patch-1: JSON Patch operation 0 (move /name/0) moves a value into itself (from is a prefix of path)',
        [`${P}.name[0]`],
      ],
      // A path that is not plainly element names and indexes is not quoted back, not even as FHIRPath.
      [
        [{ op: 'remove', path: '/name/0/given/Liisa 010181-900C' }],
        422,
        'fhir-patch-2: JSON Patch operation 0 (remove) names a path the resource does not have',
        [P],
      ],
    ];
    for (const [body, status, text, expression] of cases) {
      const res = await patch(id, body, { 'If-Match': 'W/"1"' });
      expect(res.status, text).toBe(status);
      expect(res.body.issue, text).toHaveLength(1);
      expect(firstIssue(res.body), text).toMatchObject({ diagnostics: text });
      expect(firstIssue(res.body)?.expression, text).toEqual(expression);
      expect(res.text).not.toContain('010181-900C');
      expect(res.text).not.toContain('Virtanen');
      expect(res.text).not.toContain('Liisa');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await version(id)).toBe('1');
  });

  it('the patched resource is validated as a PUT of it would be: 422 naming the element, nothing written', async () => {
    const id = await created();
    const res = await patch(id, [{ op: 'add', path: '/gender', value: 'mies' }], { 'If-Match': 'W/"1"' });
    expect(res.status, res.text).toBe(422);
    expect(res.body.issue, res.text).toContainEqual(
      expect.objectContaining({ expression: ['Practitioner.gender'] }),
    );
    expect(await version(id)).toBe('1');
  });

  it('needs application/json-patch+json (415 otherwise) and an existing resource (404, 410 when deleted)', async () => {
    const id = await created();
    const ops = [{ op: 'add', path: '/active', value: true }];
    const fhirJson = await patch(id, ops, { 'Content-Type': FHIR, 'If-Match': 'W/"1"' });
    expect(fhirJson.status).toBe(415);
    expect(firstIssue(fhirJson.body)?.diagnostics).toContain('application/json-patch+json');
    expect((await patch(id, '', { 'If-Match': 'W/"1"' })).status).toBe(400);
    expect((await patch('no-such-practitioner', ops, { 'If-Match': 'W/"1"' })).status).toBe(404);
    expect((await request(suite.app).delete(`/fhir/Practitioner/${id}`)).status).toBe(204);
    expect((await patch(id, ops, { 'If-Match': 'W/"2"' })).status).toBe(410);
  });

  it('the CapabilityStatement declares patch and its format', async () => {
    const cs = (await request(suite.app).get('/fhir/metadata')).body as CapabilityStatement;
    expect(cs.patchFormat).toEqual(['application/json-patch+json']);
    const obs = cs.rest?.[0].resource?.find((r) => r.type === 'Observation');
    expect(obs?.interaction?.map((i) => i.code)).toContain('patch');
  });
});

describe('history at instance, type and system level', () => {
  it('GET Type/id/_history pages newest first and honours _since and _count; unknown parameters are 400', async () => {
    const created = await post('/fhir/Practitioner', practitioner('I0'));
    const { id } = created.body as Practitioner;
    let current = created.body as Practitioner;
    const stamps: string[] = [];
    for (let i = 1; i <= 3; i++) {
      // Each stamp later than the version before it (its PUT may have been stamped this millisecond).
      await afterInstant(current.meta?.lastUpdated as string);
      stamps.push(new Date().toISOString());
      const res = await request(suite.app)
        .put(`/fhir/Practitioner/${id}`)
        .set('content-type', 'application/fhir+json')
        .set('if-match', `W/"${current.meta?.versionId}"`)
        .send({ ...current, name: [{ family: `I${i}` }] });
      expect(res.status).toBe(200);
      current = res.body as Practitioner;
    }
    const versions = (b: Bundle) => b.entry?.map((e) => e.response?.etag);
    const paged = await request(suite.app).get(`/fhir/Practitioner/${id}/_history`).query({ _count: '2' });
    expect(paged.body.total).toBe(4);
    expect(versions(paged.body)).toEqual(['W/"4"', 'W/"3"']);
    const next = (paged.body as Bundle).link?.find((l) => l.relation === 'next')?.url as string;
    const rest = await request(suite.app).get(new URL(next).pathname + new URL(next).search);
    expect(versions(rest.body)).toEqual(['W/"2"', 'W/"1"']);
    expect((rest.body as Bundle).link?.some((l) => l.relation === 'next')).toBe(false);
    const since = await request(suite.app)
      .get(`/fhir/Practitioner/${id}/_history`)
      .query({ _since: stamps[1] });
    expect(versions(since.body)).toEqual(['W/"4"', 'W/"3"']);
    const future = await request(suite.app)
      .get(`/fhir/Practitioner/${id}/_history`)
      .query({ _since: '2099-01-01T00:00:00Z' });
    expect(future.body.total).toBe(0);
    // Garbage, and an instant on a day no month has (which JavaScript's Date would take for 2 March).
    for (const _since of ['garbage', '2026-02-30T00:00:00Z']) {
      const bad = await request(suite.app).get(`/fhir/Practitioner/${id}/_history`).query({ _since });
      expect(bad.status, _since).toBe(400);
      expect(firstIssue(bad.body)?.expression).toEqual(['_since']);
    }
    for (const path of [
      `/fhir/Practitioner/${id}/_history`,
      '/fhir/Practitioner/_history',
      '/fhir/_history',
    ]) {
      const unknown = await request(suite.app).get(path).query({ _at: '2025', _pretty: 'true' });
      expect(unknown.status, path).toBe(400);
      expect(firstIssue(unknown.body)).toMatchObject({
        code: 'not-supported',
        diagnostics: 'Unknown parameter "_at" for _history (supported: _since, _count, _offset)',
        expression: ['_at'],
      });
    }
  });

  it('GET Type/_history and /_history page newest first, honour _since and _count', async () => {
    // `since` later than every earlier write, and each create later than the one before (no ties).
    await afterInstant(new Date());
    const since = new Date().toISOString();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const made = (await post('/fhir/Practitioner', practitioner(`H${i}`))).body as Practitioner;
      ids.push(made.id as string);
      await afterInstant(made.meta?.lastUpdated as string);
    }
    const type = await request(suite.app)
      .get('/fhir/Practitioner/_history')
      .query({ _since: since, _count: '2' });
    expect(type.status).toBe(200);
    const page = type.body as Bundle;
    expect(page.type).toBe('history');
    expect(page.total).toBe(3);
    expect(page.entry?.map((e) => e.resource?.id)).toEqual([ids[2], ids[1]]);
    const next = page.link?.find((l) => l.relation === 'next')?.url as string;
    expect(next).toContain('_offset=2');
    const rest = await request(suite.app).get(new URL(next).pathname + new URL(next).search);
    expect(rest.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([ids[0]]);
    const system = await request(suite.app).get('/fhir/_history').query({ _since: since });
    expect(system.body.total).toBe(3);
    const bad = await request(suite.app).get('/fhir/_history').query({ _since: 'yesterday' });
    expect(bad.status).toBe(400);
    expect(firstIssue(bad.body)?.expression).toEqual(['_since']);
  });
});

describe('writes', () => {
  it('a long identifier is stored and found again, not a 500 (the index keeps long texts by digest)', async () => {
    const value = Array.from({ length: 300 }, () => crypto.randomUUID()).join('');
    const body = {
      ...practitioner(),
      identifier: [{ system: 'urn:ietf:rfc:3986', value: `urn:x:${value}` }],
    };
    const created = await post('/fhir/Practitioner', body);
    expect(created.status).toBe(201);
    const found = await request(suite.app)
      .get('/fhir/Practitioner')
      .query({ identifier: `urn:ietf:rfc:3986|urn:x:${value}` });
    expect((found.body as Bundle).entry?.map((e) => e.resource?.id)).toEqual([created.body.id]);
  });

  it('DELETE of an id that never existed is 204', async () => {
    const res = await request(suite.app).delete('/fhir/Practitioner/never-existed-123');
    expect(res.status).toBe(204);
  });

  it('deleting a Patient still referenced is 409 listing the referrers; unreferenced it is 204', async () => {
    const { patient: p, observation } = await referenced();
    const refused = await request(suite.app).delete(`/fhir/${p}`);
    expect(refused.status).toBe(409);
    expect(firstIssue(refused.body)?.diagnostics).toContain(observation);
    expect((await request(suite.app).get(`/fhir/${p}`)).status).toBe(200);
    expect((await request(suite.app).delete(`/fhir/${observation}`)).status).toBe(204);
    expect((await request(suite.app).delete(`/fhir/${p}`)).status).toBe(204);
  });

  it('a reference in any element keeps its target from being deleted (CarePlan.goal, Observation.performer, absolute URLs)', async () => {
    const p = (await post('/fhir/Patient', patient())).body.id as string;
    const goal = await post('/fhir/Goal', {
      resourceType: 'Goal',
      lifecycleStatus: 'active',
      description: { text: 'x' },
      subject: { reference: `Patient/${p}` },
    });
    // One base for both: a URL under another base names another server's resource.
    const doer = await postHere('/fhir/Practitioner', practitioner());
    const plan = await post('/fhir/CarePlan', {
      resourceType: 'CarePlan',
      status: 'active',
      intent: 'plan',
      subject: { reference: `Patient/${p}` },
      goal: [{ reference: `Goal/${goal.body.id}` }],
    });
    const absolute = (doer.headers.location as string).replace(/\/_history\/1$/, '');
    const obs = await postHere('/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      performer: [{ reference: absolute }],
    });
    expect([goal.status, doer.status, plan.status, obs.status]).toEqual([201, 201, 201, 201]);
    const refusedGoal = await request(suite.app).delete(`/fhir/Goal/${goal.body.id}`);
    expect(refusedGoal.status).toBe(409);
    expect(firstIssue(refusedGoal.body)?.diagnostics).toBe(
      `Goal/${goal.body.id} is still referenced by CarePlan/${plan.body.id}; delete or update those first`,
    );
    const refusedDoer = await request(suite.app).delete(`/fhir/Practitioner/${doer.body.id}`);
    expect(refusedDoer.status).toBe(409);
    expect(firstIssue(refusedDoer.body)?.diagnostics).toContain(`Observation/${obs.body.id}`);
    expect((await request(suite.app).get(`/fhir/Goal/${goal.body.id}`)).status).toBe(200);
    expect((await request(suite.app).delete(`/fhir/CarePlan/${plan.body.id}`)).status).toBe(204);
    expect((await request(suite.app).delete(`/fhir/Goal/${goal.body.id}`)).status).toBe(204);
  });

  it('conditional update by identifier: creates when none matches, updates the one match with If-Match, refuses the rest', async () => {
    const body = localPractitioner('Ehdollinen');
    const [{ system, value }] = body.identifier as [{ system: string; value: string }];
    const url = `/fhir/Practitioner?identifier=${encodeURIComponent(`${system}|${value}`)}`;
    const put = (resource: unknown, headers: Record<string, string> = {}) =>
      request(suite.app)
        .put(url)
        .set({ 'Content-Type': FHIR, ...headers })
        .send(JSON.stringify(resource));
    // If-Match names a version of the match: with nothing matching it cannot hold (RFC 9110 §13.1.1).
    const nothingToMatch = await put(body, { 'If-Match': 'W/"7"' });
    expect(nothingToMatch.status).toBe(412);
    expect(firstIssue(nothingToMatch.body)).toMatchObject({
      code: 'conflict',
      diagnostics:
        "No Practitioner matches the conditional update's identifier, so its If-Match cannot hold; leave If-Match out to create",
      expression: ['If-Match'],
    });
    const created = await put(body);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.headers.location).toMatch(new RegExp(`/fhir/Practitioner/${id}/_history/1$`));
    const renamed = { ...body, name: [{ family: 'Muutettu' }] };
    const noVersion = await put(renamed);
    expect(noVersion.status).toBe(428);
    const updated = await put(renamed, { 'If-Match': 'W/"1"' });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ id, meta: { versionId: '2' }, name: [{ family: 'Muutettu' }] });
    expect((await put(renamed, { 'If-Match': 'W/"1"' })).status).toBe(412);
    const otherId = await put({ ...renamed, id: 'someone-else' }, { 'If-Match': 'W/"2"' });
    expect(otherId.status).toBe(400);
    expect(firstIssue(otherId.body)?.expression).toEqual(['Practitioner.id']);
    const notCarried = await put(practitioner(), { 'If-Match': 'W/"2"' });
    expect(notCarried.status).toBe(400);
    expect(firstIssue(notCarried.body)?.expression).toEqual(['Practitioner.identifier']);
    const twoCriteria = await request(suite.app)
      .put(`${url}&active=true`)
      .set({ 'Content-Type': FHIR })
      .send(JSON.stringify(body));
    expect(twoCriteria.status).toBe(400);
    expect(firstIssue(twoCriteria.body)?.diagnostics).toBe(
      'A conditional update (PUT Type?criteria) takes exactly one identifier=system|value',
    );
    const formatted = await request(suite.app)
      .put(`${url}&_format=json`)
      .set({ 'Content-Type': FHIR, 'If-Match': 'W/"2"' })
      .send(JSON.stringify(renamed));
    // The same content again: answered, and no new version written.
    expect([formatted.status, formatted.body.meta.versionId]).toEqual([200, '2']);
    expect((await post('/fhir/Practitioner', body)).status).toBe(201);
    const ambiguous = await put(renamed, { 'If-Match': 'W/"2"' });
    expect(ambiguous.status).toBe(412);
    expect(firstIssue(ambiguous.body)?.code).toBe('multiple-matches');
    expect((await request(suite.app).get(`/fhir/Practitioner/${id}`)).body.meta.versionId).toBe('2');
    const cs = (await request(suite.app).get('/fhir/metadata')).body as CapabilityStatement;
    expect(cs.rest?.[0]?.resource?.find((r) => r.type === 'Practitioner')?.conditionalUpdate).toBe(true);
    // The identifier is matched exactly: a comma or a backslash in it is no search syntax.
    const odd = { ...practitioner(), identifier: [{ system: 'urn:x', value: `a,b\\c|${uniqueUrn()}` }] };
    const oddUrl = `/fhir/Practitioner?identifier=${encodeURIComponent(`urn:x|${odd.identifier[0].value}`)}`;
    const first = await request(suite.app)
      .put(oddUrl)
      .set({ 'Content-Type': FHIR })
      .send(JSON.stringify(odd));
    expect(first.status).toBe(201);
    const again = await request(suite.app)
      .put(oddUrl)
      .set({ 'Content-Type': FHIR, 'If-Match': 'W/"1"' })
      .send(JSON.stringify({ ...odd, active: true }));
    expect([again.status, again.body.id, again.body.meta?.versionId]).toEqual([200, first.body.id, '2']);
  });

  it('conditional update in a transaction and a batch: resolved to a create or a versioned update of the match', async () => {
    const body = practitioner('Nippu');
    const [{ system, value }] = body.identifier as [{ system: string; value: string }];
    const url = `Practitioner?identifier=${encodeURIComponent(`${system}|${value}`)}`;
    const role = (fullUrl: string) => ({
      fullUrl: `urn:uuid:${crypto.randomUUID()}`,
      resource: { resourceType: 'PractitionerRole', practitioner: { reference: fullUrl } },
      request: { method: 'POST', url: 'PractitionerRole' },
    });
    const doctor = `urn:uuid:${crypto.randomUUID()}`;
    const created = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [role(doctor), { fullUrl: doctor, resource: body, request: { method: 'PUT', url } }],
    });
    expect(created.status).toBe(200);
    const [roleEntry, practitionerEntry] = created.body.entry;
    expect(practitionerEntry.response.status).toBe('201 Created');
    const id = practitionerEntry.resource.id as string;
    expect(roleEntry.resource.practitioner).toEqual({ reference: `Practitioner/${id}` });
    const renamed = { ...body, name: [{ family: 'Nippu-Muutettu' }] };
    const unversioned = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: renamed, request: { method: 'PUT', url } }],
    });
    expect(unversioned.status).toBe(428);
    expect(firstIssue(unversioned.body)?.diagnostics).toMatch(/^entry\[0\]: /);
    const batch = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: renamed, request: { method: 'PUT', url, ifMatch: 'W/"1"' } },
        { resource: practitioner(), request: { method: 'PUT', url } },
        { resource: renamed, request: { method: 'PUT', url: `${url}&active=true` } },
      ],
    });
    expect(batch.body.entry.map((e: BundleEntry) => e.response?.status)).toEqual([
      '200 OK',
      '400 Bad Request',
      '400 Bad Request',
    ]);
    expect(batch.body.entry[0].resource).toMatchObject({ id, meta: { versionId: '2' } });
    expect(batch.body.entry[1].response.outcome.issue[0].expression).toEqual([
      'Bundle.entry[1].resource.identifier',
    ]);
    // If-Match on a conditional update that matches nothing fails, named at the entry's ifMatch.
    const nobody = practitioner('Ei-ketään');
    const nobodyUrl = `Practitioner?identifier=${encodeURIComponent(`${nobody.identifier![0]!.system}|${nobody.identifier![0]!.value}`)}`;
    const stale = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: nobody, request: { method: 'PUT', url: nobodyUrl, ifMatch: 'W/"3"' } }],
    });
    expect(stale.status).toBe(412);
    expect(firstIssue(stale.body)?.expression).toEqual(['Bundle.entry[0].request.ifMatch']);
  });

  it('a batch reads a version (GET Type/id/_history/vid) like a vread; _history is not a write target', async () => {
    const created = await post('/fhir/Practitioner', practitioner());
    const id = created.body.id as string;
    const res = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: `Practitioner/${id}/_history/1` } },
        { request: { method: 'GET', url: `Practitioner/${id}/_history/9` } },
        { request: { method: 'GET', url: `Practitioner/${id}/_history/bad!` } },
        { request: { method: 'DELETE', url: `Practitioner/${id}/_history/1` } },
      ],
    });
    expect(res.status).toBe(200);
    const [v1, missing, bad, notGet] = res.body.entry;
    expect(v1.response).toMatchObject({ status: '200 OK', etag: 'W/"1"' });
    expect(v1.fullUrl).toMatch(new RegExp(`/fhir/Practitioner/${id}$`));
    expect(v1.resource).toMatchObject({ id, meta: { versionId: '1' } });
    expect(missing.response.status).toBe('404 Not Found');
    expect(bad.response.status).toBe('400 Bad Request');
    expect(notGet.response.status).toBe('400 Bad Request');
    expect(notGet.response.outcome.issue[0].diagnostics).toBe(
      'entry[3]: the url of a DELETE entry must be Type/id',
    );
    expect(notGet.response.outcome.issue[0].expression).toEqual(['Bundle.entry[3].request.url']);
  });

  it('a batch write entry is read in the route table: only create, update, conditional update and delete run', async () => {
    const created = await post('/fhir/Practitioner', practitioner());
    const id = created.body.id as string;
    const res = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'POST', url: 'Practitioner/_search' }, resource: practitioner() },
        { request: { method: 'POST', url: `Practitioner/${id}/$validate` }, resource: practitioner() },
        { request: { method: 'PUT', url: 'Practitioner' }, resource: practitioner() },
        { request: { method: 'DELETE', url: 'Practitioner?name=x' } },
        { request: { method: 'POST', url: 'metadata' }, resource: practitioner() },
        // Percent-encoding in a path segment is read as over HTTP: this is Practitioner/<id>.
        {
          request: {
            method: 'PUT',
            url: `Practitioner/%${id.charCodeAt(0).toString(16)}${id.slice(1)}`,
            ifMatch: 'W/"1"',
          },
          resource: { ...created.body, active: false },
        },
      ],
    });
    expect(res.status).toBe(200);
    const outcomes = res.body.entry.map((e: BundleEntry) => [
      e.response?.status,
      (e.response?.outcome as OperationOutcome | undefined)?.issue[0].diagnostics,
    ]);
    expect(outcomes).toEqual([
      ['400 Bad Request', 'entry[0]: the url of a POST entry must be a resource type (a create)'],
      ['400 Bad Request', 'entry[1]: the url of a POST entry must be a resource type (a create)'],
      [
        '400 Bad Request',
        'entry[2]: the url of a PUT entry must be Type/id, or Type?identifier=system|value for a conditional update',
      ],
      ['400 Bad Request', 'entry[3]: the url of a DELETE entry must be Type/id'],
      ['400 Bad Request', 'entry[4]: the url of a POST entry must be a resource type (a create)'],
      ['200 OK', undefined],
    ]);
    const read = await request(suite.app).get(`/fhir/Practitioner/${id}`);
    expect(read.body).toMatchObject({ active: false, meta: { versionId: '2' } });
  });

  it('a batch GET entry is routed like the same GET over HTTP: history, metadata, repeated parameters, 404/405', async () => {
    const created = await post('/fhir/Practitioner', practitioner());
    const id = created.body.id as string;
    const updated = await request(suite.app)
      .put(`/fhir/Practitioner/${id}`)
      .set('Content-Type', 'application/fhir+json')
      .set('If-Match', 'W/"1"')
      .send({ ...created.body, active: false });
    expect(updated.status).toBe(200);
    const res = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: `Practitioner/${id}/_history` } },
        { request: { method: 'GET', url: 'Practitioner/_history?_count=1' } },
        { request: { method: 'GET', url: 'metadata' } },
        { request: { method: 'GET', url: `/Practitioner?_id=${id}&_id=${id}-other&_count=5` } },
        { request: { method: 'GET', url: 'NoSuchType/1/2/3/4' } },
        { request: { method: 'GET', url: `Practitioner/${id}` } },
      ],
    });
    expect(res.status).toBe(200);
    const [instance, typeLevel, metadata, search, unknown, read] = res.body.entry;
    const direct = await request(suite.app).get(`/fhir/Practitioner/${id}/_history`);
    expect(instance.response).toEqual({ status: '200 OK' });
    expect(instance.resource).toMatchObject({ resourceType: 'Bundle', type: 'history', total: 2 });
    expect(
      instance.resource.entry.map(
        (e: { resource: { meta: { versionId: string } } }) => e.resource.meta.versionId,
      ),
    ).toEqual(
      direct.body.entry.map((e: { resource: { meta: { versionId: string } } }) => e.resource.meta.versionId),
    );
    expect(typeLevel.resource).toMatchObject({ resourceType: 'Bundle', type: 'history' });
    expect(typeLevel.resource.entry).toHaveLength(1);
    expect(metadata.resource.resourceType).toBe('CapabilityStatement');
    expect(metadata.fullUrl).toBeUndefined();
    // `_id` twice: the route sees both values (they AND, so nothing matches), as over HTTP
    const directSearch = await request(suite.app).get(
      `/fhir/Practitioner?_id=${id}&_id=${id}-other&_count=5`,
    );
    expect(search.resource).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    expect(search.resource.total).toBe(directSearch.body.total);
    expect(unknown.response.status).toBe('404 Not Found');
    expect(unknown.response.outcome.issue[0].expression).toEqual(['Bundle.entry[4]']);
    expect(read.response).toMatchObject({ status: '200 OK', etag: 'W/"2"' });
    expect(read.resource).toMatchObject({ id, active: false });
  });

  it("a batch entry's absolute request.url under this server's base is taken as its relative form; under another base it is 400 naming it", async () => {
    const base = HERE;
    const created = await post('/fhir/Practitioner', practitioner());
    const id = created.body.id as string;
    const res = await postHere('/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: `${base}/Practitioner/${id}` } },
        { request: { method: 'GET', url: `${base}/Practitioner?_id=${id}` } },
        { resource: practitioner(), request: { method: 'POST', url: `${base}/Practitioner` } },
        { request: { method: 'GET', url: `http://elsewhere.test/fhir/Practitioner/${id}` } },
        { request: { method: 'GET', url: `${base}x/Practitioner/${id}` } },
      ],
    });
    expect(res.status).toBe(200);
    const [read, search, create, elsewhere, lookalike] = res.body.entry;
    expect(read.response).toMatchObject({ status: '200 OK', etag: 'W/"1"' });
    expect(read.resource.id).toBe(id);
    expect(search.resource).toMatchObject({ type: 'searchset', total: 1 });
    expect(create.response.status).toBe('201 Created');
    for (const [n, refused] of [elsewhere, lookalike].entries()) {
      expect(refused.response.status).toBe('400 Bad Request');
      expect(refused.response.outcome.issue[0].expression).toEqual([`Bundle.entry[${n + 3}].request.url`]);
    }
  });

  it("a transaction's GET entries run last, inside it: they see its writes, and a failing GET undoes them", async () => {
    const created = await post('/fhir/Practitioner', practitioner());
    const id = created.body.id as string;
    const seen = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'GET', url: `Practitioner/${id}/_history` } },
        {
          resource: { ...created.body, active: false },
          request: { method: 'PUT', url: `Practitioner/${id}`, ifMatch: 'W/"1"' },
        },
      ],
    });
    expect(seen.status).toBe(200);
    expect(seen.body.entry[0].resource.total).toBe(2);
    const undone = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { ...created.body, active: true },
          request: { method: 'PUT', url: `Practitioner/${id}`, ifMatch: 'W/"2"' },
        },
        { request: { method: 'GET', url: `Practitioner/${id}-missing` } },
      ],
    });
    expect(undone.status).toBe(404);
    expect(undone.body.issue[0].expression).toEqual(['Bundle.entry[1]']);
    const after = await request(suite.app).get(`/fhir/Practitioner/${id}`);
    expect(after.body.meta.versionId).toBe('2');
  });

  it('an empty transaction or batch is answered without an entry element (FHIR JSON has no empty arrays)', async () => {
    for (const type of ['transaction', 'batch']) {
      const res = await post('/fhir', { resourceType: 'Bundle', type });
      expect(res.status, type).toBe(200);
      expect(res.body).toEqual({ resourceType: 'Bundle', type: `${type}-response` });
    }
  });

  describe('the same rule for DELETE entries in a Bundle', () => {
    const bundle = (type: 'transaction' | 'batch', ...urls: string[]) => ({
      resourceType: 'Bundle',
      type,
      entry: urls.map((url) => ({ request: { method: 'DELETE', url } })),
    });

    it('a transaction deleting a still referenced Patient is 409 naming the entry; nothing is deleted', async () => {
      const { patient: p, observation } = await referenced();
      const other = (await post('/fhir/Practitioner', practitioner())).body.id as string;
      const res = await post('/fhir', bundle('transaction', `Practitioner/${other}`, p));
      expect(res.status).toBe(409);
      expect(firstIssue(res.body)).toMatchObject({
        code: 'conflict',
        expression: ['Bundle.entry[1].request.url'],
      });
      expect(firstIssue(res.body)?.diagnostics).toContain(`is still referenced by ${observation}`);
      expect((await request(suite.app).get(`/fhir/${p}`)).status).toBe(200);
      expect((await request(suite.app).get(`/fhir/Practitioner/${other}`)).status).toBe(200);
    });

    it('a transaction deleting the Patient with its referrers succeeds, in either order', async () => {
      for (const order of ['patient first', 'observation first']) {
        const { patient: p, observation } = await referenced();
        const urls = order === 'patient first' ? [p, observation] : [observation, p];
        const res = await post('/fhir', bundle('transaction', ...urls));
        expect(res.status, order).toBe(200);
        expect(res.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual([
          '204 No Content',
          '204 No Content',
        ]);
        expect((await request(suite.app).get(`/fhir/${p}`)).status).toBe(410);
      }
    });

    it('a batch refuses the referenced entry alone (409) and deletes the rest; an unknown id is 204 as directly', async () => {
      const { patient: p, observation } = await referenced();
      const res = await post('/fhir', bundle('batch', p, 'Practitioner/never-existed-456'));
      expect(res.status).toBe(200);
      expect(res.body.entry[0].response.status).toBe('409 Conflict');
      expect(res.body.entry[0].response.outcome.issue[0].diagnostics).toContain(observation);
      expect(res.body.entry[1].response.status).toBe('204 No Content');
      expect((await request(suite.app).get(`/fhir/${p}`)).status).toBe(200);
    });
  });

  it("a DELETE entry's request.ifMatch is checked as a DELETE's If-Match: stale is 412 and deletes nothing", async () => {
    const id = (await post('/fhir/Practitioner', practitioner())).body.id as string;
    const entry = (ifMatch: string) => ({
      request: { method: 'DELETE', url: `Practitioner/${id}`, ifMatch },
    });
    const batch = await post('/fhir', { resourceType: 'Bundle', type: 'batch', entry: [entry('W/"2"')] });
    expect(batch.status).toBe(200);
    expect(batch.body.entry[0].response.status).toBe('412 Precondition Failed');
    expect(batch.body.entry[0].response.outcome.issue[0].diagnostics).toBe(
      `store-version-1: version conflict on Practitioner/${id}: If-Match is 2 but the current version is 1`,
    );
    // A batch entry's outcome names places as the direct request's would (there, the If-Match header).
    expect(batch.body.entry[0].response.outcome.issue[0].expression).toEqual(['If-Match']);
    const transaction = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [entry('W/"7"')],
    });
    expect(transaction.status).toBe(412);
    expect(firstIssue(transaction.body)?.expression).toEqual(['Bundle.entry[0].request.ifMatch']);
    expect((await request(suite.app).get(`/fhir/Practitioner/${id}`)).status).toBe(200);
    const current = await post('/fhir', { resourceType: 'Bundle', type: 'batch', entry: [entry('W/"1"')] });
    expect(current.body.entry[0].response).toMatchObject({ status: '204 No Content', etag: 'W/"2"' });
    expect((await request(suite.app).get(`/fhir/Practitioner/${id}`)).status).toBe(410);
    // The same versioned delete again (its answer lost): done, not 412 — as a request and as an entry.
    const retried = await request(suite.app).delete(`/fhir/Practitioner/${id}`).set('If-Match', 'W/"1"');
    expect(retried.status).toBe(204);
    const again = await post('/fhir', { resourceType: 'Bundle', type: 'batch', entry: [entry('W/"1"')] });
    expect(again.body.entry[0].response.status).toBe('204 No Content');
    // Naming the deletion itself holds too; a version older than the one deleted does not.
    expect(
      (await request(suite.app).delete(`/fhir/Practitioner/${id}`).set('If-Match', 'W/"2"')).status,
    ).toBe(204);
    const stale = await request(suite.app).delete(`/fhir/Practitioner/${id}`).set('If-Match', 'W/"7"');
    expect(stale.status).toBe(412);
    expect(firstIssue(stale.body)).toMatchObject({
      diagnostics: `store-version-1: Practitioner/${id} was deleted in version 2; If-Match is 7`,
      expression: ['If-Match'],
    });
    // A resource that never existed has no version for If-Match to name: 412, as an entry too.
    const never = await request(suite.app).delete('/fhir/Practitioner/never-there').set('If-Match', 'W/"1"');
    expect(never.status).toBe(412);
    expect(firstIssue(never.body)).toMatchObject({
      diagnostics: 'store-version-1: Practitioner/never-there does not exist (If-Match W/"1")',
      expression: ['If-Match'],
    });
    expect((await request(suite.app).delete('/fhir/Practitioner/never-there')).status).toBe(204);
    const neverEntry = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ request: { method: 'DELETE', url: 'Practitioner/never-there', ifMatch: 'W/"1"' } }],
    });
    expect(neverEntry.body.entry[0].response.status).toBe('412 Precondition Failed');
  });

  it("a transaction entry's malformed request.ifMatch or ifNoneExist is named at that element, not at a header", async () => {
    const id = (await post('/fhir/Practitioner', practitioner())).body.id as string;
    const cases = [
      { request: { method: 'DELETE', url: `Practitioner/${id}`, ifMatch: 'garbage' } },
      {
        resource: { ...practitioner(), id },
        request: { method: 'PUT', url: `Practitioner/${id}`, ifMatch: 'garbage' },
      },
      { resource: practitioner(), request: { method: 'POST', url: 'Practitioner', ifNoneExist: '' } },
    ];
    const where = ['request.ifMatch', 'request.ifMatch', 'request.ifNoneExist'];
    for (const [i, entry] of cases.entries()) {
      const res = await post('/fhir', { resourceType: 'Bundle', type: 'transaction', entry: [entry] });
      expect(res.status, where[i]).toBe(400);
      expect(firstIssue(res.body)?.expression, where[i]).toEqual([`Bundle.entry[0].${where[i]}`]);
    }
    expect((await request(suite.app).get(`/fhir/Practitioner/${id}`)).body.meta.versionId).toBe('1');
  });

  it('$validate?mode=delete says whether a DELETE would pass, deleting nothing; other modes are checked', async () => {
    const { patient: p, observation } = await referenced();
    const refused = await post(`/fhir/${p}/$validate?mode=delete`, '');
    expect(refused.status).toBe(200);
    expect(firstIssue(refused.body)).toMatchObject({ severity: 'error', code: 'conflict' });
    expect(firstIssue(refused.body)?.diagnostics).toContain(observation);
    const free = await post(`/fhir/${observation}/$validate?mode=delete`, '');
    expect(firstIssue(free.body)).toMatchObject({
      severity: 'information',
      diagnostics: `${observation} can be deleted`,
    });
    expect((await request(suite.app).get(`/fhir/${observation}`)).status).toBe(200);
    const gone = await post('/fhir/Observation/never-there/$validate?mode=delete', '');
    expect(gone.status).toBe(404);
    const typeLevel = await post('/fhir/Observation/$validate?mode=delete', '');
    expect(typeLevel.status).toBe(400);
    expect(firstIssue(typeLevel.body)?.expression).toEqual(['mode']);
    const unknown = await post(`/fhir/${observation}/$validate?mode=remove`, '');
    expect(firstIssue(unknown.body)?.diagnostics).toBe(
      '$validate mode must be one of create, update, delete, profile',
    );
    const inBody = await post(`/fhir/${observation}/$validate`, {
      resourceType: 'Parameters',
      parameter: [{ name: 'mode', valueCode: 'delete' }],
    });
    expect(inBody.status).toBe(400);
    expect(firstIssue(inBody.body)?.diagnostics).toMatch(/^\$validate mode=delete goes in the URL/);
  });

  it('PUT to a new id is 405 with an OperationOutcome, nothing created', async () => {
    const res = await request(suite.app)
      .put('/fhir/Practitioner/brand-new-id')
      .set('Content-Type', FHIR)
      .send({ ...practitioner(), id: 'brand-new-id' });
    expect(res.status).toBe(405);
    expect(firstIssue(res.body)?.code).toBe('not-supported');
    expect((await request(suite.app).get('/fhir/Practitioner/brand-new-id')).status).toBe(404);
  });

  it('If-None-Exist naming an identifier the body does not carry is refused, naming the mismatch', async () => {
    const p = practitioner();
    const res = await post('/fhir/Practitioner', p, {
      'If-None-Exist': `identifier=urn:ietf:rfc:3986|${uniqueUrn()}`,
    });
    expect(res.status).toBe(400);
    expect(firstIssue(res.body)?.expression).toEqual(['Practitioner.identifier']);
    const ok = await post('/fhir/Practitioner', p, {
      'If-None-Exist': `identifier=${p.identifier?.[0].system}|${p.identifier?.[0].value}`,
    });
    expect(ok.status).toBe(201);
  });

  it('duplicate JSON property names are 400 naming the key, located as a FHIRPath', async () => {
    const text = '{"resourceType":"Practitioner","active":true,"active":false}';
    const res = await post('/fhir/Practitioner', text);
    expect(res.status).toBe(400);
    expect(firstIssue(res.body)?.diagnostics).toMatch(/Duplicated property name "active"/);
    const nested = await post(
      '/fhir/Practitioner',
      '{"resourceType":"Practitioner","name":[{"family":"a","family":"b"}]}',
    );
    expect(nested.status).toBe(400);
    expect(firstIssue(nested.body)?.expression).toEqual(['Practitioner.name[0].family']);
  });

  it('a transaction rewrites urn:uuid links in the narrative as it rewrites references', async () => {
    const target = uniqueUrn();
    const div = (href: string) =>
      `<div xmlns="http://www.w3.org/1999/xhtml"><p>Katso <a href="${href}">mittaus</a></p></div>`;
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: target,
          resource: { resourceType: 'Observation', status: 'final', code: { text: 'a' } },
          request: { method: 'POST', url: 'Observation' },
        },
        {
          fullUrl: uniqueUrn(),
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'b' },
            text: { status: 'generated', div: div(target) },
            derivedFrom: [{ reference: target }],
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    };
    const res = await post('/fhir', bundle);
    expect(res.status).toBe(200);
    const [first, second] = (res.body as Bundle).entry!.map(
      (e) => e.response?.location?.split('/_history')[0],
    );
    const stored = await request(suite.app).get(new URL(second!).pathname);
    const relative = new URL(first!).pathname.replace(/^\/fhir\//, '');
    expect(stored.body.derivedFrom).toEqual([{ reference: relative }]);
    expect(stored.body.text.div).toBe(div(relative));
  });

  it("a transaction rewrites references to a POST entry's fullUrl of any form: absolute, urn:oid, and a relative one resolved against an absolute fullUrl's base", async () => {
    const org = 'http://example.org/fhir/Organization/abc';
    const oid = 'urn:oid:1.2.246.10.99999.1';
    const role = (fullUrl: string, reference: string, div?: string) => ({
      fullUrl,
      resource: {
        resourceType: 'PractitionerRole',
        organization: { reference },
        ...(div ? { text: { status: 'generated', div } } : {}),
      },
      request: { method: 'POST', url: 'PractitionerRole' },
    });
    const div = (href: string) =>
      `<div xmlns="http://www.w3.org/1999/xhtml"><a href="${href}">yksikkö</a></div>`;
    const res = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: org,
          resource: { resourceType: 'Organization', name: 'absolute' },
          request: { method: 'POST', url: 'Organization' },
        },
        {
          fullUrl: oid,
          resource: { resourceType: 'Organization', name: 'oid' },
          request: { method: 'POST', url: 'Organization' },
        },
        role('http://example.org/fhir/PractitionerRole/def', org, div(org)),
        role('http://example.org/fhir/PractitionerRole/ghi', 'Organization/abc'),
        role(uniqueUrn(), oid),
      ],
    });
    expect(res.status).toBe(200);
    const [absolute, byOid, ...roles] = (res.body as Bundle).entry!.map((e) =>
      new URL(e.response!.location!.split('/_history')[0]).pathname.replace(/^\/fhir\//, ''),
    );
    const stored = await Promise.all(roles.map((r) => request(suite.app).get(`/fhir/${r}`)));
    expect(stored.map((s) => s.body.organization.reference)).toEqual([absolute, absolute, byOid]);
    expect(stored[0].body.text.div).toBe(div(absolute!));
  });

  it("a transaction rewrites a uri element holding exactly an entry's fullUrl to its Type/id, as a reference, at any depth; strings, uuids and other values stay as written", async () => {
    const target = uniqueUrn();
    const absolute = 'http://example.org/fhir/Organization/uri-target';
    const ext = (name: string, value: Record<string, string>) => ({
      url: `http://example.org/ext/${name}`,
      ...value,
    });
    const res = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: target,
          resource: {
            resourceType: 'Organization',
            identifier: [{ system: 'urn:ietf:rfc:3986', value: target }],
            name: 'uri target',
          },
          request: { method: 'POST', url: 'Organization' },
        },
        {
          fullUrl: absolute,
          resource: { resourceType: 'Organization', name: 'url target' },
          request: { method: 'POST', url: 'Organization' },
        },
        {
          fullUrl: uniqueUrn(),
          resource: {
            resourceType: 'Organization',
            name: 'uri holder',
            extension: [
              ext('related', { valueUri: target }),
              ext('page', { valueUrl: absolute }),
              ext('note', { valueString: target }),
              ext('longer', { valueUri: `${absolute}/_history/1` }),
              ext('same', { valueUuid: target }),
            ],
          },
          request: { method: 'POST', url: 'Organization' },
        },
        {
          resource: {
            resourceType: 'QuestionnaireResponse',
            status: 'completed',
            // An item inside an item (its definition is a contentReference to the outer one).
            item: [{ linkId: 'a', item: [{ linkId: 'b', answer: [{ valueUri: target }] }] }],
          },
          request: { method: 'POST', url: 'QuestionnaireResponse' },
        },
      ],
    });
    expect(res.status).toBe(200);
    const [first, second, holder, answers] = (res.body as Bundle).entry!.map((e) => e.resource as Resource);
    const stored = await request(suite.app).get(`/fhir/Organization/${holder!.id}`);
    expect(stored.body.extension.map((e: Record<string, string>) => Object.values(e)[1])).toEqual([
      `Organization/${first!.id}`,
      `Organization/${second!.id}`,
      target,
      `${absolute}/_history/1`,
      target,
    ]);
    const response = await request(suite.app).get(`/fhir/QuestionnaireResponse/${answers!.id}`);
    expect(response.body.item[0].item[0].answer[0].valueUri).toBe(`Organization/${first!.id}`);
    const kept = await request(suite.app).get(`/fhir/Organization/${first!.id}`);
    expect(kept.body.identifier[0].value).toBe(target);
  });

  it('a transaction urn:uuid reference matching no fullUrl is 400 naming the entry', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: uniqueUrn(),
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'x' },
            subject: { reference: uniqueUrn() },
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    };
    const res = await post('/fhir', bundle);
    expect(res.status).toBe(400);
    expect(firstIssue(res.body)?.expression).toEqual(['Bundle.entry[0].resource.subject']);
  });
});

describe('mounted in a host app', () => {
  it('without baseUrl, absolute URLs name the address the connection came in on, never the Host header', async () => {
    const host = express();
    host.use('/prefix', suite.fx.app({ strict: false }));
    const created = await request(host)
      .post('/prefix/fhir/Practitioner')
      .set({ 'Content-Type': FHIR, Host: 'evil.example' })
      .send(JSON.stringify(practitioner()));
    expect(created.status).toBe(201);
    expect(created.headers.location).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/prefix\/fhir\/Practitioner\//);
    const page = await request(host)
      .get('/prefix/fhir/Practitioner')
      .query({ _count: '1' })
      .set('Host', 'evil.example');
    expect(JSON.stringify(page.body.link)).not.toContain('evil.example');
    expect(page.body.link[0].url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/prefix\/fhir\/Practitioner\?/);
  });

  it('absolute URLs carry the prefix; a root mount leaves the host its later routes', async () => {
    const host = express();
    host.use('/prefix', suite.fx.app({ strict: false }));
    const created = await request(host)
      .post('/prefix/fhir/Practitioner')
      .set('Content-Type', FHIR)
      .send(JSON.stringify(practitioner()));
    expect(created.status).toBe(201);
    expect(created.headers.location).toMatch(/^http:\/\/[^/]+\/prefix\/fhir\/Practitioner\//);

    const root = express();
    root.use(suite.fx.app({ strict: false }));
    root.get('/hello', (_req, res) => {
      res.send('host route');
    });
    expect((await request(root).get('/hello')).text).toBe('host route');
    expect((await request(root).get('/fhir/metadata')).status).toBe(200);
    expect((await request(root).get('/fhir/Nothing/x/y/z')).status).toBe(404);
  });
});

describe('Patient/$everything', () => {
  it('answers the Patient and its compartment in one searchset; _type and _since narrow it', async () => {
    const { patient, observation } = await referenced();
    const goal = await post('/fhir/Goal', {
      resourceType: 'Goal',
      lifecycleStatus: 'active',
      description: { text: 'x' },
      subject: { reference: patient },
      addresses: [{ reference: observation }],
    });
    expect(goal.status).toBe(201);
    const refs = (bundle: Bundle) =>
      (bundle.entry ?? []).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`).sort();
    const all = await request(suite.app).get(`/fhir/${patient}/$everything`);
    expect(all.status).toBe(200);
    expect(all.body.type).toBe('searchset');
    expect(refs(all.body)).toEqual([`Goal/${goal.body.id}`, observation, patient].sort());
    expect(all.body.total).toBe(3);
    const typed = await request(suite.app)
      .get(`/fhir/${patient}/$everything`)
      .query({ _type: 'Observation' });
    expect(refs(typed.body)).toEqual([observation]);
    const later = await request(suite.app)
      .get(`/fhir/${patient}/$everything`)
      .query({ _since: new Date(Date.now() + 60_000).toISOString() });
    expect(refs(later.body)).toEqual([]);
  });

  it('start and end keep the care dates in range, for the types that have one; the Patient stays, and links carry them', async () => {
    const p = await post('/fhir/Patient', patient());
    const subject = { reference: `Patient/${p.body.id}` };
    const observation = async (effectiveDateTime?: string) => {
      const res = await post('/fhir/Observation', {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        subject,
        ...(effectiveDateTime ? { effectiveDateTime } : {}),
      });
      expect(res.status).toBe(201);
      return `Observation/${res.body.id}`;
    };
    const early = await observation('2024-03-01');
    const mid = await observation('2025-06-15T10:00:00+03:00');
    const late = await observation('2026-09-30');
    const undated = await observation();
    const plan = await post('/fhir/CarePlan', {
      resourceType: 'CarePlan',
      status: 'active',
      intent: 'plan',
      subject,
      period: { start: '2025-01-01', end: '2025-12-31' },
    });
    expect(plan.status).toBe(201);
    // A Goal has no care-date parameter here: the range does not narrow it.
    const goal = await post('/fhir/Goal', {
      resourceType: 'Goal',
      lifecycleStatus: 'active',
      description: { text: 'x' },
      subject,
    });
    expect(goal.status).toBe(201);
    const matches = async (query: Record<string, string>) =>
      (
        ((await request(suite.app).get(`/fhir/Patient/${p.body.id}/$everything`).query(query)).body as Bundle)
          .entry ?? []
      )
        .map((e) => `${e.resource?.resourceType}/${e.resource?.id}`)
        .sort();
    const always = [`Patient/${p.body.id}`, `Goal/${goal.body.id}`];
    const planRef = `CarePlan/${plan.body.id}`;
    expect(await matches({})).toEqual([...always, early, mid, late, undated, planRef].sort());
    expect(await matches({ start: '2025', end: '2025' })).toEqual([...always, mid, planRef].sort());
    // The plan's period reaches into July 2025: it overlaps.
    expect(await matches({ start: '2025-07' })).toEqual([...always, late, planRef].sort());
    expect(await matches({ end: '2024-12-31' })).toEqual([...always, early].sort());
    expect(await matches({ start: '2025-06-15', end: '2025-06' })).toEqual([...always, mid, planRef].sort());
    const paged = (
      await request(suite.app)
        .get(`/fhir/Patient/${p.body.id}/$everything`)
        .query({ start: '2025', end: '2026', _count: '1' })
    ).body as Bundle;
    expect(paged.link?.find((l) => l.relation === 'next')?.url).toMatch(
      /\$everything\?start=2025&end=2026&_count=1&_offset=1$/,
    );
  });

  it('includes what the compartment refers to outside it (mode include), as _type asks', async () => {
    const { patient } = await referenced();
    const doer = await post('/fhir/Practitioner', practitioner());
    const obs = await post('/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: patient },
      performer: [{ reference: `Practitioner/${doer.body.id}` }],
    });
    expect(obs.status).toBe(201);
    const modes = (bundle: Bundle) =>
      (bundle.entry ?? [])
        .filter((e) => e.resource?.resourceType === 'Practitioner')
        .map((e) => `${e.resource?.id} ${e.search?.mode}`);
    const all = (await request(suite.app).get(`/fhir/${patient}/$everything`)).body as Bundle;
    expect(modes(all)).toEqual([`${doer.body.id} include`]);
    expect(all.total).toBe(3); // the matches: Patient and two Observations
    const typed = await request(suite.app)
      .get(`/fhir/${patient}/$everything`)
      .query({ _type: 'Observation' });
    expect(modes(typed.body)).toEqual([]);
    const both = await request(suite.app)
      .get(`/fhir/${patient}/$everything`)
      .query({ _type: 'Observation,Practitioner' });
    expect(modes(both.body)).toEqual([`${doer.body.id} include`]);
  });

  it('pages with _count and _offset: every match once across the pages, each page with what its matches refer to', async () => {
    const { patient, observation } = await referenced();
    const doer = await post('/fhir/Practitioner', practitioner());
    const performed = await post('/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'y' },
      subject: { reference: patient },
      performer: [{ reference: `Practitioner/${doer.body.id}` }],
    });
    expect(performed.status).toBe(201);
    const matches = (bundle: Bundle) =>
      (bundle.entry ?? [])
        .filter((e) => e.search?.mode === 'match')
        .map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);
    const included = (bundle: Bundle) =>
      (bundle.entry ?? [])
        .filter((e) => e.search?.mode === 'include')
        .map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);
    const link = (bundle: Bundle, relation: string) => bundle.link?.find((l) => l.relation === relation)?.url;
    const whole = (await request(suite.app).get(`/fhir/${patient}/$everything`)).body as Bundle;
    expect(link(whole, 'next')).toBeUndefined();
    const pages: Bundle[] = [];
    let url: string | undefined = `/fhir/${patient}/$everything?_count=2`;
    while (url) {
      const res = await request(suite.app).get(url.replace(/^https?:\/\/[^/]+/, ''));
      expect(res.status).toBe(200);
      pages.push(res.body as Bundle);
      url = link(res.body as Bundle, 'next');
    }
    expect(pages.map((p) => p.total)).toEqual([3, 3]);
    expect(pages.map((p) => matches(p).length)).toEqual([2, 1]);
    expect(pages.flatMap(matches).sort()).toEqual(matches(whole).sort());
    expect(pages.flatMap(matches).sort()).toEqual(
      [patient, observation, `Observation/${performed.body.id}`].sort(),
    );
    // The Practitioner comes with the page that holds the Observation naming it, and only there.
    const withDoer = pages.filter((p) => included(p).includes(`Practitioner/${doer.body.id}`));
    expect(withDoer).toHaveLength(1);
    expect(matches(withDoer[0] as Bundle)).toContain(`Observation/${performed.body.id}`);
    expect(link(pages[0] as Bundle, 'self')).toMatch(/\$everything\?_count=2$/);
    expect(link(pages[1] as Bundle, 'self')).toMatch(/\$everything\?_count=2&_offset=2$/);
    expect(link(pages[1] as Bundle, 'previous')).toMatch(/\$everything\?_count=2&_offset=0$/);
    // _type travels in the links; _count=0 is the total alone.
    const typed = (
      await request(suite.app)
        .get(`/fhir/${patient}/$everything`)
        .query({ _type: 'Observation', _count: '1' })
    ).body as Bundle;
    expect(link(typed, 'next')).toMatch(/\$everything\?_type=Observation&_count=1&_offset=1$/);
    const counted = (await request(suite.app).get(`/fhir/${patient}/$everything`).query({ _count: '0' }))
      .body as Bundle;
    expect([counted.total, counted.entry]).toEqual([3, undefined]);
  });

  it('refuses what it does not take, naming it: a parameter, a type it does not answer, another resource type', async () => {
    const { patient } = await referenced();
    const cases: Array<[string, Record<string, string>, number, string, string | undefined]> = [
      [
        `/fhir/${patient}/$everything`,
        { _elements: 'id' },
        400,
        'Unknown parameter "_elements" for $everything (supported: _type, _since, start, end, _count, _offset)',
        '_elements',
      ],
      [
        `/fhir/${patient}/$everything`,
        { start: '2026-13-01' },
        400,
        'start must be one date such as 2025, 2025-05 or 2025-05-31',
        'start',
      ],
      [
        // A day that no month has: no range to keep, so not taken as none.
        `/fhir/${patient}/$everything`,
        { start: '2026-02-30' },
        400,
        'start must be one date such as 2025, 2025-05 or 2025-05-31',
        'start',
      ],
      [
        `/fhir/${patient}/$everything`,
        { end: '2026-01-01T00:00:00Z' },
        400,
        'end must be one date such as 2025, 2025-05 or 2025-05-31',
        'end',
      ],
      [
        `/fhir/${patient}/$everything`,
        { start: '2026-02', end: '2026-01-31' },
        400,
        'start is after end',
        'start',
      ],
      [
        `/fhir/${patient}/$everything`,
        { _count: 'many' },
        400,
        "Invalid value for '_count': not a non-negative integer",
        '_count',
      ],
      [
        `/fhir/${patient}/$everything`,
        { _type: 'Medication' },
        400,
        '_type names a type $everything does not answer here (allowed: Patient,',
        '_type',
      ],
      [`/fhir/${patient}/$everything`, { _since: 'yesterday' }, 400, '_since must be an instant', '_since'],
      [
        '/fhir/Observation/x/$everything',
        {},
        404,
        '$everything is an operation on Patient here: Patient/[id]/$everything',
        undefined,
      ],
    ];
    for (const [path, query, status, text, expression] of cases) {
      const res = await request(suite.app).get(path).query(query);
      expect(res.status, path).toBe(status);
      expect(firstIssue(res.body)?.diagnostics).toContain(text);
      if (expression) expect(firstIssue(res.body)?.expression).toEqual([expression]);
    }
    const missing = await request(suite.app).get(
      '/fhir/Patient/00000000-0000-4000-8000-000000000000/$everything',
    );
    expect(missing.status).toBe(404);
  });

  it('is declared on Patient only', async () => {
    const cs = (await request(suite.app).get('/fhir/metadata')).body as CapabilityStatement;
    const ops = (type: string) =>
      cs.rest?.[0]?.resource?.find((r) => r.type === type)?.operation?.map((o) => o.name);
    expect(ops('Patient')).toEqual(['validate', 'everything']);
    expect(ops('Observation')).toEqual(['validate']);
    // $validate is served at type and instance level only: no operation at system level.
    expect(cs.rest?.[0]?.operation).toBeUndefined();
  });
});

describe('numbers as written in the body', () => {
  const observation = (value: string) =>
    `{"resourceType":"Observation","status":"final","code":{"text":"x"},${value}}`;

  it('an integer written as 1.0 is 422 naming the element, quoting no value; a decimal written so is stored', async () => {
    const bad = await post('/fhir/Observation', observation('"valueInteger":1.0'));
    expect(bad.status).toBe(422);
    expect(bad.body.issue.filter((i: { severity: string }) => i.severity === 'error')).toEqual([
      expect.objectContaining({
        expression: ['Observation.value.ofType(integer)'],
        diagnostics: 'The value as written is not a valid integer',
      }),
    ]);
    const good = await post('/fhir/Observation', observation('"valueQuantity":{"value":1.0}'));
    expect(good.status).toBe(201);
  });

  it('a decimal keeps its precision as written: stored, read, updated, in a transaction and _pretty', async () => {
    const value =
      '"valueQuantity":{"value":1.50,"unit":"h"},"component":[{"code":{"text":"c"},"valueQuantity":{"value":2.0}}]';
    const created = await post('/fhir/Observation', observation(value));
    expect(created.status).toBe(201);
    expect(created.text).toMatch(/"value": ?1\.50\b/);
    const id = created.body.id as string;
    const read = await request(suite.app).get(`/fhir/Observation/${id}`);
    expect(read.text).toMatch(/"value": ?1\.50\b/);
    expect(read.text).toMatch(/"valueQuantity": ?\{"value": ?2\.0\}/);
    const elements = await request(suite.app)
      .get('/fhir/Observation')
      .query({ _id: id, _elements: 'valueQuantity' });
    expect(elements.text).toMatch(/"value": ?1\.50\b/);
    const pretty = await request(suite.app).get(`/fhir/Observation/${id}`).query({ _pretty: 'true' });
    expect(pretty.text).toMatch(/"value": 1\.50\b/);
    const updated = await request(suite.app)
      .put(`/fhir/Observation/${id}`)
      .set({ 'Content-Type': FHIR, 'If-Match': 'W/"1"' })
      .send(
        `{"resourceType":"Observation","id":"${id}","status":"final","code":{"text":"x"},"valueQuantity":{"value":0.250}}`,
      );
    expect(updated.status).toBe(200);
    expect((await request(suite.app).get(`/fhir/Observation/${id}`)).text).toMatch(/"value": ?0\.250\b/);
    expect((await request(suite.app).get(`/fhir/Observation/${id}/_history/1`)).text).toMatch(
      /"value": ?1\.50\b/,
    );
    const bundle = await post(
      '/fhir',
      `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"${uniqueUrn()}","resource":${observation('"valueQuantity":{"value":3.10}')},"request":{"method":"POST","url":"Observation"}}]}`,
    );
    expect(bundle.status).toBe(200);
    const location = bundle.body.entry[0].response.location as string;
    const created3 = /Observation\/[^/]+/.exec(location)?.[0];
    expect((await request(suite.app).get(`/fhir/${created3}`)).text).toMatch(/"value": ?3\.10\b/);
  });

  it('an update that changes only how a decimal is written is a change; the same text again is none', async () => {
    const body = (value: string, id?: string) =>
      `{"resourceType":"Observation",${id ? `"id":"${id}",` : ''}"status":"final","code":{"text":"x"},"valueQuantity":{"value":${value}}}`;
    const created = await post('/fhir/Observation', body('1.5'));
    const id = created.body.id as string;
    const put = (value: string, version: string) =>
      request(suite.app)
        .put(`/fhir/Observation/${id}`)
        .set({ 'Content-Type': FHIR, 'If-Match': `W/"${version}"` })
        .send(body(value, id));
    expect((await put('1.5', '1')).headers.etag).toBe('W/"1"'); // the same: no new version
    const precise = await put('1.50', '1');
    expect(precise.headers.etag).toBe('W/"2"');
    expect((await request(suite.app).get(`/fhir/Observation/${id}`)).text).toMatch(/"value": ?1\.50\b/);
    expect((await put('1.50', '2')).headers.etag).toBe('W/"2"');
  });

  it('in a transaction the entry is refused and nothing is written', async () => {
    const urn = uniqueUrn();
    const body = `{"resourceType":"Bundle","type":"transaction","entry":[
      {"fullUrl":"${urn}","resource":${observation('"valueInteger":7')},"request":{"method":"POST","url":"Observation"}},
      {"resource":${observation('"valueInteger":2e0')},"request":{"method":"POST","url":"Observation"}}]}`;
    const before = await request(suite.app).get('/fhir/Observation').query({ _summary: 'count' });
    const res = await post('/fhir', body);
    expect(res.status).toBe(422);
    expect(JSON.stringify(res.body)).toContain('Bundle.entry[1].resource.value.ofType(integer)');
    const after = await request(suite.app).get('/fhir/Observation').query({ _summary: 'count' });
    expect(after.body.total).toBe(before.body.total);
  });
});

describe('references on the write path', () => {
  it('a reference of a type the element does not allow is refused even when its target is not at hand (the validator alone only warns)', async () => {
    const res = await post('/fhir/Patient', {
      ...patient(),
      generalPractitioner: [{ reference: 'Medication/1' }],
    });
    expect(res.status).toBe(422);
    const errors = (res.body as OperationOutcome).issue?.filter((i) => i.severity === 'error');
    expect(errors).toEqual([
      expect.objectContaining({
        expression: ['Patient.generalPractitioner[0].reference'],
        // The reference itself is not quoted: a conditional one may name a HETU.
        diagnostics:
          "Patient.generalPractitioner: the type 'Medication' of the reference '…' is not a valid target (must be one of Organization, Practitioner, PractitionerRole)",
      }),
    ]);
    const gp = await post('/fhir/Practitioner', practitioner());
    const ok = await post('/fhir/Patient', {
      ...patient(),
      generalPractitioner: [{ reference: `Practitioner/${gp.body.id}` }],
    });
    expect(ok.status).toBe(201);
  });

  describe('store-ref-1: a reference to a type stored here names a stored resource', () => {
    const observation = (subject: string) => ({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: subject },
    });
    const count = async () =>
      ((await request(suite.app).get('/fhir/Observation?_summary=count')).body as Bundle).total;

    it('a create, update or patch naming a missing or deleted resource is 422 naming the element; nothing written', async () => {
      const before = await count();
      const missing = await post('/fhir/Observation', observation('Patient/never-stored'));
      expect(missing.status).toBe(422);
      expect(firstIssue(missing.body)).toMatchObject({
        code: 'not-found',
        diagnostics:
          'store-ref-1: Patient/never-stored does not exist here; a reference must name a stored resource',
        expression: ['Observation.subject'],
      });
      const gone = (await post('/fhir/Patient', patient())).body.id as string;
      expect((await request(suite.app).delete(`/fhir/Patient/${gone}`)).status).toBe(204);
      expect((await post('/fhir/Observation', observation(`Patient/${gone}`))).status).toBe(422);
      expect(await count()).toBe(before);

      const { patient: subject, observation: obs } = await referenced();
      const stored = (await request(suite.app).get(`/fhir/${obs}`)).body;
      const put = await request(suite.app)
        .put(`/fhir/${obs}`)
        .set({ 'Content-Type': FHIR, 'If-Match': 'W/"1"' })
        .send(JSON.stringify({ ...stored, performer: [{ reference: 'Practitioner/nobody' }] }));
      expect(put.status).toBe(422);
      expect(firstIssue(put.body)?.expression).toEqual(['Observation.performer[0]']);
      const patched = await request(suite.app)
        .patch(`/fhir/${obs}`)
        .set({ 'Content-Type': 'application/json-patch+json', 'If-Match': 'W/"1"' })
        .send(JSON.stringify([{ op: 'replace', path: '/subject/reference', value: `Patient/${gone}` }]));
      expect(patched.status).toBe(422);
      expect((await request(suite.app).get(`/fhir/${obs}`)).body).toMatchObject({
        meta: { versionId: '1' },
        subject: { reference: subject },
      });
    });

    it('versioned, absolute-here and contained references are checked as what they name; others are not', async () => {
      const { patient: subject } = await referenced();
      // Absolute URLs under the configured base are this server's.
      const base = HERE;
      for (const ref of [
        `${subject}/_history/1`,
        `${base}/${subject}`,
        'http://elsewhere.example/fhir/Patient/1',
      ]) {
        expect((await postHere('/fhir/Observation', observation(ref))).status, ref).toBe(201);
      }
      expect((await postHere('/fhir/Observation', observation(`${base}/Patient/never-stored`))).status).toBe(
        422,
      );
      // A versioned reference names that version: one the resource never had is missing.
      for (const version of ['2', 'x', '0']) {
        const res = await post('/fhir/Observation', observation(`${subject}/_history/${version}`));
        expect(res.status, version).toBe(422);
        expect(firstIssue(res.body)?.diagnostics).toBe(
          `store-ref-1: ${subject}/_history/${version} does not exist here; a reference must name a stored resource`,
        );
      }
      // One under this server's base is stored as the relative reference it is; one naming another
      // server names nothing here, even with the Type/id of a resource stored here.
      const absoluteHere = await postHere('/fhir/Observation', observation(`${base}/${subject}`));
      expect(absoluteHere.body.subject).toEqual({ reference: subject });
      const alone = `Patient/${(await post('/fhir/Patient', patient())).body.id}`;
      const foreign = await post('/fhir/Observation', observation(`http://elsewhere.example/fhir/${alone}`));
      expect(foreign.status).toBe(201);
      const matches = async (query: Record<string, string>) =>
        ((await request(here()).get('/fhir/Observation').query(query)).body as Bundle).entry?.map(
          (e) => e.resource?.id,
        ) ?? [];
      expect(await matches({ subject: alone })).toEqual([]);
      expect(await matches({ subject: `http://elsewhere.example/fhir/${alone}` })).toEqual([foreign.body.id]);
      // A search by an absolute URL under this server's base matches the relative references.
      expect(await matches({ subject: `${base}/${subject}` })).toContain(absoluteHere.body.id);
      expect((await request(suite.app).delete(`/fhir/${alone}`)).status).toBe(204);
      const inTransaction = await postHere('/fhir', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: observation(`${base}/${subject}`), request: { method: 'POST', url: 'Observation' } },
        ],
      });
      expect(inTransaction.body.entry[0].resource.subject).toEqual({ reference: subject });
      const withContained = await post('/fhir/Observation', {
        ...observation(subject),
        contained: [{ resourceType: 'Practitioner', id: 'p1', name: [{ family: 'Sisällä' }] }],
        performer: [{ reference: '#p1' }],
      });
      expect(withContained.status, withContained.text).toBe(201);
    });

    it('$validate with mode=create or update reports a missing target as the write would; without a mode it does not', async () => {
      const body = observation('Patient/never-stored');
      const issuesOf = async (query: string) =>
        ((await post(`/fhir/Observation/$validate${query}`, body)).body as OperationOutcome).issue ?? [];
      for (const query of ['?mode=create', '?mode=update']) {
        expect(await issuesOf(query), query).toContainEqual(
          expect.objectContaining({ severity: 'error', expression: ['Observation.subject'] }),
        );
      }
      const plain = await issuesOf('');
      expect(plain.some((i) => i.diagnostics?.startsWith('store-ref-1'))).toBe(false);
    });

    it('a transaction checks once every entry is written (a reference to another entry holds); a batch entry on its own', async () => {
      const tx = await post('/fhir', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:7f2c0a52-3b8e-4a8e-9d60-1f1f5b7d0c01',
            resource: observation('urn:uuid:7f2c0a52-3b8e-4a8e-9d60-1f1f5b7d0c02'),
            request: { method: 'POST', url: 'Observation' },
          },
          {
            fullUrl: 'urn:uuid:7f2c0a52-3b8e-4a8e-9d60-1f1f5b7d0c02',
            resource: patient(),
            request: { method: 'POST', url: 'Patient' },
          },
        ],
      });
      expect(tx.status, tx.text).toBe(200);
      const before = await count();
      const dangling = await post('/fhir', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: patient(), request: { method: 'POST', url: 'Patient' } },
          { resource: observation('Patient/never-stored'), request: { method: 'POST', url: 'Observation' } },
        ],
      });
      expect(dangling.status).toBe(422);
      expect(firstIssue(dangling.body)?.expression).toEqual(['Bundle.entry[1].resource.subject']);
      expect(await count()).toBe(before);
      const batch = await post('/fhir', {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { resource: observation('Patient/never-stored'), request: { method: 'POST', url: 'Observation' } },
          { resource: patient(), request: { method: 'POST', url: 'Patient' } },
        ],
      });
      expect(batch.status).toBe(200);
      expect(batch.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual([
        '422 Unprocessable Entity',
        '201 Created',
      ]);
      expect(batch.body.entry[0].response.outcome.issue[0].expression).toEqual(['Observation.subject']);
    });

    it("a reference left naming a Bundle entry (urn:uuid:, urn:oid:) names nothing stored: 422, also for a batch's entries, which may not depend on each other", async () => {
      const before = await count();
      const lone = await post(
        '/fhir/Observation',
        observation('urn:uuid:7f2c0a52-3b8e-4a8e-9d60-1f1f5b7d0c09'),
      );
      expect(lone.status).toBe(422);
      expect(firstIssue(lone.body)).toMatchObject({
        code: 'not-found',
        diagnostics:
          'store-ref-1: the reference names a Bundle entry (urn:uuid:, urn:oid:), and no Bundle resolves it here; a stored reference must name a stored resource',
        expression: ['Observation.subject'],
      });
      const unresolved = await post('/fhir', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: observation('urn:oid:1.2.246.10.1'), request: { method: 'POST', url: 'Observation' } },
        ],
      });
      expect(unresolved.status).toBe(422);
      expect(firstIssue(unresolved.body)?.expression).toEqual(['Bundle.entry[0].resource.subject']);
      const patientUrl = 'urn:uuid:7f2c0a52-3b8e-4a8e-9d60-1f1f5b7d0c0a';
      const batch = await post('/fhir', {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { fullUrl: patientUrl, resource: patient(), request: { method: 'POST', url: 'Patient' } },
          { resource: observation(patientUrl), request: { method: 'POST', url: 'Observation' } },
        ],
      });
      expect(batch.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual([
        '201 Created',
        '422 Unprocessable Entity',
      ]);
      expect(await count()).toBe(before);
    });
  });

  it('a refusal names the element and the rule but never quotes the value (the validator alone does)', async () => {
    const res = await post('/fhir/Patient', { ...patient(), birthDate: '1981-02-30' });
    expect(res.status).toBe(422);
    const errors = (res.body as OperationOutcome).issue?.filter((i) => i.severity === 'error');
    expect(errors).toEqual([
      expect.objectContaining({
        expression: ['Patient.birthDate'],
        diagnostics: "The value '…' is not a valid date (that month has 28 days)",
      }),
    ]);
    expect(JSON.stringify(res.body)).not.toContain('1981-02-30');
  });

  it('nor does a constraint that could not be evaluated, nor an unresolved narrative link, quote what it met', async () => {
    const { id: _id, ...maija } = JSON.parse(
      readFileSync(new URL('../../profiles/package/example/Patient-maija.json', import.meta.url), 'utf8'),
    );
    // Not HETU-shaped: the facade's last mask (HETUs in any outgoing text) would not catch these.
    const secret = 'Salainen Sukunimi';
    // A malformed HETU (an object where a string belongs): tyk-hetu-1's expression fails on it.
    maija.identifier[0].value = { value: secret };
    maija.text.div = `<div xmlns="http://www.w3.org/1999/xhtml"><a href="#${secret}">x</a></div>`;
    const res = await post('/fhir/Patient', maija);
    expect(res.status).toBe(422);
    const diagnostics = (res.body as OperationOutcome).issue.map((i) => i.diagnostics ?? '');
    expect(diagnostics).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^tyk-hetu-1: could not be evaluated \(the evaluator's message is left out/),
        expect.stringMatching(/^Narrative\.div: an internal link \(a href\) does not resolve/),
      ]),
    );
    expect(JSON.stringify(res.body)).not.toContain('Salainen');
  });

  it('an empty JSON array is refused on write (the validator alone only warns, as HL7), naming the element', async () => {
    const res = await post('/fhir/Patient', { ...patient(), telecom: [] });
    expect(res.status).toBe(422);
    const errors = (res.body as OperationOutcome).issue?.filter((i) => i.severity === 'error');
    expect(errors).toEqual([
      expect.objectContaining({
        expression: ['Patient.telecom'],
        diagnostics:
          'Patient.telecom: array cannot be empty - the property should not be present if it has no values',
      }),
    ]);
  });
});
