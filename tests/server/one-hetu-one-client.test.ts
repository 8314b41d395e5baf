// tyk-id-3: one person is one client here. A second Patient carrying a HETU another current Patient
// carries is a 409 naming the identifier — on a plain or conditional create, a batch or transaction
// entry, an update adding the HETU, the domain API — and two at once cannot both pass. The HETU and
// the other Patient are never quoted.
import type { Bundle, Patient } from '@medplum/fhirtypes';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { makeHetu } from '../../src/domain/index.ts';
import { appPerSuite, postFhir, uniqueUrn } from './helpers.ts';

const suite = appPerSuite({ strict: false });
const HETU = 'urn:oid:1.2.246.21';
let next = 100;
/** A HETU no test of this file has used. */
const freshHetu = () => makeHetu('1980-03-14', next++);

const patient = (hetu: string): Patient => ({
  resourceType: 'Patient',
  identifier: [
    { system: 'urn:ietf:rfc:3986', value: uniqueUrn() },
    { system: HETU, value: hetu },
  ],
  name: [{ family: 'Testinen' }],
});

const holders = async (hetu: string) =>
  (
    (
      await request(suite.app)
        .get('/fhir/Patient')
        .query({ identifier: `${HETU}|${hetu}` })
    ).body as Bundle
  ).entry?.length ?? 0;

function expectRefused(res: request.Response, expression: string, hetu: string): void {
  expect(res.status).toBe(409);
  const [issue] = res.body.issue;
  expect(issue.code).toBe('duplicate');
  expect(issue.expression).toEqual([expression]);
  expect(issue.diagnostics).toMatch(/tyk-id-3: another Patient carries this HETU/);
  expect(JSON.stringify(res.body)).not.toContain(hetu);
}

describe('tyk-id-3: one HETU, one Patient', () => {
  it('refuses a second Patient with the HETU, plain or conditional on another identifier; nothing stored', async () => {
    const hetu = freshHetu();
    expect((await postFhir(suite.app, '/fhir/Patient', patient(hetu))).status).toBe(201);
    expectRefused(await postFhir(suite.app, '/fhir/Patient', patient(hetu)), 'Patient.identifier[1]', hetu);
    const other = patient(hetu);
    const criteria = `identifier=urn:ietf:rfc:3986|${other.identifier![0]!.value}`;
    expectRefused(
      await postFhir(suite.app, '/fhir/Patient', other, { 'If-None-Exist': criteria }),
      'Patient.identifier[1]',
      hetu,
    );
    expect(await holders(hetu)).toBe(1);
  });

  it('refuses it as a transaction entry (whole transaction), as a batch entry (that entry), and twice in one transaction', async () => {
    const hetu = freshHetu();
    expect((await postFhir(suite.app, '/fhir/Patient', patient(hetu))).status).toBe(201);
    const transaction = await postFhir(suite.app, '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: patient(freshHetu()), request: { method: 'POST', url: 'Patient' } },
        { resource: patient(hetu), request: { method: 'POST', url: 'Patient' } },
      ],
    });
    expectRefused(transaction, 'Bundle.entry[1].resource.identifier[1]', hetu);
    const batch = await postFhir(suite.app, '/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ resource: patient(hetu), request: { method: 'POST', url: 'Patient' } }],
    });
    expect(batch.status).toBe(200);
    expect(batch.body.entry[0].response.status).toMatch(/^409/);
    const twice = freshHetu();
    const both = await postFhir(suite.app, '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: patient(twice), request: { method: 'POST', url: 'Patient' } },
        { resource: patient(twice), request: { method: 'POST', url: 'Patient' } },
      ],
    });
    expect(both.status).toBe(409);
    expect(await holders(hetu)).toBe(1);
    expect(await holders(twice)).toBe(0);
  });

  it('refuses an update that gives another Patient the HETU; the holder updates freely', async () => {
    const hetu = freshHetu();
    const holder = (await postFhir(suite.app, '/fhir/Patient', patient(hetu))).body as Patient;
    const other = (await postFhir(suite.app, '/fhir/Patient', patient(freshHetu()))).body as Patient;
    const taken = { ...other, identifier: [other.identifier![0]!, { system: HETU, value: hetu }] };
    const put = await request(suite.app)
      .put(`/fhir/Patient/${other.id}`)
      .set({ 'Content-Type': 'application/fhir+json', 'If-Match': 'W/"1"' })
      .send(JSON.stringify(taken));
    expectRefused(put, 'Patient.identifier[1]', hetu);
    const renamed = await request(suite.app)
      .put(`/fhir/Patient/${holder.id}`)
      .set({ 'Content-Type': 'application/fhir+json', 'If-Match': 'W/"1"' })
      .send(JSON.stringify({ ...holder, name: [{ family: 'Uusinimi' }] }));
    expect(renamed.status).toBe(200);
  });

  it('a pair a store holds from before the rule updates as before, and no update makes a new pair', async () => {
    const hetu = freshHetu();
    // Written straight into the store, as a store made before the rule may hold them.
    const [a, b] = await Promise.all([
      suite.fx.store.create(patient(hetu)),
      suite.fx.store.create(patient(hetu)),
    ]);
    expect(await holders(hetu)).toBe(2);
    const renamed = await request(suite.app)
      .put(`/fhir/Patient/${a.resource.id}`)
      .set({ 'Content-Type': 'application/fhir+json', 'If-Match': 'W/"1"' })
      .send(JSON.stringify({ ...a.resource, name: [{ family: 'Uusinimi' }] }));
    expect(renamed.status).toBe(200);
    const third = (await postFhir(suite.app, '/fhir/Patient', patient(freshHetu()))).body as Patient;
    const joined = await request(suite.app)
      .put(`/fhir/Patient/${third.id}`)
      .set({ 'Content-Type': 'application/fhir+json', 'If-Match': 'W/"1"' })
      .send(JSON.stringify({ ...third, identifier: [third.identifier![0]!, { system: HETU, value: hetu }] }));
    expectRefused(joined, 'Patient.identifier[1]', hetu);
    expect(b.created).toBe(true);
  });

  it('lets one of six concurrent creates of one new HETU through', async () => {
    const hetu = freshHetu();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => postFhir(suite.app, '/fhir/Patient', patient(hetu))),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    expect(await holders(hetu)).toBe(1);
  });

  it('refuses a domain API client with another id and the same HETU', async () => {
    const hetu = freshHetu();
    const post = (id: string) =>
      request(suite.app)
        .post('/api/clients')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ id, hetu, name: { family: 'Testinen', given: ['Testi'] } }));
    expect((await post('hetu-first')).status).toBe(201);
    const second = await post('hetu-second');
    expect(second.status).toBe(409);
    expect(second.body.issue[0].diagnostics).toMatch(/tyk-id-3/);
    expect(JSON.stringify(second.body)).not.toContain(hetu);
    // The same client again is the idempotent write it was.
    expect((await post('hetu-first')).status).toBe(200);
  });
});
