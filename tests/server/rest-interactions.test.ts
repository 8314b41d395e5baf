// What the CapabilityStatement declares is what the server answers (operations at their levels, the
// paging parameters as the links use them), PATCH and HEAD entries of a batch or transaction, one
// refusal for conditional criteria matching more than one resource (store-cond-1), and the element
// a malformed version id is named at.
import type {
  Bundle,
  BundleEntry,
  CapabilityStatement,
  OperationOutcome,
  Resource,
} from '@medplum/fhirtypes';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { FHIR_ROUTES } from '../../src/server/fhir/routes.ts';
import { appPerSuite, firstIssue, localPractitioner, postFhir, practitioner, uniqueUrn } from './helpers.ts';

const FHIR = 'application/fhir+json';
const suite = appPerSuite({ strict: false });

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  postFhir(suite.app, path, body, headers);
const metadata = async () => (await request(suite.app).get('/fhir/metadata')).body as CapabilityStatement;
const created = async () => (await post('/fhir/Practitioner', practitioner())).body as Resource;
const version = async (id: string) =>
  (await request(suite.app).get(`/fhir/Practitioner/${id}`)).body.meta.versionId as string;

describe('the CapabilityStatement declares what is answered', () => {
  it('every operation it declares is answered at the level it is declared at', async () => {
    const cs = await metadata();
    const rest = cs.rest?.[0];
    // System level: [base]/$name.
    for (const op of rest?.operation ?? []) {
      const res = await post(`/fhir/$${op.name}`, { resourceType: 'Parameters' });
      expect([400, 404, 405], `POST /fhir/$${op.name}: ${res.text}`).not.toContain(res.status);
    }
    // Type and instance level: at every route of the table serving the operation there.
    for (const resource of rest?.resource ?? []) {
      const type = resource.type;
      const stored = await suite.fx.store.create({ resourceType: type } as Resource);
      for (const op of resource.operation ?? []) {
        const rows = FHIR_ROUTES.filter(
          (r) => r.path.startsWith('/:type/') && r.path.endsWith(`/$${op.name}`),
        );
        expect(rows.length, `${type} $${op.name}`).toBeGreaterThan(0);
        for (const row of rows) {
          const path = `/fhir${row.path.replace(':type', type).replace(':id', stored.resource.id as string)}`;
          const instance = row.path.includes(':id');
          const body =
            op.name === 'validate'
              ? { resourceType: type, ...(instance ? { id: stored.resource.id } : {}) }
              : { resourceType: 'Parameters' };
          const res = row.method === 'GET' ? await request(suite.app).get(path) : await post(path, body);
          expect(res.status, `${row.method} ${path}: ${res.text}`).toBe(200);
        }
      }
    }
  });

  it('declares no system-level operation: $validate is a type and instance operation', async () => {
    const cs = await metadata();
    expect(cs.rest?.[0]?.operation).toBeUndefined();
    const validate = await post('/fhir/$validate', practitioner());
    expect(validate.status).toBe(400);
  });

  it('says where If-Match is required: PUT and PATCH (428 without), not DELETE', async () => {
    const cs = await metadata();
    const doc = cs.rest?.[0]?.resource?.find((r) => r.type === 'Practitioner')?.documentation ?? '';
    expect(doc).toMatch(/PUT and PATCH need If-Match \(428 without\)/);
    expect(doc).toMatch(/DELETE takes If-Match optionally/);
    const id = (await created()).id as string;
    expect((await request(suite.app).delete(`/fhir/Practitioner/${id}`)).status).toBe(204);
  });

  it('documents _offset as what it does: search pages link self and next, next by _cursor', async () => {
    for (let i = 0; i < 3; i++) await created();
    const page = (await request(suite.app).get('/fhir/Practitioner').query({ _count: '1', _offset: '1' }))
      .body as Bundle;
    expect(page.link?.map((l) => l.relation)).toEqual(['self', 'next']);
    const next = new URL(page.link?.find((l) => l.relation === 'next')?.url ?? '');
    expect(next.searchParams.has('_cursor')).toBe(true);
    expect(next.searchParams.has('_offset')).toBe(false);
    const cs = await metadata();
    const offset = cs.rest?.[0]?.resource
      ?.find((r) => r.type === 'Practitioner')
      ?.searchParam?.find((p) => p.name === '_offset');
    expect(offset?.documentation).not.toMatch(/previous/i);
    expect(offset?.documentation).toMatch(/_cursor/);
  });
});

/** A Bundle entry patching `Practitioner/id` with `ops`, carried in a Binary as R4 has it. */
function patchEntry(id: string, ops: unknown, ifMatch?: string): BundleEntry {
  return {
    resource: {
      resourceType: 'Binary',
      contentType: 'application/json-patch+json',
      data: Buffer.from(JSON.stringify(ops)).toString('base64'),
    },
    request: { method: 'PATCH', url: `Practitioner/${id}`, ...(ifMatch ? { ifMatch } : {}) },
  };
}
const bundle = (type: 'batch' | 'transaction', entry: BundleEntry[]) =>
  post('/fhir', { resourceType: 'Bundle', type, entry });
const statuses = (res: { body: Bundle }) => res.body.entry?.map((e) => e.response?.status);

describe('PATCH and HEAD entries', () => {
  it('a batch patches as the patch interaction does: If-Match required, rule keys, JSON Patch only', async () => {
    const id = (await created()).id as string;
    const rename = [{ op: 'replace', path: '/name/0/family', value: 'Paikattu' }];
    const res = await bundle('batch', [
      patchEntry(id, rename, 'W/"1"'),
      patchEntry(id, rename),
      patchEntry(id, [{ op: 'replace', path: '/nothing/here', value: 1 }], 'W/"2"'),
      patchEntry(id, [{ op: 'replace', path: '/id', value: 'other' }], 'W/"2"'),
      patchEntry(id, rename, 'W/"1"'),
      {
        resource: { resourceType: 'Parameters', parameter: [] },
        request: { method: 'PATCH', url: `Practitioner/${id}`, ifMatch: 'W/"2"' },
      },
    ]);
    expect(res.status, res.text).toBe(200);
    expect(statuses(res)).toEqual([
      '200 OK',
      '428 Precondition Required',
      '422 Unprocessable Entity',
      '422 Unprocessable Entity',
      '412 Precondition Failed',
      '415 Unsupported Media Type',
    ]);
    const [ok, unversioned, misfit, identity, stale] = res.body.entry ?? [];
    expect(ok.resource).toMatchObject({ id, name: [{ family: 'Paikattu' }], meta: { versionId: '2' } });
    expect(ok.response).toMatchObject({ etag: 'W/"2"' });
    // A batch entry's outcome names what the interaction names (as for a PUT entry).
    expect(unversioned.response?.outcome?.issue?.[0]).toMatchObject({
      code: 'required',
      expression: ['Practitioner.meta.versionId'],
    });
    expect(misfit.response?.outcome?.issue?.[0]).toMatchObject({
      diagnostics: expect.stringMatching(/^fhir-patch-2: /),
      expression: ['Practitioner.nothing.here'],
    });
    expect(identity.response?.outcome?.issue?.[0]?.diagnostics).toMatch(/^fhir-patch-3: /);
    expect(stale.response?.outcome?.issue?.[0]?.diagnostics).toMatch(/store-version-1: /);
    expect(await version(id)).toBe('2');
  });

  it('a HEAD entry is answered as the GET, without the resource', async () => {
    const id = (await created()).id as string;
    const res = await bundle('batch', [
      { request: { method: 'HEAD', url: `Practitioner/${id}` } },
      { request: { method: 'HEAD', url: 'Practitioner?_count=1' } },
      { request: { method: 'HEAD', url: 'Practitioner/not-there' } },
    ]);
    expect(res.status, res.text).toBe(200);
    expect(statuses(res)).toEqual(['200 OK', '200 OK', '404 Not Found']);
    const [read, search] = res.body.entry ?? [];
    expect(read.resource).toBeUndefined();
    expect(read.response).toMatchObject({ etag: 'W/"1"' });
    expect(search.resource).toBeUndefined();
  });

  it('a transaction patches in its PUT step, and a failed patch rolls the whole transaction back', async () => {
    const id = (await created()).id as string;
    const other = (await created()).id as string;
    const newcomer = practitioner('Uusi');
    const done = await bundle('transaction', [
      { request: { method: 'HEAD', url: `Practitioner/${id}` } },
      patchEntry(id, [{ op: 'add', path: '/active', value: true }], 'W/"1"'),
      { fullUrl: uniqueUrn(), resource: newcomer, request: { method: 'POST', url: 'Practitioner' } },
    ]);
    expect(done.status, done.text).toBe(200);
    expect(statuses(done)).toEqual(['200 OK', '200 OK', '201 Created']);
    // The HEAD ran after the patch (R4's order: GET and HEAD last), and answers without the resource.
    expect(done.body.entry?.[0]).toMatchObject({ response: { etag: 'W/"2"' } });
    expect(done.body.entry?.[0]?.resource).toBeUndefined();
    expect(done.body.entry?.[1]?.resource).toMatchObject({ id, active: true });

    const [{ system, value }] = practitioner().identifier as [{ system: string; value: string }];
    const failed = await bundle('transaction', [
      {
        fullUrl: uniqueUrn(),
        resource: { ...practitioner(), identifier: [{ system, value }] },
        request: { method: 'POST', url: 'Practitioner' },
      },
      patchEntry(other, [{ op: 'add', path: '/active', value: true }], 'W/"1"'),
      patchEntry(id, [{ op: 'test', path: '/active', value: false }], 'W/"2"'),
    ]);
    expect(failed.status).toBe(422);
    // Named at the element of the patched resource, as the patch interaction names it.
    expect(firstIssue(failed.body)).toMatchObject({
      diagnostics: expect.stringMatching(/^entry\[2\]: fhir-patch-2: /),
      expression: ['Practitioner.active'],
    });
    expect(await version(other)).toBe('1');
    expect(await version(id)).toBe('2');
    const search = await request(suite.app)
      .get('/fhir/Practitioner')
      .query({ identifier: `${system}|${value}` });
    expect((search.body as Bundle).entry).toBeUndefined();

    const unversioned = await bundle('transaction', [
      patchEntry(other, [{ op: 'add', path: '/active', value: true }]),
    ]);
    expect(unversioned.status).toBe(428);
    expect(firstIssue(unversioned.body)?.expression).toEqual(['Bundle.entry[0].request.ifMatch']);
    // Two changes of one resource (a PUT and a PATCH) are refused as two PUTs are.
    const twice = await bundle('transaction', [
      patchEntry(other, [{ op: 'add', path: '/active', value: true }], 'W/"1"'),
      patchEntry(other, [{ op: 'add', path: '/active', value: false }], 'W/"1"'),
    ]);
    expect(twice.status).toBe(400);
    expect(firstIssue(twice.body)?.expression).toEqual(['Bundle.entry[1].request.url']);
    expect(await version(other)).toBe('1');
  });

  it('a PATCH entry names a Type/id and carries a Binary: anything else is a 400 naming the element', async () => {
    const id = (await created()).id as string;
    const res = await bundle('batch', [
      { ...patchEntry(id, []), request: { method: 'PATCH', url: 'Practitioner' } },
      { request: { method: 'PATCH', url: `Practitioner/${id}`, ifMatch: 'W/"1"' } },
      {
        resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: '***' },
        request: { method: 'PATCH', url: `Practitioner/${id}`, ifMatch: 'W/"1"' },
      },
    ]);
    expect(statuses(res)).toEqual(['400 Bad Request', '400 Bad Request', '400 Bad Request']);
    const [url, missing, data] = res.body.entry ?? [];
    expect(url.response?.outcome?.issue?.[0]?.expression).toEqual(['Bundle.entry[0].request.url']);
    expect(missing.response?.outcome?.issue?.[0]?.expression).toEqual(['Bundle.entry[1].resource']);
    expect(data.response?.outcome?.issue?.[0]?.expression).toEqual(['Bundle.entry[2].resource.data']);
    expect(await version(id)).toBe('1');
  });
});

describe('store-cond-1: conditional criteria matching more than one resource', () => {
  /** A Practitioner stored twice under one identifier, and that identifier as criteria. */
  async function twins(): Promise<{ body: ReturnType<typeof practitioner>; criteria: string }> {
    const body = localPractitioner('Kaksonen');
    for (let i = 0; i < 2; i++) expect((await post('/fhir/Practitioner', body)).status).toBe(201);
    const [{ system, value }] = body.identifier as [{ system: string; value: string }];
    return { body, criteria: `identifier=${encodeURIComponent(`${system}|${value}`)}` };
  }
  const refusal = (body: OperationOutcome) => {
    const found = firstIssue(body);
    expect(found?.diagnostics).toMatch(/^(entry\[\d+\]: )?store-cond-1: /);
    expect(found?.code).toBe('multiple-matches');
    return found;
  };

  it('is one refusal for a conditional create, a conditional update and a conditional reference', async () => {
    const { body, criteria } = await twins();
    const create = await post('/fhir/Practitioner', body, { 'If-None-Exist': decodeURIComponent(criteria) });
    expect(create.status).toBe(412);
    expect(refusal(create.body)?.expression).toEqual(['If-None-Exist']);

    const update = await request(suite.app)
      .put(`/fhir/Practitioner?${criteria}`)
      .set({ 'Content-Type': FHIR, 'If-Match': 'W/"1"' })
      .send(JSON.stringify(body));
    expect(update.status).toBe(412);
    expect(refusal(update.body)?.expression).toEqual(['Practitioner?identifier']);

    const entries: BundleEntry[] = [
      {
        resource: body,
        request: { method: 'POST', url: 'Practitioner', ifNoneExist: decodeURIComponent(criteria) },
      },
      { resource: body, request: { method: 'PUT', url: `Practitioner?${criteria}`, ifMatch: 'W/"1"' } },
      {
        resource: {
          resourceType: 'PractitionerRole',
          practitioner: { reference: `Practitioner?${decodeURIComponent(criteria)}` },
        },
        request: { method: 'POST', url: 'PractitionerRole' },
      },
    ];
    const where = [
      'Bundle.entry[0].request.ifNoneExist',
      'Bundle.entry[0].request.url',
      'Bundle.entry[0].resource.practitioner',
    ];
    for (const [i, entry] of entries.entries()) {
      const tx = await bundle('transaction', [entry]);
      expect(tx.status, tx.text).toBe(412);
      expect(refusal(tx.body)?.expression).toEqual([where[i]]);
    }
  });
});

describe('a malformed version id', () => {
  it("is named at the type's meta.versionId", async () => {
    const id = (await created()).id as string;
    for (const vid of ['abc', '0', '1.5']) {
      const res = await request(suite.app).get(`/fhir/Practitioner/${id}/_history/${vid}`);
      expect(res.status, vid).toBe(400);
      expect(firstIssue(res.body)?.expression, vid).toEqual(['Practitioner.meta.versionId']);
      expect(firstIssue(res.body)?.diagnostics, vid).not.toContain(vid === '0' ? "'0'" : vid);
    }
  });
});
