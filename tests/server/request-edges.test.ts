// The REST edges a client meets by sending something slightly off: a reference whose id is not a FHIR
// id, an If-Match that is not one entity tag, a value it typed into a parameter (never quoted back),
// an operation at the wrong level or of an unknown name, a PATCH's answer and its refusals.
import { readFileSync } from 'node:fs';
import type { Bundle, OperationOutcome, Practitioner, Resource } from '@medplum/fhirtypes';
import type express from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, openFixture, practitioner, uniqueUrn } from './helpers.ts';

const FHIR = 'application/fhir+json';
let fx: Fixture;
/** Strict mode, as `tyokyky serve` runs: the example score is written as a sender would write it. */
let strict: express.Express;
let app: express.Express;
let patientId: string;

beforeAll(async () => {
  fx = await openFixture();
  strict = fx.app({ strict: true });
  app = fx.app({ strict: false });
  // Stored directly: the test is about the Observation's references, not about a profiled Patient.
  patientId = (await fx.store.create({ resourceType: 'Patient', active: true } as Resource)).resource
    .id as string;
}, 60_000);
afterAll(async () => fx?.close());

const post = (on: express.Express, path: string, body: unknown, headers: Record<string, string> = {}) =>
  request(on)
    .post(path)
    .set({ 'Content-Type': FHIR, ...headers })
    .send(typeof body === 'string' ? body : JSON.stringify(body));
const issues = (body: OperationOutcome) => {
  expect(body.resourceType).toBe('OperationOutcome');
  return body.issue ?? [];
};
const score = () => {
  const s = JSON.parse(readFileSync('examples/rest/score.json', 'utf8'));
  s.identifier[0].value = uniqueUrn();
  s.subject.reference = `Patient/${patientId}`;
  return s;
};
const NOT_AN_ID =
  "store-ref-1: a reference to a Patient here is Patient/[id] (or Patient/[id]/_history/[vid]), an id being 1 to 64 letters, digits, '-' and '.'; this one names no stored resource";

describe('a reference to a type stored here whose id is not a FHIR id', () => {
  it('is refused (422 store-ref-1 at the element), as a reference to a missing resource is', async () => {
    for (const ref of [
      'Patient/PATIENT_ID',
      `Patient/${patientId}/_history/x_1`,
      'Patient/',
      'Patient/a/b',
    ]) {
      const s = score();
      s.performer[0].reference = ref;
      const res = await post(strict, '/fhir/Observation', s);
      expect([ref, res.status]).toEqual([ref, 422]);
      expect(issues(res.body)).toEqual([
        expect.objectContaining({
          severity: 'error',
          code: 'invalid',
          diagnostics: NOT_AN_ID,
          expression: ['Observation.performer[0]'],
        }),
      ]);
      expect(res.text).not.toContain('PATIENT_ID');
    }
    const missing = score();
    missing.performer[0].reference = 'Patient/nonexistent';
    expect((await post(strict, '/fhir/Observation', missing)).status).toBe(422);
    const fine = score();
    fine.performer[0].reference = `Patient/${patientId}`;
    expect((await post(strict, '/fhir/Observation', fine)).status).toBe(201);
  });

  it('$validate mode=create reports it as the write would; a transaction refuses it at the entry', async () => {
    const s = score();
    s.performer[0].reference = 'Patient/PATIENT_ID';
    const validated = await post(strict, '/fhir/Observation/$validate?mode=create', s);
    expect(validated.status).toBe(200);
    expect(issues(validated.body)).toContainEqual(
      expect.objectContaining({
        severity: 'error',
        diagnostics: NOT_AN_ID,
        expression: ['Observation.performer[0]'],
      }),
    );
    const tx = await post(strict, '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: s, request: { method: 'POST', url: 'Observation' } }],
    });
    expect(tx.status).toBe(422);
    expect(issues(tx.body)[0]).toMatchObject({
      diagnostics: NOT_AN_ID,
      expression: ['Bundle.entry[0].resource.performer[0]'],
    });
  });
});

describe('If-Match: one entity tag naming a version', () => {
  const IF_MATCH = 'If-Match must be one entity tag naming a version, W/"<versionId>" (or "<versionId>")';
  const created = async () => (await post(app, '/fhir/Practitioner', practitioner())).body as Practitioner;

  it('W/"n" and "n" are read; bare 1, W/1, an unbalanced quote, a list and * are 400 naming If-Match', async () => {
    const p = await created();
    const put = (ifMatch: string) =>
      request(app)
        .put(`/fhir/Practitioner/${p.id}`)
        .set({ 'Content-Type': FHIR, 'If-Match': ifMatch })
        .send(JSON.stringify(p));
    for (const bad of ['1', 'W/1', '"1', 'W/"1', '1"', '*', '"1", W/"2"', 'W/"1", W/"1"']) {
      const res = await put(bad);
      expect([bad, res.status]).toEqual([bad, 400]);
      expect(issues(res.body)).toEqual([
        expect.objectContaining({ code: 'invalid', diagnostics: IF_MATCH, expression: ['If-Match'] }),
      ]);
    }
    expect((await put('W/"1"')).status).toBe(200);
    expect((await put('"1"')).status).toBe(200);
  });

  it('PATCH, DELETE, a conditional update and a Bundle entry read it by the same rule', async () => {
    const p = await created();
    const patch = await request(app)
      .patch(`/fhir/Practitioner/${p.id}`)
      .set({ 'Content-Type': 'application/json-patch+json', 'If-Match': '1' })
      .send(JSON.stringify([{ op: 'add', path: '/active', value: true }]));
    expect(patch.status).toBe(400);
    expect(issues(patch.body)[0]).toMatchObject({ diagnostics: IF_MATCH, expression: ['If-Match'] });
    const del = await request(app).delete(`/fhir/Practitioner/${p.id}`).set('If-Match', 'W/1');
    expect(del.status).toBe(400);
    expect(issues(del.body)[0]).toMatchObject({ diagnostics: IF_MATCH, expression: ['If-Match'] });
    const identifier = p.identifier?.[0];
    const conditional = await request(app)
      .put(`/fhir/Practitioner?identifier=${identifier?.system}|${identifier?.value}`)
      .set({ 'Content-Type': FHIR, 'If-Match': '*' })
      .send(JSON.stringify(p));
    expect(conditional.status).toBe(400);
    expect(issues(conditional.body)[0]).toMatchObject({ diagnostics: IF_MATCH, expression: ['If-Match'] });
    const tx = await post(app, '/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ request: { method: 'DELETE', url: `Practitioner/${p.id}`, ifMatch: '1' } }],
    });
    expect(tx.status).toBe(200);
    const entry = (tx.body as Bundle).entry?.[0];
    expect(entry?.response?.status).toMatch(/^400/);
    expect(issues(entry?.response?.outcome as OperationOutcome)[0]).toMatchObject({
      diagnostics: `entry[0]: ${IF_MATCH}`,
      expression: ['Bundle.entry[0].request.ifMatch'],
    });
    // Nothing of the above changed it.
    expect((await request(app).get(`/fhir/Practitioner/${p.id}`)).body.meta.versionId).toBe('1');
  });
});

describe('what a client typed into a parameter is not quoted back', () => {
  const NAME = 'Suvi Virtanen';

  it('_since, Bundle.type and the $validate mode name the parameter and the form expected', async () => {
    const since = '_since must be an instant such as 2025-01-31T12:00:00Z';
    for (const path of [
      '/fhir/_history',
      '/fhir/Practitioner/_history',
      `/fhir/Patient/${patientId}/$everything`,
    ]) {
      const res = await request(app).get(path).query({ _since: NAME });
      expect([path, res.status]).toEqual([path, 400]);
      expect(issues(res.body)).toEqual([
        expect.objectContaining({ diagnostics: since, expression: ['_since'] }),
      ]);
    }
    const bundle = await post(app, '/fhir', { resourceType: 'Bundle', type: NAME });
    expect(bundle.status).toBe(400);
    expect(issues(bundle.body)).toEqual([
      expect.objectContaining({
        diagnostics: 'Bundle.type must be transaction or batch',
        expression: ['Bundle.type'],
      }),
    ]);
    const validate = await post(
      app,
      `/fhir/Practitioner/$validate?mode=${encodeURIComponent(NAME)}`,
      practitioner(),
    );
    expect(validate.status).toBe(400);
    expect(issues(validate.body)).toEqual([
      expect.objectContaining({
        diagnostics: '$validate mode must be one of create, update, delete, profile',
        expression: ['mode'],
      }),
    ]);
    const segment = await request(app).get('/fhir/Patient/Suvi%E0%A4Virtanen');
    expect(segment.status).toBe(400);
    expect(issues(segment.body)[0].diagnostics).toBe('Malformed percent-encoding in the URL path');
    for (const res of [bundle, validate, segment]) expect(res.text).not.toContain('Virtanen');
  });
});

describe('operations: POST where R4 allows it, the level and the name checked', () => {
  const ids = (body: Bundle) =>
    (body.entry ?? []).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`).sort();

  it('POST Patient/[id]/$everything answers as GET does, its parameters from a Parameters body, a form or the URL', async () => {
    const obs = await post(app, '/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: `Patient/${patientId}` },
      effectiveDateTime: '2025-05-01',
    });
    expect(obs.status).toBe(201);
    const path = `/fhir/Patient/${patientId}/$everything`;
    const viaGet = await request(app).get(path).query({ _type: 'Patient,Observation', start: '2025' });
    expect(viaGet.status).toBe(200);
    expect(ids(viaGet.body)).toContain(`Observation/${obs.body.id}`);
    const bare = await request(app).post(path);
    expect(bare.status).toBe(200);
    expect(ids(bare.body)).toEqual(ids((await request(app).get(path)).body));
    const parameters = await post(app, path, {
      resourceType: 'Parameters',
      parameter: [
        { name: '_type', valueCode: 'Patient,Observation' },
        { name: 'start', valueDate: '2025' },
      ],
    });
    expect(parameters.status, parameters.text).toBe(200);
    expect(ids(parameters.body)).toEqual(ids(viaGet.body));
    const form = await request(app)
      .post(`${path}?start=2025`)
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('_type=Patient,Observation');
    expect(form.status).toBe(200);
    expect(ids(form.body)).toEqual(ids(viaGet.body));
    const wrongMedia = await request(app).post(path).set('Content-Type', 'text/plain').send('x');
    expect(wrongMedia.status).toBe(415);
    expect(issues(wrongMedia.body)[0].diagnostics).toBe(
      'POST $everything takes a Parameters resource (application/fhir+json) or application/x-www-form-urlencoded parameters',
    );
    const notParameters = await post(app, path, { resourceType: 'Patient' });
    expect(notParameters.status).toBe(400);
    expect(issues(notParameters.body)[0]).toMatchObject({
      diagnostics: 'POST $everything takes its parameters in a Parameters resource',
      expression: ['Parameters'],
    });
    const notValue = await post(app, path, {
      resourceType: 'Parameters',
      parameter: [{ name: 'start', resource: { resourceType: 'Patient' } }],
    });
    expect(notValue.status).toBe(400);
    expect(issues(notValue.body)[0]).toMatchObject({
      diagnostics: 'POST $everything: each parameter has a name and a primitive value[x]',
      expression: ['Parameters.parameter[0]'],
    });
  });

  it('an operation at a level it is not defined on is 400 naming its level, an unknown one 404', async () => {
    for (const [method, path] of [
      ['GET', '/fhir/Patient/$everything'],
      ['POST', '/fhir/Patient/$everything'],
      ['GET', '/fhir/$everything'],
    ] as const) {
      const res = await request(app)[method === 'GET' ? 'get' : 'post'](path);
      expect([method, path, res.status]).toEqual([method, path, 400]);
      expect(issues(res.body)).toEqual([
        expect.objectContaining({
          code: 'not-supported',
          diagnostics: '$everything is an instance operation here: [type]/[id]/$everything',
        }),
      ]);
    }
    for (const [method, path] of [
      ['POST', '/fhir/Observation/$foo'],
      ['GET', '/fhir/Observation/$foo'],
      ['DELETE', '/fhir/Observation/$foo'],
      ['GET', `/fhir/Patient/${patientId}/$foo`],
      ['POST', '/fhir/$foo'],
    ] as const) {
      const res = await request(app)[method.toLowerCase() as 'get' | 'post' | 'delete'](path);
      expect([method, path, res.status]).toEqual([method, path, 404]);
      expect(res.headers.allow).toBeUndefined();
      expect(issues(res.body)).toEqual([
        expect.objectContaining({ code: 'not-supported', diagnostics: 'Unknown operation $foo' }),
      ]);
    }
    const odd = await request(app).get('/fhir/Observation/$Suvi%20Virtanen');
    expect(odd.status).toBe(404);
    expect(issues(odd.body)[0].diagnostics).toBe('Unknown operation');
    // The operations this server has still answer where they are defined.
    const validate = await post(app, '/fhir/Practitioner/$validate', practitioner());
    expect(validate.status).toBe(200);
    const getValidate = await request(app).get('/fhir/Practitioner/$validate');
    expect(getValidate.status).toBe(405);
    expect(getValidate.headers.allow).toBe('POST');
  });
});

describe('PATCH answers as PUT does', () => {
  it('Prefer: return=minimal carries Location, as a PUT does', async () => {
    const p = (await post(app, '/fhir/Practitioner', practitioner())).body as Resource;
    const res = await request(app)
      .patch(`/fhir/Practitioner/${p.id}`)
      .set({ 'Content-Type': 'application/json-patch+json', 'If-Match': 'W/"1"', Prefer: 'return=minimal' })
      .send(JSON.stringify([{ op: 'add', path: '/active', value: true }]));
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect(res.headers.location).toMatch(new RegExp(`/fhir/Practitioner/${p.id}/_history/2$`));
    const put = await request(app)
      .put(`/fhir/Practitioner/${p.id}`)
      .set({ 'Content-Type': FHIR, 'If-Match': 'W/"2"', Prefer: 'return=minimal' })
      .send(JSON.stringify({ ...p, active: false }));
    expect(put.headers.location).toMatch(new RegExp(`/fhir/Practitioner/${p.id}/_history/3$`));
  });

  it('an operation that does not fit names the element its path names (fhir-patch-2)', async () => {
    const obs = await post(app, '/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: `Patient/${patientId}` },
    });
    const res = await request(app)
      .patch(`/fhir/Observation/${obs.body.id}`)
      .set({ 'Content-Type': 'application/json-patch+json', 'If-Match': 'W/"1"' })
      .send(JSON.stringify([{ op: 'replace', path: '/valueInteger', value: 3 }]));
    expect(res.status).toBe(422);
    expect(issues(res.body)).toEqual([
      expect.objectContaining({
        code: 'processing',
        diagnostics:
          'fhir-patch-2: JSON Patch operation 0 (replace /valueInteger) names a path the resource does not have',
        expression: ['Observation.valueInteger'],
      }),
    ]);
  });
});
