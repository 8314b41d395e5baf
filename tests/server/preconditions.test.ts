// RFC 9110 §13.1 preconditions the facade evaluates or refuses, never ignores: If-Match on a read
// (412 when it names no tag of the current version), If-None-Match on a write (400: the conditional
// writes here are If-Match and If-None-Exist). Nothing is written by a refused write.
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { appPerSuite, localPractitioner, postFhir } from './helpers.ts';

const suite = appPerSuite({ strict: false });
const FHIR = 'application/fhir+json';

/** A Practitioner at version 2; its id. */
async function twice(): Promise<string> {
  const made = await postFhir(suite.app, '/fhir/Practitioner', localPractitioner());
  const id = made.body.id as string;
  const put = await request(suite.app)
    .put(`/fhir/Practitioner/${id}`)
    .set({ 'Content-Type': FHIR, 'If-Match': 'W/"1"' })
    .send(JSON.stringify({ ...made.body, active: true }));
  expect(put.status).toBe(200);
  return id;
}

const versionOf = async (id: string) =>
  (await request(suite.app).get(`/fhir/Practitioner/${id}`)).body.meta.versionId as string;

describe('If-Match on a read', () => {
  it('is 412 naming If-Match when it names an older version, 200 for the current one or *', async () => {
    const id = await twice();
    const stale = await request(suite.app).get(`/fhir/Practitioner/${id}`).set('If-Match', 'W/"1"');
    expect(stale.status).toBe(412);
    expect(stale.body.issue[0]).toMatchObject({ code: 'conflict', expression: ['If-Match'] });
    expect(stale.body.issue[0].diagnostics).toBe(
      'If-Match names no tag of the current version of this resource',
    );
    for (const tag of ['W/"2"', '"2"', '*', 'W/"1", W/"2"'])
      expect(
        (await request(suite.app).get(`/fhir/Practitioner/${id}`).set('If-Match', tag)).status,
        tag,
      ).toBe(200);
    const vread = await request(suite.app)
      .get(`/fhir/Practitioner/${id}/_history/1`)
      .set('If-Match', 'W/"2"');
    expect(vread.status).toBe(412);
  });
});

describe('If-None-Match on a write', () => {
  it('is 400 naming If-None-Match on PUT, PATCH and DELETE; nothing written', async () => {
    const id = await twice();
    const url = `/fhir/Practitioner/${id}`;
    const current = (await request(suite.app).get(url)).body;
    const answers = [
      await request(suite.app)
        .put(url)
        .set({ 'Content-Type': FHIR, 'If-Match': 'W/"2"', 'If-None-Match': '*' })
        .send(JSON.stringify({ ...current, active: false })),
      await request(suite.app)
        .patch(url)
        .set({ 'Content-Type': 'application/json-patch+json', 'If-Match': 'W/"2"', 'If-None-Match': 'W/"2"' })
        .send(JSON.stringify([{ op: 'replace', path: '/active', value: false }])),
      await request(suite.app).delete(url).set({ 'If-None-Match': '*' }),
    ];
    for (const a of answers) {
      expect(a.status).toBe(400);
      expect(a.body.issue[0]).toMatchObject({ code: 'not-supported', expression: ['If-None-Match'] });
    }
    expect(await versionOf(id)).toBe('2');
  });
});

describe('ifNoneMatch on a Bundle write entry', () => {
  it('is 400 naming Bundle.entry[i].request.ifNoneMatch in a transaction; a GET entry still takes it', async () => {
    const id = await twice();
    const current = (await request(suite.app).get(`/fhir/Practitioner/${id}`)).body;
    const bundle = (entry: unknown) => ({ resourceType: 'Bundle', type: 'transaction', entry: [entry] });
    const put = await postFhir(
      suite.app,
      '/fhir',
      bundle({
        resource: { ...current, active: false },
        request: { method: 'PUT', url: `Practitioner/${id}`, ifMatch: 'W/"2"', ifNoneMatch: '*' },
      }),
    );
    expect(put.status).toBe(400);
    expect(put.body.issue[0]).toMatchObject({
      code: 'not-supported',
      expression: ['Bundle.entry[0].request.ifNoneMatch'],
    });
    expect(await versionOf(id)).toBe('2');
    const get = await postFhir(suite.app, '/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ request: { method: 'GET', url: `Practitioner/${id}`, ifNoneMatch: 'W/"2"' } }],
    });
    expect(get.body.entry[0].response.status).toMatch(/^304/);
  });
});
