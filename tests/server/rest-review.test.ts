// What a REST review of the facade found against R4 http.html/search.html and RFC 9110: the
// CapabilityStatement's chaining examples name types the search takes; an update that cannot create
// is a 405 with Allow, never a transaction's answer; version ids are spelled one way (no leading
// zeros) in URLs and entity tags; a transaction's refusal names the element its entry holds.
import type { Bundle, BundleEntry, CapabilityStatement } from '@medplum/fhirtypes';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { appPerSuite, firstIssue, postFhir, practitioner } from './helpers.ts';

const FHIR = 'application/fhir+json';
const suite = appPerSuite({ strict: false });

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  postFhir(suite.app, path, body, headers);
const transaction = (entry: BundleEntry[]) =>
  post('/fhir', { resourceType: 'Bundle', type: 'transaction', entry } satisfies Bundle);
const created = async () => {
  const res = await post('/fhir/Practitioner', practitioner());
  expect(res.status).toBe(201);
  return res.body.id as string;
};
const put = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  request(suite.app)
    .put(path)
    .set({ 'Content-Type': FHIR, ...headers })
    .send(JSON.stringify(body));

describe("the CapabilityStatement's chaining examples", () => {
  it('name only target types the search takes: every example answers 200', async () => {
    const cs = (await request(suite.app).get('/fhir/metadata')).body as CapabilityStatement;
    const examples: string[] = [];
    for (const resource of cs.rest?.[0]?.resource ?? []) {
      for (const sp of resource.searchParam ?? []) {
        const m = /e\.g\. ([^\s;]+)=system\|value/.exec(sp.documentation ?? '');
        if (sp.type === 'reference') expect(m, `${resource.type} ${sp.name}`).not.toBeNull();
        if (m) examples.push(`${resource.type}?${m[1]}=urn:x|y`);
      }
    }
    expect(examples).toContain('Observation?subject:Patient.identifier=urn:x|y');
    expect(examples.length).toBeGreaterThan(20);
    for (const example of examples) {
      const res = await request(suite.app).get(`/fhir/${example}`);
      expect([example, res.status, res.status === 200 ? '' : res.text]).toEqual([example, 200, '']);
    }
  });
});

describe('an update of an id that does not exist (updateCreate: false)', () => {
  const brandNew = () => ({ ...practitioner(), id: `brandnew-${Date.now()}` });

  it('is a 405 with Allow naming the methods the resource takes (RFC 9110 §15.5.6)', async () => {
    const body = brandNew();
    const res = await put(`/fhir/Practitioner/${body.id}`, body);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD, PATCH, DELETE');
    expect(firstIssue(res.body)?.code).toBe('not-supported');
  });

  it("fails a transaction with 404, not the 405 a client reads as 'transactions not supported'", async () => {
    const body = brandNew();
    const res = await transaction([
      { resource: practitioner(), request: { method: 'POST', url: 'Practitioner' } },
      { resource: body, request: { method: 'PUT', url: `Practitioner/${body.id}` } },
    ]);
    expect(res.status, res.text).toBe(404);
    expect(res.headers.allow).toBeUndefined();
    expect(firstIssue(res.body)?.expression).toEqual(['Bundle.entry[1].resource.id']);
    expect(firstIssue(res.body)?.diagnostics).toMatch(/^entry\[1\]: .*update cannot create it/);
  });

  it("is the entry's own 405 in a batch, which answers 200", async () => {
    const body = brandNew();
    const res = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ resource: body, request: { method: 'PUT', url: `Practitioner/${body.id}` } }],
    });
    expect(res.status).toBe(200);
    expect((res.body as Bundle).entry?.[0]?.response?.status).toBe('405 Method Not Allowed');
  });
});

describe('a version id is a positive integer without leading zeros', () => {
  it('a vread of _history/01 is refused, not read as version 1', async () => {
    const id = await created();
    expect((await request(suite.app).get(`/fhir/Practitioner/${id}/_history/1`)).status).toBe(200);
    for (const vid of ['01', '001', '00']) {
      const res = await request(suite.app).get(`/fhir/Practitioner/${id}/_history/${vid}`);
      expect(res.status, vid).toBe(400);
      expect(res.headers.etag, vid).toBeUndefined();
      expect(firstIssue(res.body)?.expression, vid).toEqual(['Practitioner.meta.versionId']);
    }
  });

  it('If-Match W/"01" names no version: PUT and DELETE are refused naming If-Match, nothing written', async () => {
    const id = await created();
    const body = { ...practitioner('Uusi'), id };
    for (const tag of ['W/"01"', '"01"', 'W/"001"']) {
      const update = await put(`/fhir/Practitioner/${id}`, body, { 'If-Match': tag });
      expect(update.status, tag).toBe(400);
      expect(firstIssue(update.body)?.expression, tag).toEqual(['If-Match']);
      const del = await request(suite.app).delete(`/fhir/Practitioner/${id}`).set('If-Match', tag);
      expect(del.status, tag).toBe(400);
      expect(firstIssue(del.body)?.expression, tag).toEqual(['If-Match']);
    }
    const read = await request(suite.app).get(`/fhir/Practitioner/${id}`);
    expect([read.status, read.headers.etag]).toEqual([200, 'W/"1"']);
    // If-None-Match compares tags as written (weak comparison): "01" is not "1".
    const stale = await request(suite.app).get(`/fhir/Practitioner/${id}`).set('If-None-Match', 'W/"01"');
    expect(stale.status).toBe(200);
    const same = await request(suite.app).get(`/fhir/Practitioner/${id}`).set('If-None-Match', 'W/"1"');
    expect(same.status).toBe(304);
  });

  it('a transaction entry\'s request.ifMatch W/"01" is refused at that element', async () => {
    const id = await created();
    const res = await transaction([
      {
        resource: { ...practitioner(), id },
        request: { method: 'PUT', url: `Practitioner/${id}`, ifMatch: 'W/"01"' },
      },
    ]);
    expect(res.status).toBe(400);
    expect(firstIssue(res.body)?.expression).toEqual(['Bundle.entry[0].request.ifMatch']);
  });
});

describe("a transaction's refusal names what its entry holds", () => {
  it("a PUT entry's stale or missing version precondition is named at its request.ifMatch", async () => {
    const id = await created();
    const body = { ...practitioner('Toinen'), id };
    for (const [ifMatch, status] of [
      ['W/"2"', 412],
      [undefined, 428],
    ] as const) {
      const res = await transaction([
        { resource: practitioner(), request: { method: 'POST', url: 'Practitioner' } },
        {
          resource: body,
          request: { method: 'PUT', url: `Practitioner/${id}`, ...(ifMatch ? { ifMatch } : {}) },
        },
      ]);
      expect(res.status, res.text).toBe(status);
      expect(firstIssue(res.body)?.expression).toEqual(['Bundle.entry[1].request.ifMatch']);
    }
  });

  it("a DELETE entry's stale If-Match is named at its request.ifMatch", async () => {
    const id = await created();
    const res = await transaction([
      { request: { method: 'DELETE', url: `Practitioner/${id}`, ifMatch: 'W/"7"' } },
    ]);
    expect(res.status, res.text).toBe(412);
    expect(firstIssue(res.body)?.expression).toEqual(['Bundle.entry[0].request.ifMatch']);
  });

  it('a DELETE entry refused by the delete policy (409) is named at its request.url: it holds no resource', async () => {
    const id = await created();
    const role = await post('/fhir/PractitionerRole', {
      resourceType: 'PractitionerRole',
      practitioner: { reference: `Practitioner/${id}` },
    });
    expect(role.status).toBe(201);
    const res = await transaction([{ request: { method: 'DELETE', url: `Practitioner/${id}` } }]);
    expect(res.status, res.text).toBe(409);
    for (const found of res.body.issue ?? [])
      expect(found.expression).toEqual(['Bundle.entry[0].request.url']);
    expect((await request(suite.app).get(`/fhir/Practitioner/${id}`)).status).toBe(200);
  });
});
