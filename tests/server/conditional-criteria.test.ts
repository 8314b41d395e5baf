// A conditional create's identifier criteria are read as the store's search reads them (`,` separates
// alternatives, `\,` is a comma in the value): every alternative must be an identifier the resource
// itself carries (fhir-cond-1), or the criteria could match someone else's resource and the answer
// would show it. A conditional update's identifier is matched exactly, commas and all.
import type { OperationOutcome, Patient } from '@medplum/fhirtypes';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { appPerSuite, uniqueUrn } from './helpers.ts';

const FHIR = 'application/fhir+json';
const ID = 'urn:ietf:rfc:3986';
const suite = appPerSuite({ strict: false });

const post = (body: unknown, ifNoneExist: string) =>
  request(suite.app)
    .post('/fhir/Patient')
    .set({ 'Content-Type': FHIR, 'If-None-Exist': ifNoneExist })
    .send(JSON.stringify(body));

const firstIssue = (body: OperationOutcome) => body.issue?.[0];

const patient = (identifier: Patient['identifier']): Patient => ({
  resourceType: 'Patient',
  identifier,
  name: [{ family: 'Criteria' }],
});

describe('conditional criteria naming the resource own identifier', () => {
  it('an alternative the body does not carry is refused, and nothing of the matching resource is shown', async () => {
    const victim = uniqueUrn();
    const stored = await request(suite.app)
      .post('/fhir/Patient')
      .set('Content-Type', FHIR)
      .send(JSON.stringify(patient([{ system: ID, value: victim }])));
    expect(stored.status).toBe(201);
    // One identifier whose value, read as one literal, is the whole criteria after the bar.
    const res = await post(
      patient([{ system: 'http://x', value: `1,${ID}|${victim}` }]),
      `identifier=http://x|1,${ID}|${victim}`,
    );
    expect(res.status).toBe(400);
    expect(firstIssue(res.body)?.expression).toEqual(['Patient.identifier']);
    expect(firstIssue(res.body)?.diagnostics).toMatch(/^fhir-cond-1: /);
    expect(JSON.stringify(res.body)).not.toContain(stored.body.id);
    // A conditional update (PUT Type?identifier=…) matches its identifier exactly, commas and all: it
    // creates a resource of its own, and neither matches nor shows the other.
    const put = await request(suite.app)
      .put(`/fhir/Patient?identifier=${encodeURIComponent(`http://x|1,${ID}|${victim}`)}`)
      .set('Content-Type', FHIR)
      .send(JSON.stringify(patient([{ system: 'http://x', value: `1,${ID}|${victim}` }])));
    expect(put.status).toBe(201);
    expect(JSON.stringify(put.body)).not.toContain(stored.body.id);
  });

  it('alternatives that are all the body own identifiers are taken', async () => {
    const [a, b] = [uniqueUrn(), uniqueUrn()];
    const body = patient([
      { system: ID, value: a },
      { system: 'urn:local', value: b },
    ]);
    const first = await post(body, `identifier=${ID}|${a},urn:local|${b}`);
    expect(first.status).toBe(201);
    const again = await post(body, `identifier=urn:local|${b},${ID}|${a}`);
    expect([again.status, again.body.id]).toEqual([200, first.body.id]);
  });

  it('an escaped comma is a comma of the value: taken, and a retry finds the first', async () => {
    const value = `${uniqueUrn()},2`;
    const body = patient([{ system: 'urn:local', value }]);
    const criteria = `identifier=urn:local|${value.replace(',', '\\,')}`;
    const first = await post(body, criteria);
    expect(first.status).toBe(201);
    const again = await post(body, criteria);
    expect([again.status, again.body.id]).toEqual([200, first.body.id]);
    // A conditional update names the identifier exactly (no escapes): the same resource.
    const put = await request(suite.app)
      .put(`/fhir/Patient?identifier=${encodeURIComponent(`urn:local|${value}`)}`)
      .set({ 'Content-Type': FHIR, 'If-Match': 'W/"1"' })
      .send(JSON.stringify({ ...body, active: true }));
    expect([put.status, put.body.id]).toEqual([200, first.body.id]);
  });
});

describe('a transaction whose conditional creates name one identifier under different criteria', () => {
  it('is refused before any work (400 naming the second entry), so it cannot create the resource twice', async () => {
    const [a, b] = [uniqueUrn(), uniqueUrn()];
    const entry = (criteria: string) => ({
      resource: patient([
        { system: ID, value: a },
        { system: ID, value: b },
      ]),
      request: { method: 'POST', url: 'Patient', ifNoneExist: criteria },
    });
    const res = await request(suite.app)
      .post('/fhir')
      .set('Content-Type', FHIR)
      .send(
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [entry(`identifier=${ID}|${a}`), entry(`identifier=${ID}|${a},${ID}|${b}`)],
        }),
      );
    expect(res.status).toBe(400);
    expect(firstIssue(res.body)?.expression).toEqual(['Bundle.entry[1].request.ifNoneExist']);
    const found = await request(suite.app).get(
      `/fhir/Patient?identifier=${encodeURIComponent(`${ID}|${a}`)}`,
    );
    expect(found.body.total ?? found.body.entry?.length ?? 0).toBe(0);
  });
});
