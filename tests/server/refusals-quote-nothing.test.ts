// What a refusal of a malformed request names: the element (a FHIRPath on what was sent — the resource,
// or the Bundle entry holding it) and the rule, never the value sent. Every value planted here carries
// MARK: an id, a resource type, a version id, a fullUrl, a path segment; none may come back, in FHIR
// mode (Kanta PHR mode: tests/kanta/search-refusal-outcome.test.ts). And the store's 412s name their rule key.
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { appPerSuite, localPractitioner, practitioner, uniqueUrn } from './helpers.ts';

const FHIR = 'application/fhir+json';
const MARK = 'SuviVirtanen';

const suite = appPerSuite({ strict: false });

const send = (method: 'post' | 'put', path: string, body: unknown, headers: Record<string, string> = {}) =>
  request(suite.app)
    [method](path)
    .set({ 'Content-Type': FHIR, ...headers })
    .send(JSON.stringify(body));

/** The one issue of a refusal, checked to quote nothing planted. */
function refusal(
  res: { status: number; body: unknown; text: string },
  status: number,
): OperationOutcomeIssue {
  expect(res.status).toBe(status);
  expect(res.text).not.toContain('Suvi');
  const oo = res.body as OperationOutcome;
  expect(oo.resourceType).toBe('OperationOutcome');
  return oo.issue?.[0] as OperationOutcomeIssue;
}

const transaction = (entry: unknown[]) => ({ resourceType: 'Bundle', type: 'transaction', entry });

describe('a resource of another type than its URL names is refused at its resourceType', () => {
  it('PUT Patient/x with an Observation: resourceType, not Observation.resourceType', async () => {
    const res = await send('put', '/fhir/Patient/some-id', { resourceType: 'Observation', id: 'some-id' });
    expect(refusal(res, 400)).toMatchObject({ code: 'invalid', expression: ['resourceType'] });
  });

  it('a transaction entry POSTing a Patient to Observation: Bundle.entry[0].resource.resourceType', async () => {
    const res = await send(
      'post',
      '/fhir',
      transaction([
        { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Observation' } },
      ]),
    );
    expect(refusal(res, 400)).toMatchObject({
      code: 'invalid',
      expression: ['Bundle.entry[0].resource.resourceType'],
    });
  });

  it('a batch entry PUTting an Observation to Patient/x: Bundle.entry[1].resource.resourceType', async () => {
    const res = await send('post', '/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: practitioner(), request: { method: 'POST', url: 'Practitioner' } },
        { resource: { resourceType: 'Observation', id: 'x' }, request: { method: 'PUT', url: 'Patient/x' } },
      ],
    });
    expect(res.status).toBe(200);
    const answer = res.body.entry[1].response;
    expect(answer.status).toMatch(/^400/);
    expect(answer.outcome.issue[0]).toMatchObject({
      code: 'invalid',
      expression: ['Bundle.entry[1].resource.resourceType'],
    });
  });
});

describe('refusals of malformed requests quote nothing sent', () => {
  it('a resourceType that is no type: named, not quoted', async () => {
    const res = await send('post', '/fhir/Patient', { resourceType: MARK });
    expect(refusal(res, 400)).toMatchObject({ code: 'invalid', expression: ['resourceType'] });
  });

  it('a malformed id in the body', async () => {
    const res = await send('post', '/fhir/Practitioner', { ...practitioner(), id: `Suvi Virtanen` });
    expect(refusal(res, 400)).toMatchObject({ code: 'invalid', expression: ['Practitioner.id'] });
  });

  it('a malformed id in the URL (read, and a transaction entry naming it at its request.url)', async () => {
    const read = await request(suite.app).get('/fhir/Practitioner/Suvi%20Virtanen');
    expect(refusal(read, 400)).toMatchObject({ code: 'invalid', expression: ['Practitioner.id'] });
    const entry = await send(
      'post',
      '/fhir',
      transaction([
        { resource: practitioner(), request: { method: 'PUT', url: 'Practitioner/Suvi%20Virtanen' } },
      ]),
    );
    expect(refusal(entry, 400)).toMatchObject({
      code: 'invalid',
      expression: ['Bundle.entry[0].request.url'],
    });
  });

  it('a lenient search ignoring a parameter named with a HETU warns with it masked', async () => {
    const res = await request(suite.app)
      .get('/fhir/Patient?identifier%3D010181-900C=1&other-010181-900C=2')
      .set('Prefer', 'handling=lenient');
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('010181-900C');
    const outcome = res.body.entry.find((e: any) => e.resource.resourceType === 'OperationOutcome');
    expect(outcome.resource.issue.map((i: OperationOutcomeIssue) => i.expression)).toEqual([
      ['identifier=[HETU]'],
      ['other-[HETU]'],
    ]);
  });

  it('a malformed version id in the URL', async () => {
    const res = await request(suite.app).get('/fhir/Practitioner/some-id/_history/Suvi%20Virtanen');
    expect(refusal(res, 400)).toMatchObject({ code: 'invalid', expression: ['Practitioner.meta.versionId'] });
  });

  it("a PUT whose resource id is missing or is not the URL's", async () => {
    const missing = await send('put', `/fhir/Practitioner/${MARK}1`, practitioner());
    expect(refusal(missing, 400)).toMatchObject({ code: 'invalid', expression: ['Practitioner.id'] });
    const other = await send('put', `/fhir/Practitioner/${MARK}1`, { ...practitioner(), id: `${MARK}2` });
    expect(refusal(other, 400)).toMatchObject({ code: 'invalid', expression: ['Practitioner.id'] });
  });

  it('$validate on an instance with a resource of another id', async () => {
    const res = await send('post', `/fhir/Practitioner/${MARK}1/$validate`, {
      ...practitioner(),
      id: `${MARK}2`,
    });
    expect(refusal(res, 400)).toMatchObject({ code: 'invalid', expression: ['Practitioner.id'] });
  });

  it('a type in the URL this server does not have', async () => {
    const res = await request(suite.app).get(`/fhir/${MARK}`);
    expect(refusal(res, 404)).toMatchObject({ code: 'not-supported' });
    const everything = await request(suite.app).get(`/fhir/${MARK}/x/$everything`);
    expect(refusal(everything, 404)).toMatchObject({ code: 'not-supported' });
  });

  it('a path with no interaction, and a method a path does not take', async () => {
    const none = await request(suite.app).get(`/fhir/Practitioner/${MARK}/x/y/z`);
    expect(refusal(none, 404)).toMatchObject({ code: 'not-found' });
    const method = await request(suite.app)
      .post(`/fhir/Practitioner/${MARK}/_history`)
      .set('Content-Type', FHIR)
      .send('{}');
    expect(refusal(method, 405)).toMatchObject({ code: 'not-supported' });
  });

  it("a conditional update's If-Match that cannot hold", async () => {
    const body = practitioner();
    const [{ system, value }] = body.identifier as [{ system: string; value: string }];
    const res = await send(
      'put',
      `/fhir/Practitioner?identifier=${encodeURIComponent(`${system}|${value}`)}`,
      body,
      {
        'If-Match': 'W/"7123"',
      },
    );
    const found = refusal(res, 412);
    expect(found).toMatchObject({ code: 'conflict', expression: ['If-Match'] });
    expect(found.diagnostics).not.toContain('7123');
  });

  it('a transaction changing one id twice, repeating a fullUrl, or pointing at no fullUrl', async () => {
    const twice = await send(
      'post',
      '/fhir',
      transaction([
        { request: { method: 'DELETE', url: `Practitioner/${MARK}` } },
        { request: { method: 'DELETE', url: `Practitioner/${MARK}` } },
      ]),
    );
    expect(refusal(twice, 400)).toMatchObject({
      code: 'duplicate',
      expression: ['Bundle.entry[1].request.url'],
    });
    const fullUrl = `urn:uuid:${MARK}`;
    const repeated = await send(
      'post',
      '/fhir',
      transaction([
        { fullUrl, resource: practitioner(), request: { method: 'POST', url: 'Practitioner' } },
        { fullUrl, resource: practitioner(), request: { method: 'POST', url: 'Practitioner' } },
      ]),
    );
    expect(refusal(repeated, 400)).toMatchObject({
      code: 'duplicate',
      expression: ['Bundle.entry[1].fullUrl'],
    });
    const dangling = await send(
      'post',
      '/fhir',
      transaction([
        {
          resource: {
            resourceType: 'PractitionerRole',
            identifier: [{ system: 'urn:ietf:rfc:3986', value: uniqueUrn() }],
            practitioner: { reference: `urn:uuid:${MARK}` },
          },
          request: { method: 'POST', url: 'PractitionerRole' },
        },
      ]),
    );
    expect(refusal(dangling, 400)).toMatchObject({
      code: 'not-found',
      expression: ['Bundle.entry[0].resource.practitioner'],
    });
  });
});

describe("the store's 412s name their rule", () => {
  it('store-version-1: a stale If-Match, at the resource version it names', async () => {
    const made = await send('post', '/fhir/Practitioner', practitioner());
    const id = made.body.id as string;
    const res = await send(
      'put',
      `/fhir/Practitioner/${id}`,
      { ...made.body, active: true },
      { 'If-Match': 'W/"5"' },
    );
    const found = refusal(res, 412);
    expect(found).toMatchObject({ code: 'conflict', expression: ['Practitioner.meta.versionId'] });
    expect(found.diagnostics).toMatch(/^store-version-1: /);
  });

  it('store-cond-1: a conditional create matching more than one, at If-None-Exist', async () => {
    const body = localPractitioner();
    const [{ system, value }] = body.identifier as [{ system: string; value: string }];
    for (let i = 0; i < 2; i++) expect((await send('post', '/fhir/Practitioner', body)).status).toBe(201);
    const res = await send('post', '/fhir/Practitioner', body, {
      'If-None-Exist': `identifier=${system}|${value}`,
    });
    const found = refusal(res, 412);
    expect(found).toMatchObject({ code: 'multiple-matches', expression: ['If-None-Exist'] });
    expect(found.diagnostics).toMatch(/^store-cond-1: /);
  });
});
