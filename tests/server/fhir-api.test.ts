import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type {
  Bundle,
  CapabilityStatement,
  Observation,
  OperationOutcome,
  Patient,
  Practitioner,
} from '@medplum/fhirtypes';
import type express from 'express';
import pino from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServerTiming } from '../../src/shared/server-timing.ts';
import { type Fixture, openFixture, practitioner, uniqueUrn } from './helpers.ts';

const FHIR = 'application/fhir+json';
let fx: Fixture;
let app: express.Express; // strict (default)
let loose: express.Express; // --no-strict, small limits

beforeAll(async () => {
  fx = await openFixture();
  app = fx.app();
  loose = fx.app({ strict: false, limits: { bodyBytes: 4096, jsonDepth: 12 } });
});
afterAll(async () => fx?.close());

const post = (a: express.Express, path: string, body: unknown) =>
  request(a)
    .post(path)
    .set('Content-Type', FHIR)
    .send(typeof body === 'string' ? body : JSON.stringify(body));

function firstIssue(body: OperationOutcome) {
  expect(body.resourceType).toBe('OperationOutcome');
  return body.issue?.[0];
}

async function countByIdentifier(type: string, value: string): Promise<number> {
  const res = await request(app)
    .get(`/fhir/${type}`)
    .query({ identifier: `urn:ietf:rfc:3986|${value}`, _total: 'accurate' });
  expect(res.status).toBe(200);
  return (res.body as Bundle).total ?? -1;
}

function observation(patientRef: string, extra: Partial<Observation> = {}): Observation {
  return {
    resourceType: 'Observation',
    identifier: [{ system: 'urn:ietf:rfc:3986', value: uniqueUrn() }],
    status: 'final',
    category: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'survey' }] },
    ],
    code: { coding: [{ system: 'http://loinc.org', code: '89026-5' }] },
    subject: { reference: patientRef },
    effectiveDateTime: '2024-03-01T10:00:00Z',
    valueInteger: 6,
    ...extra,
  };
}

describe('create, read, vread, update, delete, history', () => {
  let created: Practitioner;

  it('creates with 201, versioned Location, ETag and Last-Modified', async () => {
    const res = await post(app, '/fhir/Practitioner', practitioner());
    expect(res.status).toBe(201);
    created = res.body;
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect(res.headers.location).toMatch(new RegExp(`/fhir/Practitioner/${created.id}/_history/1$`));
    expect(res.headers.etag).toBe('W/"1"');
    expect(new Date(res.headers['last-modified']).getTime()).not.toBeNaN();
    expect(created.meta?.versionId).toBe('1');
    // The server's own time, split for clients such as the sync worker.
    const timing = parseServerTiming(res.headers['server-timing']);
    expect([...timing.keys()]).toEqual(['validate', 'db']);
    for (const ms of timing.values()) expect(ms).toBeGreaterThanOrEqual(0);
  });

  it('reads and vreads with ETag', async () => {
    const read = await request(app).get(`/fhir/Practitioner/${created.id}`);
    expect(read.status).toBe(200);
    expect(read.headers.etag).toBe('W/"1"');
    expect(read.body.name[0].family).toBe('Virtanen');
    const vread = await request(app).get(`/fhir/Practitioner/${created.id}/_history/1`);
    expect(vread.status).toBe(200);
    expect(vread.body.meta.versionId).toBe('1');
  });

  it('requires If-Match on update (428), rejects a stale version (412), accepts the current one', async () => {
    const changed = { ...created, active: true };
    const missing = await request(app)
      .put(`/fhir/Practitioner/${created.id}`)
      .set('Content-Type', FHIR)
      .send(changed);
    expect(missing.status).toBe(428);
    expect(firstIssue(missing.body)?.diagnostics).toMatch(/If-Match is required/);

    const ok = await request(app)
      .put(`/fhir/Practitioner/${created.id}`)
      .set('Content-Type', FHIR)
      .set('If-Match', 'W/"1"')
      .send(changed);
    expect(ok.status).toBe(200);
    expect(ok.headers.etag).toBe('W/"2"');
    expect(ok.headers.location).toMatch(/\/_history\/2$/);

    const stale = await request(app)
      .put(`/fhir/Practitioner/${created.id}`)
      .set('Content-Type', FHIR)
      .set('If-Match', 'W/"1"')
      .send(changed);
    expect(stale.status).toBe(412);
    expect(firstIssue(stale.body)?.code).toBe('conflict');
    const now = await request(app).get(`/fhir/Practitioner/${created.id}`);
    expect(now.body.meta.versionId).toBe('2');
  });

  it('rejects id and type mismatches on PUT and invalid ids, naming the element', async () => {
    const wrongId = await request(app)
      .put(`/fhir/Practitioner/${created.id}`)
      .set('Content-Type', FHIR)
      .set('If-Match', 'W/"2"')
      .send({ ...created, id: 'other-id' });
    expect(wrongId.status).toBe(400);
    expect(firstIssue(wrongId.body)?.expression).toEqual(['Practitioner.id']);

    const wrongType = await post(app, '/fhir/Practitioner', { resourceType: 'Patient' });
    expect(wrongType.status).toBe(400);
    expect(firstIssue(wrongType.body)?.expression).toEqual(['resourceType']);
    expect(firstIssue(wrongType.body)?.diagnostics).toMatch(/does not match the type in the URL/);

    const badId = await request(app).get('/fhir/Practitioner/bad_id!');
    expect(badId.status).toBe(400);
    expect(firstIssue(badId.body)?.expression).toEqual(['Practitioner.id']);
  });

  it('deletes (204), then reads 410 and shows the tombstone in _history', async () => {
    const del = await request(app).delete(`/fhir/Practitioner/${created.id}`);
    expect(del.status).toBe(204);
    const gone = await request(app).get(`/fhir/Practitioner/${created.id}`);
    expect(gone.status).toBe(410);
    expect(firstIssue(gone.body)?.code).toBe('deleted');
    const history = await request(app).get(`/fhir/Practitioner/${created.id}/_history`);
    expect(history.status).toBe(200);
    const bundle = history.body as Bundle;
    expect(bundle.type).toBe('history');
    expect(bundle.entry?.map((e) => e.request?.method)).toEqual(['DELETE', 'PUT', 'POST']);
    expect(bundle.entry?.[0].resource).toBeUndefined();
  });

  it('a PUT bringing the deleted resource back needs If-Match naming the deletion, and is in _history as that PUT', async () => {
    const { meta: _meta, ...content } = created;
    const put = (ifMatch?: string) =>
      request(app)
        .put(`/fhir/Practitioner/${created.id}`)
        .set({ 'Content-Type': 'application/fhir+json', ...(ifMatch ? { 'If-Match': ifMatch } : {}) })
        .send(content);
    // A replayed or stale PUT must not undo a delete it never saw (updateCreate is false).
    const blind = await put();
    expect(blind.status).toBe(428);
    expect(firstIssue(blind.body)?.diagnostics).toBe(
      `If-Match is required to bring back Practitioner/${created.id}, deleted in version 3`,
    );
    expect((await put('W/"2"')).status).toBe(412);
    expect((await request(app).get(`/fhir/Practitioner/${created.id}`)).status).toBe(410);
    const back = await put('W/"3"');
    expect(back.status).toBe(201);
    expect(back.headers.etag).toBe('W/"4"');
    const history = await request(app).get(`/fhir/Practitioner/${created.id}/_history`);
    const [revived] = (history.body as Bundle).entry ?? [];
    expect(revived.request).toEqual({ method: 'PUT', url: `Practitioner/${created.id}` });
    expect(revived.response?.status).toBe('201 Created');
    expect((history.body as Bundle).entry?.map((e) => e.request?.method)).toEqual([
      'PUT',
      'DELETE',
      'PUT',
      'POST',
    ]);
  });

  it('answers 404 for an unknown id and an unknown type', async () => {
    const missing = await request(app).get('/fhir/Practitioner/does-not-exist');
    expect(missing.status).toBe(404);
    const type = await request(app).get('/fhir/Spaceship/1');
    expect(type.status).toBe(404);
    expect(firstIssue(type.body)?.diagnostics).toMatch(/resource type is not supported/);
    expect(type.text).not.toContain('Spaceship');
  });
});

describe('conditional create (If-None-Exist)', () => {
  it('returns the existing resource with 200 on repeat, never a duplicate', async () => {
    const p = practitioner();
    const criteria = `identifier=${p.identifier?.[0].system}|${p.identifier?.[0].value}`;
    const first = await post(app, '/fhir/Practitioner', p).set('If-None-Exist', criteria);
    const second = await post(app, '/fhir/Practitioner', p).set('If-None-Exist', criteria);
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(await countByIdentifier('Practitioner', p.identifier?.[0].value as string)).toBe(1);
    // Under return=minimal the headers alone say which resource matched.
    const minimal = await post(app, '/fhir/Practitioner', p)
      .set('If-None-Exist', criteria)
      .set('Prefer', 'return=minimal');
    // (Each supertest call listens on a port of its own: the paths are compared.)
    const path = (url: string) => new URL(url).pathname;
    expect(minimal.status).toBe(200);
    expect(path(minimal.headers.location)).toBe(path(first.headers.location));
    expect(path(minimal.headers['content-location'])).toBe(path(first.headers.location));
    // A batch entry that matched carries the location too.
    const batch = await post(app, '/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ resource: p, request: { method: 'POST', url: 'Practitioner', ifNoneExist: criteria } }],
    });
    expect(batch.body.entry[0].response.status).toBe('200 OK');
    expect(path(batch.body.entry[0].response.location)).toBe(path(first.headers.location));
  });

  it('creates exactly one resource under concurrent requests', async () => {
    const p = practitioner();
    const criteria = `identifier=${p.identifier?.[0].system}|${p.identifier?.[0].value}`;
    const results = await Promise.all(
      Array.from({ length: 6 }, () => post(app, '/fhir/Practitioner', p).set('If-None-Exist', criteria)),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(await countByIdentifier('Practitioner', p.identifier?.[0].value as string)).toBe(1);
  });

  it('rejects criteria that are not an identifier search', async () => {
    const res = await post(app, '/fhir/Practitioner', practitioner()).set('If-None-Exist', 'name=Virtanen');
    expect(res.status).toBe(400);
    expect(firstIssue(res.body)?.expression).toEqual(['If-None-Exist']);
    // Empty is malformed, not absent: taken as absent it created a duplicate of the identifier.
    const p = practitioner();
    const empty = await post(app, '/fhir/Practitioner', p).set('If-None-Exist', '');
    expect(empty.status).toBe(400);
    expect(firstIssue(empty.body)?.expression).toEqual(['If-None-Exist']);
    const entry = await post(app, '/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ resource: p, request: { method: 'POST', url: 'Practitioner', ifNoneExist: '' } }],
    });
    expect(entry.body.entry[0].response.status).toMatch(/^400/);
    expect(await countByIdentifier('Practitioner', p.identifier?.[0].value as string)).toBe(0);
  });
});

describe('search', () => {
  let patientRef = '';
  const created: Observation[] = [];
  const ids: string[] = []; // in _lastUpdated order

  beforeAll(async () => {
    const patient = await post(loose, '/fhir/Patient', {
      resourceType: 'Patient',
      name: [{ family: 'Haku' }],
    });
    expect(patient.status).toBe(201);
    patientRef = `Patient/${patient.body.id}`;
    for (let i = 0; i < 7; i++) {
      const res = await post(
        loose,
        '/fhir/Observation',
        observation(patientRef, {
          status: i % 2 ? 'final' : 'amended',
          effectiveDateTime: `2024-03-0${i + 1}T10:00:00Z`,
        }),
      );
      expect(res.status).toBe(201);
      created.push(res.body);
    }
    // The server's order: _lastUpdated, then id (two creates in one millisecond are ordered by id).
    const key = (r: Observation) => `${r.meta?.lastUpdated} ${r.id}`;
    ids.push(...created.sort((a, b) => (key(a) < key(b) ? -1 : 1)).map((r) => r.id as string));
  });

  it('searches by patient, subject, code, category, status and date', async () => {
    const q = (query: Record<string, string>) =>
      request(app)
        .get('/fhir/Observation')
        .query({ ...query, _count: '100' })
        .then((r) => {
          expect(r.status).toBe(200);
          return (r.body as Bundle).entry?.map((e) => e.resource?.id) ?? [];
        });
    expect((await q({ patient: patientRef })).sort()).toEqual([...ids].sort());
    expect(await q({ subject: patientRef })).toHaveLength(7);
    expect(await q({ patient: patientRef, code: 'http://loinc.org|89026-5' })).toHaveLength(7);
    expect(await q({ patient: patientRef, category: 'survey' })).toHaveLength(7);
    expect(await q({ patient: patientRef, status: 'final' })).toHaveLength(3);
    expect(await q({ patient: patientRef, date: 'ge2024-03-05' })).toHaveLength(3);
    expect(await q({ patient: patientRef, code: 'http://loinc.org|other' })).toHaveLength(0);
  });

  it('pages with stable next links until every match is seen once', async () => {
    const seen: string[] = [];
    let url: string | undefined = `/fhir/Observation?patient=${patientRef}&_count=3&_total=accurate`;
    let pages = 0;
    while (url) {
      const res = await request(app).get(url);
      expect(res.status).toBe(200);
      const bundle = res.body as Bundle;
      expect(bundle.total).toBe(7);
      expect(bundle.link?.find((l) => l.relation === 'self')).toBeDefined();
      seen.push(...(bundle.entry ?? []).map((e) => e.resource?.id as string));
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      url = next ? new URL(next).pathname + new URL(next).search : undefined;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual([...ids].sort());
  });

  it('sorts by -_lastUpdated and filters on _lastUpdated and _id', async () => {
    const desc = await request(app)
      .get('/fhir/Observation')
      .query({ patient: patientRef, _sort: '-_lastUpdated', _count: '100' });
    const order = (desc.body as Bundle).entry?.map((e) => e.resource?.id);
    expect(order).toEqual([...ids].reverse());
    const byId = await request(app).get('/fhir/Observation').query({ _id: ids[2] });
    expect((byId.body as Bundle).entry?.map((e) => e.resource?.id)).toEqual([ids[2]]);
    const future = await request(app)
      .get('/fhir/Observation')
      .query({ patient: patientRef, _lastUpdated: 'gt2999-01-01' });
    expect((future.body as Bundle).entry ?? []).toHaveLength(0);
  });

  it('supports POST _search with form parameters', async () => {
    const res = await request(app)
      .post('/fhir/Observation/_search')
      .type('form')
      .send({ patient: patientRef, status: 'final' });
    expect(res.status).toBe(200);
    expect((res.body as Bundle).entry).toHaveLength(3);
  });

  it('rejects unknown parameters with 400 unless Prefer: handling=lenient', async () => {
    const strict = await request(app).get('/fhir/Observation').query({ patient: patientRef, colour: 'blue' });
    expect(strict.status).toBe(400);
    expect(firstIssue(strict.body)).toMatchObject({ code: 'not-supported', expression: ['colour'] });
    const lenient = await request(app)
      .get('/fhir/Observation')
      .query({ patient: patientRef, colour: 'blue', _count: '100' })
      .set('Prefer', 'handling=lenient');
    expect(lenient.status).toBe(200);
    const entries = (lenient.body as Bundle).entry ?? [];
    expect(entries.filter((e) => e.search?.mode === 'match')).toHaveLength(7);
    const warning = entries.find((e) => e.search?.mode === 'outcome')?.resource as OperationOutcome;
    expect(warning.issue?.[0]).toMatchObject({ severity: 'warning', expression: ['colour'] });
    // The searchset is a valid Bundle: the outcome entry too is identified by a fullUrl.
    const errors = (fx.validator.validate(lenient.body as Bundle).issue ?? []).filter(
      (i) => i.severity === 'error',
    );
    expect(errors).toEqual([]);
    // The self link is the search performed, without what was ignored.
    const self = new URL((lenient.body as Bundle).link?.find((l) => l.relation === 'self')?.url ?? '');
    expect([...self.searchParams.keys()].sort()).toEqual(['_count', 'patient']);
    // An unsupported _sort is ignored the same way under lenient handling, and a 400 otherwise.
    const sorted = await request(app)
      .get('/fhir/Observation')
      .query({ patient: patientRef, _sort: 'value-quantity' })
      .set('Prefer', 'handling=lenient');
    expect(sorted.status).toBe(200);
    const sortWarning = (sorted.body as Bundle).entry?.find((e) => e.search?.mode === 'outcome')
      ?.resource as OperationOutcome;
    expect(sortWarning.issue?.[0]).toMatchObject({ severity: 'warning', expression: ['_sort'] });
    const strictSort = await request(app).get('/fhir/Observation').query({ _sort: 'value-quantity' });
    expect(strictSort.status).toBe(400);
    expect(firstIssue(strictSort.body)?.expression).toEqual(['_sort']);
  });

  it('rejects invalid search values naming the parameter', async () => {
    const badDate = await request(app).get('/fhir/Observation').query({ date: '2024-13-45' });
    expect(badDate.status).toBe(400);
    expect(firstIssue(badDate.body)?.expression).toEqual(['date']);
    const badPrefix = await request(app).get('/fhir/Observation').query({ _lastUpdated: 'xx2024-01-01' });
    expect(badPrefix.status).toBe(400);
    expect(firstIssue(badPrefix.body)?.diagnostics).toMatch(/unknown prefix \(allowed: /);
    const badCount = await request(app).get('/fhir/Observation').query({ _count: '-1' });
    expect(badCount.status).toBe(400);
    expect(firstIssue(badCount.body)?.expression).toEqual(['_count']);
  });

  it('a query string that is not percent-encoded UTF-8 is 400 naming the parameter, not a search for U+FFFD', async () => {
    for (const [qs, expression] of [
      ['identifier=%E0%A4%A', 'identifier'],
      ['identifier=%ZZ', 'identifier'],
      ['identifier=%C3%28', 'identifier'],
      ['%E0=1', '_query'],
    ] as const) {
      const res = await request(app).get(`/fhir/Observation?${qs}`);
      expect(res.status, qs).toBe(400);
      expect(firstIssue(res.body)?.expression, qs).toEqual([expression]);
    }
    // Well-formed escapes (ä as UTF-8, + as a space) are read as usual.
    expect((await request(app).get('/fhir/Observation?identifier=x%7CM%C3%A4kel%C3%A4+x')).status).toBe(200);
    const batch = await request(app)
      .post('/fhir')
      .set('Content-Type', 'application/fhir+json')
      .send({
        resourceType: 'Bundle',
        type: 'batch',
        entry: [{ request: { method: 'GET', url: 'Observation?code=%E0%A4%A' } }],
      });
    expect(batch.body.entry[0].response.status).toBe('400 Bad Request');
  });

  it('the request log names the path with any HETU in it masked, and never the query', async () => {
    const hetu = '131052-308T';
    const lines: string[] = [];
    const logged = fx.app({
      logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
    });
    await request(logged).get(`/fhir/Practitioner/${hetu}`);
    await request(logged)
      .get('/fhir/Observation')
      .query({ identifier: `urn:oid:1.2.246.21|${hetu}` });
    const end = Date.now() + 5_000;
    while (lines.filter((l) => l.includes('request completed')).length < 2 && Date.now() < end)
      await new Promise((r) => setTimeout(r, 10));
    const log = lines.join('');
    expect(log).toContain('"url":"/fhir/Practitioner/[HETU]"');
    expect(log).toContain('"url":"/fhir/Observation"');
    expect(log).not.toContain(hetu);
  });

  it('a HETU percent-encoded in the path is masked in the log too (decoded first, malformed escapes tolerated)', async () => {
    const hetu = '131052-308T';
    const lines: string[] = [];
    const logged = fx.app({
      logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
    });
    const paths = [
      '/fhir/Practitioner/131052%2D308T',
      `/fhir/Practitioner/${[...hetu].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('')}`,
      '/fhir/Practitioner/131052%252D308T',
      '/api/clients/131052%2d308T/plan',
      '/api/clients/131052%2D308T/%E0%A4%A',
      '/fhir/Practitioner/131052%2525252525252D308T',
    ];
    for (const path of paths) {
      const res = await request(logged).get(path);
      // An answer that quotes the path (a 404 naming it) masks it the same way.
      expect(res.text, path).not.toMatch(/131052(-|%2D|%2d|%25)/);
    }
    const end = Date.now() + 5_000;
    while (lines.filter((l) => l.includes('request completed')).length < paths.length && Date.now() < end)
      await new Promise((r) => setTimeout(r, 10));
    const urls = lines.map((l) => JSON.parse(l).req?.url).filter(Boolean);
    expect(urls).toEqual([
      '/fhir/Practitioner/[HETU]',
      '/fhir/Practitioner/[HETU]',
      '/fhir/Practitioner/[HETU]',
      '/api/clients/[HETU]/plan',
      '/api/clients/[HETU]/\ufffd%A',
      '[text percent-encoded more than 4 times, withheld]',
    ]);
    // A path without a HETU keeps its escapes as sent (what an operator matches against the access log).
    await request(logged).get('/fhir/Practitioner/a%2Db');
    while (lines.filter((l) => l.includes('request completed')).length < paths.length + 1 && Date.now() < end)
      await new Promise((r) => setTimeout(r, 10));
    expect(JSON.parse(lines.at(-1) as string).req.url).toBe('/fhir/Practitioner/a%2Db');
  });

  it('an error names the parameter or header, never quotes the value (it may be a HETU)', async () => {
    const hetu = '131052-308T';
    const answers = [
      ...[
        '_count',
        '_offset',
        '_total',
        '_sort',
        '_cursor',
        '_summary',
        '_elements',
        '_format',
        '_include',
        'date',
      ].map((name) =>
        request(app)
          .get('/fhir/Observation')
          .query({ [name]: name === '_elements' ? `a,${hetu}` : hetu }),
      ),
      request(app)
        .get('/fhir/Observation')
        .query({ _lastUpdated: `xx${hetu}` }),
      request(app).get('/fhir/metadata').set('Accept', `application/x-${hetu}`),
      request(app).post('/fhir/Practitioner').set('Content-Type', `application/x-${hetu}`).send('{}'),
      request(app)
        .post('/fhir/Practitioner')
        .set('Content-Type', `application/fhir+json; charset=${hetu}`)
        .send('{}'),
      request(app)
        .put(`/fhir/Practitioner/${crypto.randomUUID()}`)
        .set({ 'Content-Type': 'application/fhir+json', 'If-Match': `W/"${hetu}"` })
        .send('{"resourceType":"Practitioner"}'),
    ];
    // A HETU in the wrong field: the write path's validator leaves values out of its messages.
    const misplaced = { resourceType: 'Practitioner', birthDate: hetu };
    const batch = await post(app, '/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ resource: misplaced, request: { method: 'POST', url: 'Practitioner' } }],
    });
    expect(batch.body.entry[0].response.status).toMatch(/^4/);
    expect(batch.text).not.toContain(hetu);
    expect(batch.text).toContain("The value '…' is not a valid date");
    answers.push(post(app, '/fhir/Practitioner', misplaced));
    // Texts from elsewhere (an id in the path is quoted in "not found") are masked as they leave.
    const byId = await request(app).get(`/fhir/Practitioner/${hetu}`);
    expect(byId.status).toBe(404);
    expect(byId.text).not.toContain(hetu);
    expect(firstIssue(byId.body)?.diagnostics).toBe('Practitioner/[HETU] not found');
    for (const res of await Promise.all(answers)) {
      expect(res.status, res.text).toBeGreaterThanOrEqual(400);
      expect(res.status, res.text).toBeLessThan(500);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.text).not.toContain(hetu);
    }
  });
});

describe('formats and Prefer', () => {
  it('answers 415 for XML bodies and 406 for XML Accept or _format=xml', async () => {
    const xml = await request(app)
      .post('/fhir/Practitioner')
      .set('Content-Type', 'application/fhir+xml')
      .send('<Practitioner/>');
    expect(xml.status).toBe(415);
    expect(xml.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect(firstIssue(xml.body)?.code).toBe('not-supported');
    const accept = await request(app).get('/fhir/metadata').set('Accept', 'application/fhir+xml');
    expect(accept.status).toBe(406);
    expect(JSON.parse(accept.text).resourceType).toBe('OperationOutcome');
    const format = await request(app).get('/fhir/metadata?_format=xml');
    expect(format.status).toBe(406);
    expect(firstIssue(JSON.parse(format.text))?.expression).toEqual(['_format']);
  });

  it('accepts application/json and _format=json', async () => {
    const res = await request(app)
      .post('/fhir/Practitioner')
      .set('Content-Type', 'application/json')
      .send(practitioner());
    expect(res.status).toBe(201);
    const asJson = await request(app)
      .get(`/fhir/Practitioner/${res.body.id}`)
      .set('Accept', 'application/json');
    expect(asJson.headers['content-type']).toMatch(/^application\/json/);
    const format = await request(app).get(`/fhir/Practitioner/${res.body.id}?_format=json`);
    expect(format.status).toBe(200);
  });

  it('treats text/json as application/json: answered in that type, taken as a body (R4 http.html, generic types)', async () => {
    const res = await post(app, '/fhir/Practitioner', practitioner());
    for (const [query, accept] of [
      ['', 'text/json'],
      ['', 'text/json; q=0.9, application/fhir+xml'],
      ['?_format=text/json', undefined],
    ] as const) {
      const got = request(app).get(`/fhir/Practitioner/${res.body.id}${query}`);
      const answer = accept ? await got.set('Accept', accept) : await got;
      expect([query, accept, answer.status, answer.headers['content-type']]).toEqual([
        query,
        accept,
        200,
        'text/json; charset=utf-8',
      ]);
      expect(JSON.parse(answer.text)).toMatchObject({ resourceType: 'Practitioner', id: res.body.id });
    }
    const sent = await request(app)
      .post('/fhir/Practitioner')
      .set('Content-Type', 'text/json')
      .send(practitioner());
    expect(sent.status).toBe(201);
  });

  it('honours Prefer: return=minimal, representation and OperationOutcome', async () => {
    const minimal = await post(app, '/fhir/Practitioner', practitioner()).set('Prefer', 'return=minimal');
    expect(minimal.status).toBe(201);
    expect(minimal.text).toBe('');
    expect(minimal.headers.location).toMatch(/_history\/1$/);
    const oo = await post(app, '/fhir/Practitioner', practitioner()).set('Prefer', 'return=OperationOutcome');
    expect(oo.body.resourceType).toBe('OperationOutcome');
    const full = await post(app, '/fhir/Practitioner', practitioner()).set('Prefer', 'return=representation');
    expect(full.body.resourceType).toBe('Practitioner');
    // RFC 7240: the answer says which preference it honoured, and nothing without one.
    expect([minimal, oo, full].map((r) => r.headers['preference-applied'])).toEqual([
      'return=minimal',
      'return=OperationOutcome',
      'return=representation',
    ]);
    const plain = await post(app, '/fhir/Practitioner', practitioner());
    expect(plain.headers['preference-applied']).toBeUndefined();
    const lenient = await request(app)
      .get('/fhir/Practitioner')
      .query({ colour: 'blue' })
      .set('Prefer', 'handling=lenient, return=minimal');
    expect(lenient.headers['preference-applied']).toBe('handling=lenient');
    const strict = await request(app).get('/fhir/Practitioner').query({ _count: '1' });
    expect(strict.headers['preference-applied']).toBeUndefined();
  });

  it('POST _search refuses a body that is not percent-encoded UTF-8, naming the parameter', async () => {
    const res = await request(app)
      .post('/fhir/Observation/_search')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('code=%E0%A4%A');
    expect(res.status).toBe(400);
    expect(firstIssue(res.body)?.expression).toEqual(['code']);
  });
});

describe('bad input: 4xx OperationOutcome, nothing stored', () => {
  it('malformed JSON → 400', async () => {
    const res = await post(app, '/fhir/Practitioner', '{"resourceType": "Practitioner", ');
    expect(res.status).toBe(400);
    expect(firstIssue(res.body)).toMatchObject({ code: 'structure' });
    expect(firstIssue(res.body)?.diagnostics).toMatch(/not valid JSON/);
  });

  it('malformed JSON → 400 whose message quotes no part of the body', async () => {
    const res = await post(app, '/fhir/Patient', '{"resourceType": "Patient", "identifier": x010101-123N}');
    expect(res.status).toBe(400);
    expect(firstIssue(res.body)?.diagnostics).toBe(
      'Request body is not valid JSON: Unexpected token in JSON',
    );
    expect(JSON.stringify(res.body)).not.toContain('010101');
  });

  it('body over the limit → 413', async () => {
    const big = { ...practitioner(), name: [{ family: 'x'.repeat(5000) }] };
    const res = await post(loose, '/fhir/Practitioner', big);
    expect(res.status).toBe(413);
    expect(firstIssue(res.body)?.diagnostics).toMatch(/exceeds the limit of 4096 bytes/);
  });

  it('nesting deeper than the limit → 400', async () => {
    const deep = `{"resourceType":"Practitioner","extension":${'['.repeat(20)}${']'.repeat(20)}}`;
    const res = await post(loose, '/fhir/Practitioner', deep);
    expect(res.status).toBe(400);
    expect(firstIssue(res.body)?.diagnostics).toMatch(/nests deeper than the limit of 12/);
  });

  it('a U+0000 character (which PostgreSQL cannot store) → 400 naming the element, nothing stored', async () => {
    const family = `nul-${uniqueUrn()}`;
    const res = await post(loose, '/fhir/Practitioner', {
      resourceType: 'Practitioner',
      name: [{ family, given: ['a\u0000b'] }],
    });
    expect(res.status).toBe(400);
    expect(firstIssue(res.body)).toMatchObject({
      code: 'invalid',
      expression: ['Practitioner.name[0].given[0]'],
      diagnostics: expect.stringMatching(/contains the character U\+0000, which this server cannot store/),
    });
    const found = await request(app).get('/fhir/Practitioner').query({ _total: 'accurate', _count: '1000' });
    expect(JSON.stringify(found.body)).not.toContain(family);
  });

  it('a U+0000 in a search value → 400 naming the parameter; in a batch, that entry alone answers 400', async () => {
    const res = await request(app).get('/fhir/Practitioner?identifier=%00');
    expect(res.status).toBe(400);
    expect(firstIssue(res.body)).toMatchObject({
      expression: ['identifier'],
      diagnostics: "Invalid value for 'identifier': U+0000 cannot be searched for",
    });
    const p = practitioner();
    const batch = await post(app, '/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: p, request: { method: 'POST', url: 'Practitioner' } },
        { request: { method: 'GET', url: 'Practitioner?identifier=%00' } },
      ],
    });
    expect(batch.status).toBe(200);
    expect((batch.body as Bundle).entry?.map((e) => e.response?.status)).toEqual([
      '201 Created',
      '400 Bad Request',
    ]);
    expect(await countByIdentifier('Practitioner', p.identifier?.[0].value as string)).toBe(1);
  });

  it('__proto__, constructor and prototype keys → 400 without polluting Object.prototype', async () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const p = practitioner();
      const body = `{"resourceType":"Practitioner","identifier":${JSON.stringify(p.identifier)},"name":[{"${key}":{"polluted":"yes"}}]}`;
      const res = await post(app, '/fhir/Practitioner', body);
      expect(res.status).toBe(400);
      expect(firstIssue(res.body)?.diagnostics).toBe(
        `Property name "${key}" is not allowed in a request body (prototype pollution guard)`,
      );
      expect(await countByIdentifier('Practitioner', p.identifier?.[0].value as string)).toBe(0);
    }
    // A unicode-escaped key is the same key once parsed.
    const escaped = await post(
      app,
      '/fhir/Practitioner',
      '{"resourceType":"Practitioner","\\u005f_proto__":{"polluted":"yes"}}',
    );
    expect(escaped.status).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('missing content type, empty body and non-object bodies are rejected', async () => {
    const noType = await request(app).post('/fhir/Practitioner').send(Buffer.from('{}'));
    expect(noType.status).toBe(415);
    const empty = await request(app).post('/fhir/Practitioner').set('Content-Type', FHIR);
    expect(empty.status).toBe(400);
    expect(firstIssue(empty.body)?.diagnostics).toMatch(/body is empty/);
    const array = await post(app, '/fhir/Practitioner', '[]');
    expect(array.status).toBe(400);
  });

  it('a POST with no body at all (no Content-Length, as curl -X POST sends it) is 400 empty, not 415', async () => {
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    try {
      for (const path of ['/fhir/Practitioner', '/api/assessments']) {
        const raw = await new Promise<string>((resolve, reject) => {
          let text = '';
          const socket = connect(port, '127.0.0.1', () =>
            socket.write(
              `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nConnection: close\r\n\r\n`,
            ),
          );
          socket.on('data', (c) => {
            text += c.toString();
          });
          socket.on('end', () => resolve(text));
          socket.on('error', reject);
        });
        expect(raw).toMatch(/^HTTP\/1\.1 400 /);
        const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as OperationOutcome;
        expect(firstIssue(body)).toMatchObject({
          code: 'required',
          diagnostics: expect.stringMatching(/^Request body is empty; send /),
        });
      }
    } finally {
      server.close();
    }
  });

  it('unknown routes and methods are OperationOutcomes too', async () => {
    const route = await request(app).get('/nothing/here');
    expect(route.status).toBe(404);
    expect(route.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect(firstIssue(route.body)?.diagnostics).toBe('No route for GET at this URL');
    const method = await request(app).patch('/fhir/Practitioner').set('Content-Type', FHIR).send('{}');
    expect(method.status).toBe(405);
    expect(method.headers.allow).toBe('GET, HEAD, POST, PUT');
    const instance = await request(app).post('/fhir/Practitioner/abc').set('Content-Type', FHIR).send('{}');
    expect(instance.status).toBe(405);
    expect(instance.headers.allow).toBe('GET, HEAD, PUT, PATCH, DELETE');
    expect(firstIssue(method.body)?.code).toBe('not-supported');
    // A literal segment is not also a type or an id: Allow lists what works on that very path.
    for (const [verb, path, allow] of [
      ['post', '/fhir/metadata', 'GET, HEAD'],
      ['delete', '/fhir/Practitioner/_history', 'GET, HEAD'],
      ['get', '/fhir/Practitioner/$validate', 'POST'],
      ['put', '/fhir/_history', 'GET, HEAD'],
    ] as const) {
      const res = await request(app)[verb](path).set('Content-Type', FHIR).send('{}');
      expect(res.status, `${verb} ${path}`).toBe(405);
      expect(res.headers.allow, `${verb} ${path}`).toBe(allow);
    }
  });

  it('unexpected failures are 500 OperationOutcomes without internals', async () => {
    // Fault injection: the real store, with reads failing as a broken connection would.
    const broken = fx.app({
      store: { ...fx.store, readJson: () => Promise.reject(new Error('socket hang up: secret detail')) },
    });
    const res = await request(broken).get('/fhir/Practitioner/abc');
    expect(res.status).toBe(500);
    expect(firstIssue(res.body)).toMatchObject({ severity: 'fatal', code: 'exception' });
    expect(res.text).not.toMatch(/secret detail/);
  });
});

describe('validation on write', () => {
  it('rejects a resource that breaks R4 core with 422 naming the element; nothing stored', async () => {
    const p = { ...practitioner(), gender: 'robot' } as unknown as Practitioner;
    const res = await post(app, '/fhir/Practitioner', p);
    expect(res.status).toBe(422);
    const errors = (res.body as OperationOutcome).issue?.filter((i) => i.severity === 'error') ?? [];
    expect(errors.map((i) => i.expression?.[0])).toContain('Practitioner.gender');
    expect(await countByIdentifier('Practitioner', p.identifier?.[0].value as string)).toBe(0);
  });

  it('strict mode requires one of our profiles on our families; --no-strict does not', async () => {
    const patient: Patient = {
      resourceType: 'Patient',
      identifier: [{ system: 'urn:ietf:rfc:3986', value: uniqueUrn() }],
    };
    const strict = await post(app, '/fhir/Patient', patient);
    expect(strict.status).toBe(422);
    const issue = (strict.body as OperationOutcome).issue?.find((i) =>
      i.diagnostics?.startsWith('strict-profile'),
    );
    expect(issue?.expression).toEqual(['Patient.meta.profile']);
    expect(issue?.diagnostics).toContain('https://tyokyky-fhir.org/fhir/StructureDefinition/tyokyky-patient');
    expect(await countByIdentifier('Patient', patient.identifier?.[0].value as string)).toBe(0);
    const relaxed = await post(loose, '/fhir/Patient', patient);
    expect(relaxed.status).toBe(201);
  });

  it('a malformed meta.profile (not a list of strings) is a 422 naming it, never a 500', async () => {
    const profile = 'https://tyokyky-fhir.org/fhir/StructureDefinition/tyokyky-patient';
    for (const declared of [profile, [5], [null], { url: profile }]) {
      const res = await post(app, '/fhir/Patient', {
        resourceType: 'Patient',
        meta: { profile: declared },
        identifier: [{ system: 'urn:ietf:rfc:3986', value: uniqueUrn() }],
      });
      expect(res.status, JSON.stringify(declared)).toBe(422);
      const issues = (res.body as OperationOutcome).issue ?? [];
      expect(
        issues.filter((i) => i.severity === 'error').map((i) => i.expression?.[0]),
        JSON.stringify(declared),
      ).toEqual(expect.arrayContaining([expect.stringMatching(/^Patient\.meta\.profile/)]));
    }
  });

  it('a declared profile version this server does not hold is not ours: strict mode refuses it, the validator only warns', async () => {
    const profile = 'https://tyokyky-fhir.org/fhir/StructureDefinition/tyokyky-patient';
    const patient: Patient = {
      resourceType: 'Patient',
      meta: { profile: [`${profile}|999`] },
      identifier: [{ system: 'urn:ietf:rfc:3986', value: uniqueUrn() }],
    };
    const strict = await post(app, '/fhir/Patient', patient);
    expect(strict.status).toBe(422);
    const issues = (strict.body as OperationOutcome).issue ?? [];
    expect(issues.some((i) => i.diagnostics?.startsWith('strict-profile'))).toBe(true);
    expect(issues).toContainEqual(
      expect.objectContaining({
        severity: 'warning',
        diagnostics: `Profile reference '${profile}|999' has not been checked because it could not be found`,
      }),
    );
    // The version held (0.1.0, also as 0.1) is ours: the profile's own rules apply.
    const held = await post(app, '/fhir/Patient', { ...patient, meta: { profile: [`${profile}|0.1`] } });
    expect(
      (held.body as OperationOutcome).issue?.some((i) => i.diagnostics?.startsWith('strict-profile')),
    ).toBe(false);
  });
});

describe('transaction and batch', () => {
  it('an entry of the wrong shape is a 400 naming the element, never a 500; in a batch that entry alone', async () => {
    const patient = {
      resourceType: 'Patient',
      identifier: [{ system: 'urn:ietf:rfc:3986', value: uniqueUrn() }],
    };
    const post_ = { method: 'POST', url: 'Patient' };
    const cases: Array<[unknown, string, string]> = [
      [null, 'Bundle.entry[0]', 'entry[0] must be an object'],
      [
        { resource: patient, request: 'POST Patient' },
        'Bundle.entry[0].request',
        'entry[0]: request must be an object',
      ],
      [
        { resource: patient, request: { method: 'constructor', url: 'Patient' } },
        'Bundle.entry[0].request.method',
        'entry[0]: request.method must be GET, HEAD, POST, PUT, PATCH or DELETE',
      ],
      // A list holding the method's name is no method (a key lookup would read it as its text).
      [
        { resource: patient, request: { method: ['POST'], url: 'Patient' } },
        'Bundle.entry[0].request.method',
        'entry[0]: request.method must be GET, HEAD, POST, PUT, PATCH or DELETE',
      ],
      [
        { resource: patient, request: { method: 'POST', url: ['Patient'] } },
        'Bundle.entry[0].request.url',
        'entry[0]: request.url must be a string',
      ],
      [
        { fullUrl: 5, resource: patient, request: post_ },
        'Bundle.entry[0].fullUrl',
        'entry[0]: fullUrl must be a string',
      ],
      [
        { resource: patient, request: { ...post_, ifNoneExist: 5 } },
        'Bundle.entry[0].request.ifNoneExist',
        'entry[0]: request.ifNoneExist must be a string',
      ],
      [
        { resource: patient, request: { method: 'PUT', url: 'Patient/x', ifMatch: {} } },
        'Bundle.entry[0].request.ifMatch',
        'entry[0]: request.ifMatch must be a string',
      ],
    ];
    for (const [entry, where, message] of cases) {
      const res = await post(loose, '/fhir', { resourceType: 'Bundle', type: 'transaction', entry: [entry] });
      expect(res.status, message).toBe(400);
      expect((res.body as OperationOutcome).issue[0]).toMatchObject({
        expression: [where],
        diagnostics: message,
      });
      const batch = await post(loose, '/fhir', {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [entry, { resource: patient, request: post_ }],
      });
      expect(batch.status, message).toBe(200);
      const answers = (batch.body as Bundle).entry ?? [];
      expect(answers.map((e) => e.response?.status)).toEqual(['400 Bad Request', '201 Created']);
      expect(answers[0].response?.outcome).toMatchObject({
        issue: [{ expression: [where], diagnostics: message }],
      });
      patient.identifier[0].value = uniqueUrn();
    }
  });

  it('stores a transaction all together, rewriting urn:uuid references', async () => {
    const pUrn = uniqueUrn();
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: pUrn,
          resource: {
            resourceType: 'Patient',
            identifier: [{ system: 'urn:ietf:rfc:3986', value: uniqueUrn() }],
          },
          request: { method: 'POST', url: 'Patient' },
        },
        {
          fullUrl: uniqueUrn(),
          resource: observation(pUrn, { focus: [{ reference: pUrn }] }),
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    };
    const res = await post(loose, '/fhir', bundle);
    expect(res.status).toBe(200);
    const out = res.body as Bundle;
    expect(out.type).toBe('transaction-response');
    expect(out.entry?.map((e) => e.response?.status)).toEqual(['201 Created', '201 Created']);
    const patientId = out.entry?.[0].resource?.id;
    const obs = out.entry?.[1].resource as Observation;
    expect(obs.subject?.reference).toBe(`Patient/${patientId}`);
    expect(obs.focus?.[0].reference).toBe(`Patient/${patientId}`);
    expect(out.entry?.[0].response?.location).toMatch(new RegExp(`/fhir/Patient/${patientId}/_history/1$`));
    const stored = await request(app).get(`/fhir/Observation/${obs.id}`);
    expect(stored.body.subject.reference).toBe(`Patient/${patientId}`);
  });

  it('refuses a transaction that changes one resource twice (400 naming the second entry), before any work', async () => {
    const made = await post(loose, '/fhir/Practitioner', practitioner());
    const id = made.body.id as string;
    const before = await request(app).get(`/fhir/Practitioner/${id}/_history`);
    const res = await post(loose, '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { ...made.body, active: true },
          request: { method: 'PUT', url: `Practitioner/${id}`, ifMatch: 'W/"1"' },
        },
        { request: { method: 'DELETE', url: `Practitioner/${id}` } },
      ],
    });
    expect(res.status).toBe(400);
    expect(firstIssue(res.body)).toMatchObject({
      code: 'duplicate',
      expression: ['Bundle.entry[1].request.url'],
      diagnostics: `entry[1]: the Practitioner it changes is entry[0]'s target too; a transaction may change each resource once`,
    });
    const after = await request(app).get(`/fhir/Practitioner/${id}/_history`);
    expect((after.body as Bundle).total).toBe((before.body as Bundle).total);
  });

  it('points references at the resource a conditional create found, also between conditional entries', async () => {
    const value = uniqueUrn();
    const existing = await post(loose, '/fhir/Patient', {
      resourceType: 'Patient',
      identifier: [{ system: 'urn:ietf:rfc:3986', value }],
    });
    expect(existing.status).toBe(201);
    const pUrn = uniqueUrn();
    const conditional = (o: Observation) => ({
      fullUrl: uniqueUrn(),
      resource: o,
      request: {
        method: 'POST' as const,
        url: 'Observation',
        ifNoneExist: `identifier=urn:ietf:rfc:3986|${o.identifier?.[0].value}`,
      },
    });
    const first = observation(pUrn);
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        // The Observations come first and are conditional too: they must still wait for the Patient.
        conditional(first),
        conditional(observation(pUrn)),
        {
          fullUrl: pUrn,
          resource: { resourceType: 'Patient', identifier: [{ system: 'urn:ietf:rfc:3986', value }] },
          request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=urn:ietf:rfc:3986|${value}` },
        },
        // The same criteria twice in one transaction: one resource, found by the second entry.
        conditional(first),
      ],
    };
    const res = await post(loose, '/fhir', bundle);
    expect(res.status).toBe(200);
    const out = res.body as Bundle;
    expect(out.entry?.map((e) => e.response?.status)).toEqual([
      '201 Created',
      '201 Created',
      '200 OK',
      '200 OK',
    ]);
    expect(out.entry?.[2].resource?.id).toBe(existing.body.id);
    for (const i of [0, 1, 3]) {
      expect((out.entry?.[i].resource as Observation).subject?.reference).toBe(`Patient/${existing.body.id}`);
    }
    expect(out.entry?.[3].resource?.id).toBe(out.entry?.[0].resource?.id);
    expect(await countByIdentifier('Observation', first.identifier?.[0].value as string)).toBe(1);
    expect(await countByIdentifier('Patient', value)).toBe(1);
  });

  it('resolves conditional entries that reference each other in a cycle before writing either', async () => {
    const patient = await post(loose, '/fhir/Patient', { resourceType: 'Patient' });
    const subject = `Patient/${patient.body.id}`;
    const existing = await post(loose, '/fhir/Observation', observation(subject));
    expect(existing.status).toBe(201);
    const [aUrn, bUrn] = [uniqueUrn(), uniqueUrn()];
    const a = observation(subject, { derivedFrom: [{ reference: bUrn }] });
    // b's criteria find the stored Observation; a is new and must point at what b found.
    const b = { ...(existing.body as Observation), derivedFrom: [{ reference: aUrn }] };
    const entry = (fullUrl: string, o: Observation) => ({
      fullUrl,
      resource: o,
      request: {
        method: 'POST' as const,
        url: 'Observation',
        ifNoneExist: `identifier=urn:ietf:rfc:3986|${o.identifier?.[0].value}`,
      },
    });
    const res = await post(loose, '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [entry(aUrn, a), entry(bUrn, b)],
    });
    expect(res.status).toBe(200);
    const out = res.body as Bundle;
    expect(out.entry?.map((e) => e.response?.status)).toEqual(['201 Created', '200 OK']);
    expect(out.entry?.[1].resource?.id).toBe(existing.body.id);
    expect((out.entry?.[0].resource as Observation).derivedFrom).toEqual([
      { reference: `Observation/${existing.body.id}` },
    ]);
  });

  it('resolves conditional references to existing resources, and fails when none matches', async () => {
    const value = uniqueUrn();
    const patient = await post(loose, '/fhir/Patient', {
      resourceType: 'Patient',
      identifier: [{ system: 'urn:ietf:rfc:3986', value }],
    });
    const bundle = (ref: string): Bundle => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: observation(ref), request: { method: 'POST', url: 'Observation' } }],
    });
    const ok = await post(loose, '/fhir', bundle(`Patient?identifier=urn:ietf:rfc:3986|${value}`));
    expect(ok.status).toBe(200);
    expect((ok.body as Bundle).entry?.[0].resource).toMatchObject({
      subject: { reference: `Patient/${patient.body.id}` },
    });
    const none = await post(loose, '/fhir', bundle(`Patient?identifier=urn:ietf:rfc:3986|${uniqueUrn()}`));
    expect(none.status).toBe(400);
    expect(firstIssue(none.body)).toMatchObject({
      code: 'not-found',
      expression: ['Bundle.entry[0].resource.subject'],
      diagnostics: 'entry[0]: the conditional reference to Patient matches no resource',
    });
    // The search names the target by identifier (possibly a HETU): it is not quoted back.
    const byHetu = await post(loose, '/fhir', bundle('Patient?identifier=urn:oid:1.2.246.21|010181-900C'));
    expect(byHetu.status).toBe(400);
    expect(JSON.stringify(byHetu.body)).not.toContain('010181-900C');
  });

  it('is all-or-nothing: an invalid entry fails the whole Bundle with 422 naming the entry', async () => {
    const ok = practitioner();
    const bad = { ...practitioner(), gender: 'robot' };
    const res = await post(app, '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: ok, request: { method: 'POST', url: 'Practitioner' } },
        { resource: bad, request: { method: 'POST', url: 'Practitioner' } },
      ],
    });
    expect(res.status).toBe(422);
    const errors = (res.body as OperationOutcome).issue ?? [];
    expect(errors.map((i) => i.expression?.[0])).toContain('Bundle.entry[1].resource.gender');
    expect(await countByIdentifier('Practitioner', ok.identifier?.[0].value as string)).toBe(0);
  });

  it('rolls back earlier entries when a later one fails in the store (stale If-Match → 412)', async () => {
    const existing = (await post(app, '/fhir/Practitioner', practitioner())).body as Practitioner;
    const fresh = practitioner();
    const res = await post(app, '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: fresh, request: { method: 'POST', url: 'Practitioner' } },
        {
          resource: { ...existing, active: false },
          request: { method: 'PUT', url: `Practitioner/${existing.id}`, ifMatch: 'W/"7"' },
        },
      ],
    });
    expect(res.status).toBe(412);
    expect(firstIssue(res.body)?.diagnostics).toMatch(/^entry\[1\]: /);
    expect(await countByIdentifier('Practitioner', fresh.identifier?.[0].value as string)).toBe(0);
  });

  it('runs batch entries independently, each with its own status', async () => {
    const res = await post(app, '/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: practitioner(), request: { method: 'POST', url: 'Practitioner' } },
        {
          resource: { ...practitioner(), gender: 'robot' },
          request: { method: 'POST', url: 'Practitioner' },
        },
        { request: { method: 'GET', url: 'Practitioner/does-not-exist' } },
      ],
    });
    expect(res.status).toBe(200);
    const out = res.body as Bundle;
    expect(out.type).toBe('batch-response');
    expect(out.entry?.map((e) => e.response?.status.split(' ')[0])).toEqual(['201', '422', '404']);
    expect(out.entry?.[1].response?.outcome?.resourceType).toBe('OperationOutcome');
  });

  it('rejects Bundles of other types and entries without a request', async () => {
    const wrong = await post(app, '/fhir', { resourceType: 'Bundle', type: 'collection' });
    expect(wrong.status).toBe(400);
    expect(firstIssue(wrong.body)?.expression).toEqual(['Bundle.type']);
    const noRequest = await post(app, '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: practitioner() }],
    });
    expect(noRequest.status).toBe(400);
    expect(firstIssue(noRequest.body)?.expression).toEqual(['Bundle.entry[0].request.method']);
  });
});

describe('$validate', () => {
  it('returns the validator OperationOutcome with 200 at type level', async () => {
    const bad = await post(app, '/fhir/Practitioner/$validate', { ...practitioner(), gender: 'robot' });
    expect(bad.status).toBe(200);
    const errors = (bad.body as OperationOutcome).issue?.filter((i) => i.severity === 'error') ?? [];
    expect(errors.map((i) => i.expression?.[0])).toContain('Practitioner.gender');
    const good = await post(app, '/fhir/Practitioner/$validate', practitioner());
    expect(good.status).toBe(200);
    expect((good.body as OperationOutcome).issue?.filter((i) => i.severity === 'error')).toEqual([]);
  });

  it('validates a stored resource at instance level and accepts Parameters', async () => {
    const stored = (await post(app, '/fhir/Practitioner', practitioner())).body as Practitioner;
    const instance = await request(app).get(`/fhir/Practitioner/${stored.id}/$validate`);
    expect(instance.status).toBe(200);
    expect(instance.body.resourceType).toBe('OperationOutcome');
    const params = await post(app, '/fhir/Practitioner/$validate', {
      resourceType: 'Parameters',
      parameter: [{ name: 'resource', resource: { ...practitioner(), gender: 'robot' } }],
    });
    expect(params.status).toBe(200);
    expect(
      (params.body as OperationOutcome).issue?.some((i) => i.expression?.[0] === 'Practitioner.gender'),
    ).toBe(true);
  });
});

describe('$validate Parameters', () => {
  const resource = { name: 'resource', resource: { resourceType: 'Practitioner' } };
  it('a malformed Parameters body is a 400 naming the parameter, never a 500', async () => {
    for (const [parameter, where, text] of [
      ['x', 'Parameters.parameter', 'Parameters.parameter must be a list of parameters'],
      [{ name: 'resource' }, 'Parameters.parameter', 'Parameters.parameter must be a list of parameters'],
      [
        [null],
        'Parameters.parameter[0]',
        'Parameters.parameter[0] must be a parameter: an object with a name',
      ],
      [
        [resource, 7],
        'Parameters.parameter[1]',
        'Parameters.parameter[1] must be a parameter: an object with a name',
      ],
      [
        [{ resource: resource.resource }],
        'Parameters.parameter[0].name',
        'Parameters.parameter[0].name must be a string',
      ],
      [
        [resource, { name: 7 }],
        'Parameters.parameter[1].name',
        'Parameters.parameter[1].name must be a string',
      ],
    ] as const) {
      const res = await post(app, '/fhir/Practitioner/$validate', { resourceType: 'Parameters', parameter });
      expect(res.status, JSON.stringify(parameter)).toBe(400);
      expect(res.body.issue).toEqual([
        {
          severity: 'error',
          code: 'invalid',
          diagnostics: `$validate: ${text}`,
          expression: [where],
          location: [where],
        },
      ]);
    }
  });

  it('a profile that is not a string is refused (400 naming it), not ignored; a string one applies', async () => {
    for (const profile of [
      { name: 'profile', valueUri: 7 },
      { name: 'profile', valueUri: ['x'] },
      { name: 'profile' },
    ]) {
      const res = await post(app, '/fhir/Practitioner/$validate', {
        resourceType: 'Parameters',
        parameter: [resource, profile],
      });
      expect(res.status, JSON.stringify(profile)).toBe(400);
      expect(res.body.issue[0]).toMatchObject({
        code: 'invalid',
        diagnostics:
          '$validate: the profile parameter is a canonical URL (valueUri or valueCanonical, a string)',
        expression: ['Parameters.parameter[1]'],
      });
    }
    const plain = await post(app, '/fhir/Practitioner/$validate', {
      resourceType: 'Parameters',
      parameter: [resource],
    });
    expect(plain.body.issue.filter((i: { severity: string }) => i.severity === 'error')).toEqual([]);
    const patient = 'https://tyokyky-fhir.org/fhir/StructureDefinition/tyokyky-patient';
    for (const value of [{ valueUri: patient }, { valueCanonical: patient }]) {
      const res = await post(app, '/fhir/Practitioner/$validate', {
        resourceType: 'Parameters',
        parameter: [resource, { name: 'profile', ...value }],
      });
      expect(res.status).toBe(200);
      expect(
        res.body.issue.filter((i: { severity: string }) => i.severity === 'error').length,
      ).toBeGreaterThan(0);
    }
  });
});

describe('metadata and operations endpoints', () => {
  it('answers mode=full and mode=normative with the statement; mode=terminology is 400, not a statement of the wrong kind', async () => {
    for (const mode of ['full', 'normative']) {
      const res = await request(app).get('/fhir/metadata').query({ mode });
      expect([res.status, res.body.resourceType], mode).toEqual([200, 'CapabilityStatement']);
    }
    const terminology = await request(app).get('/fhir/metadata').query({ mode: 'terminology' });
    expect(terminology.status).toBe(400);
    expect(firstIssue(terminology.body)).toMatchObject({ code: 'not-supported', expression: ['mode'] });
    const other = await request(app).get('/fhir/metadata').query({ mode: 'everything' });
    expect(other.status).toBe(400);
    expect(firstIssue(other.body)?.diagnostics).toBe('mode may be full, normative or terminology');
  });

  it('generates a CapabilityStatement from what is implemented', async () => {
    const res = await request(app).get('/fhir/metadata');
    expect(res.status).toBe(200);
    const cs = res.body as CapabilityStatement;
    expect(cs.fhirVersion).toBe('4.0.1');
    expect(cs.format).toContain('application/fhir+json');
    // Every format the statement names is one the server answers in, by _format and by Accept.
    for (const format of cs.format ?? []) {
      const byParam = await request(app).get('/fhir/metadata').query({ _format: format });
      expect(byParam.status, format).toBe(200);
      if (format.includes('/'))
        expect((await request(app).get('/fhir/metadata').set('Accept', format)).status, format).toBe(200);
    }
    expect(cs.rest?.[0].resource?.[0].searchParam?.map((p) => p.name)).toContain('_cursor');
    // A parameter many types share is documented with its own type's line, not "Multiple Resources:".
    const docs = (cs.rest?.[0].resource ?? []).flatMap((r) =>
      (r.searchParam ?? []).map((p) => p.documentation ?? ''),
    );
    expect(docs.filter((d) => d.startsWith('Multiple Resources'))).toEqual([]);
    const patientParam = cs.rest?.[0].resource
      ?.find((r) => r.type === 'Observation')
      ?.searchParam?.find((p) => p.name === 'patient');
    expect(patientParam?.documentation).toMatch(/^The subject that the observation is about \(if patient\)/);
    const rest = cs.rest?.[0];
    expect(rest?.interaction?.map((i) => i.code)).toEqual(['history-system', 'transaction', 'batch']);
    const obs = rest?.resource?.find((r) => r.type === 'Observation');
    expect(obs?.interaction?.map((i) => i.code)).toContain('search-type');
    expect(obs?.searchParam?.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        '_id',
        '_lastUpdated',
        'identifier',
        'patient',
        'subject',
        'code',
        'category',
        'status',
        'date',
        '_count',
      ]),
    );
    expect(obs?.operation?.[0].name).toBe('validate');
    const patient = rest?.resource?.find((r) => r.type === 'Patient');
    expect(patient?.supportedProfile).toContain(
      'https://tyokyky-fhir.org/fhir/StructureDefinition/tyokyky-patient',
    );
  });

  it('serves /healthz, echoes X-Request-Id and counts requests in /metrics', async () => {
    const app = fx.app();
    const health = await request(app).get('/healthz').set('X-Request-Id', 'req-123');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    expect(health.headers['x-request-id']).toBe('req-123');
    const generated = await request(app).get('/fhir/metadata');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const metrics = await request(app).get('/metrics');
    expect(metrics.text).toMatch(
      /http_requests_total\{method="GET",route="\/fhir\/metadata",status="200"\} 1/,
    );
    expect(metrics.text).toMatch(/http_request_duration_seconds_bucket/);
  });

  it('answers canonical read, create and search URLs (dispatched directly) as the router does', async () => {
    const app = fx.app();
    const mismatch = await post(app, '/fhir/Patient', practitioner());
    expect(mismatch.status).toBe(400);
    expect(firstIssue(mismatch.body)?.expression).toEqual(['resourceType']);

    // Canonical spellings take the direct dispatch; a trailing slash takes the router. Paths are
    // matched as written (the security front judges them so): another case is no route.
    const created = await post(app, '/fhir/Practitioner', practitioner());
    const viaRouter = await post(app, '/fhir/Practitioner/', practitioner());
    expect((await post(app, '/FHIR/Practitioner', practitioner())).status).toBe(404);
    for (const res of [created, viaRouter]) {
      expect(res.status).toBe(201);
      expect(res.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
      expect(res.headers.location).toMatch(/\/fhir\/Practitioner\/[^/]+\/_history\/1$/);
      expect([...parseServerTiming(res.headers['server-timing']).keys()]).toEqual(['validate', 'db']);
    }
    const id = (created.body as Practitioner).id;
    const direct = await request(app).get(`/fhir/Practitioner/${id}`).query({ _format: 'application/json' });
    const routed = await request(app).get(`/fhir/Practitioner/${id}/`).query({ _format: 'application/json' });
    expect(direct.status).toBe(200);
    expect(routed.status).toBe(200);
    expect(direct.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(routed.headers['content-type']).toBe(direct.headers['content-type']);
    expect(routed.headers.etag).toBe(direct.headers.etag);
    expect(routed.body).toEqual(direct.body);

    // Negotiation and errors behave alike on both paths.
    for (const path of [`/fhir/Practitioner/${id}`, `/fhir/Practitioner/${id}/`]) {
      const xml = await request(app).get(path).query({ _format: 'xml' });
      expect(xml.status).toBe(406);
      expect(firstIssue(xml.body)?.diagnostics).toMatch(/_format=xml is not supported/);
    }
    for (const path of ['/fhir/Practitioner/no-such-id', '/fhir/Practitioner/no-such-id/']) {
      const missing = await request(app).get(path);
      expect(missing.status).toBe(404);
      expect(firstIssue(missing.body)?.code).toBe('not-found');
    }
    const wrongType = await request(app)
      .post('/fhir/Practitioner')
      .set('Content-Type', 'text/plain')
      .send('x');
    expect(wrongType.status).toBe(415);
    const search = await request(app).get('/fhir/Practitioner').query({ _id: id });
    expect((search.body as Bundle).entry?.map((e) => e.resource?.id)).toEqual([id]);

    // Telemetry sees the direct path: request ids and metrics by route pattern.
    expect(direct.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const metrics = (await request(app).get('/metrics')).text;
    expect(metrics).toMatch(/http_requests_total\{method="POST",route="\/fhir\/:type",status="201"\} 2/);
    expect(metrics).toMatch(/http_requests_total\{method="GET",route="\/fhir\/:type\/:id",status="200"\} 2/);
    expect(metrics).toMatch(/http_requests_total\{method="GET",route="\/fhir\/:type\/:id",status="404"\} 2/);
    expect(metrics).toMatch(/http_requests_total\{method="GET",route="\/fhir\/:type",status="200"\} 1/);
  });
});

describe('sync status', () => {
  it('mounts GET /api/sync/status when a SyncService is passed', async () => {
    const { createSync } = await import('../../src/sync/index.ts');
    const sync = createSync({
      store: fx.store as never,
      remote: { baseUrl: 'http://127.0.0.1:9/fhir', party: 'kela' },
      installHook: false,
    });
    await sync.ready;
    const withSync = fx.app({ sync });
    const res = await request(withSync).get('/api/sync/status');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ remote: 'http://127.0.0.1:9/fhir', party: 'kela', queueDepth: 0 });
    const metrics = await request(withSync).get('/metrics');
    expect(metrics.text).toMatch(
      /http_requests_total\{method="GET",route="\/api\/sync\/status",status="200"\} 1/,
    );
    expect(metrics.text).toMatch(/^# HELP tyokyky_sync_/m);
    const without = await request(app).get('/api/sync/status');
    expect(without.status).toBe(404);

    // POST /api/sync/retry: what `tyokyky sync retry` does, for a server whose store the CLI cannot open.
    const [dead] = await fx.store.query<{ id: string }>(
      `INSERT INTO sync_outbox (resource_type, resource_id, action, payload, state, reason)
       VALUES ('Observation', 'retry-test', 'create', '{}', 'dead', 'test') RETURNING id`,
    );
    /** The outbox gauge's series on /metrics, read from the store when scraped (no status call between). */
    const outboxGauge = async () =>
      (await request(withSync).get('/metrics')).text
        .split('\n')
        .filter(
          (l) =>
            l.startsWith('tyokyky_sync_outbox_rows{state="pending"}') ||
            l.startsWith('tyokyky_sync_outbox_rows{state="dead"}'),
        );
    try {
      expect(await outboxGauge()).toEqual([
        'tyokyky_sync_outbox_rows{state="pending"} 0',
        'tyokyky_sync_outbox_rows{state="dead"} 1',
      ]);
      const retried = await request(withSync).post(`/api/sync/retry?id=${dead.id}`);
      expect(retried.status).toBe(200);
      expect(retried.body).toEqual({ requeued: 1 });
      const [row] = await fx.store.query<{ state: string }>('SELECT state FROM sync_outbox WHERE id = $1', [
        dead.id,
      ]);
      expect(row.state).toBe('pending');
      // A state that emptied shows 0, not its last count.
      expect(await outboxGauge()).toEqual([
        'tyokyky_sync_outbox_rows{state="pending"} 1',
        'tyokyky_sync_outbox_rows{state="dead"} 0',
      ]);
      expect((await request(withSync).post(`/api/sync/retry?id=${dead.id}`)).body).toEqual({ requeued: 0 });
      // POST /api/sync/pull-refused: what `tyokyky sync pull --refused` does; nothing refused here.
      expect((await request(withSync).post('/api/sync/pull-refused')).body).toEqual({
        listed: 0,
        applied: 0,
        unchanged: 0,
        skipped: 0,
        refused: 0,
        gone: 0,
      });
      // With one listed and the remote unreachable: a 502 saying so, never the remote's own status.
      await fx.store.query(
        "INSERT INTO sync_pull_refused (resource_type, remote_id, reason) VALUES ('Consent', 'api-refused', 'test')",
      );
      try {
        expect((await request(withSync).get('/metrics')).text).toMatch(/^tyokyky_sync_pull_refused 1$/m);
        const down = await request(withSync).post('/api/sync/pull-refused');
        expect(down.status).toBe(502);
        expect(down.body.issue[0]).toMatchObject({
          code: 'transient',
          diagnostics: expect.stringMatching(/^sync-pull-2: the remote could not be read: /),
        });
      } finally {
        await fx.store.query("DELETE FROM sync_pull_refused WHERE remote_id = 'api-refused'");
      }
      const bad = await request(withSync).post('/api/sync/retry?id=abc');
      expect(bad.status).toBe(400);
      expect(bad.body.issue[0]).toMatchObject({
        expression: ['id'],
        diagnostics: 'outbox id must be a number, got "abc"',
      });
    } finally {
      await fx.store.query('DELETE FROM sync_outbox WHERE id = $1', [dead.id]);
    }

    // GET /api/sync/rows and /api/sync/conflicts: what `tyokyky sync dead-letters` and `sync conflicts`
    // list, for a server whose store the CLI cannot open — without the rows' content.
    const [stopped] = await fx.store.query<{ id: string }>(
      `INSERT INTO sync_outbox (resource_type, resource_id, action, payload, state, reason)
       VALUES ('Observation', 'list-test', 'create', '{"resourceType":"Observation"}', 'dead', 'refused') RETURNING id`,
    );
    await fx.store.query(
      `INSERT INTO sync_conflict (outbox_id, resource_type, resource_id, policy, resolution, detail)
       VALUES ($1::bigint, 'Observation', 'list-test', 'local-wins', 'local written', '{"remoteId":"r-9"}')`,
      [stopped.id],
    );
    try {
      const rows = await request(withSync).get('/api/sync/rows?state=dead&limit=10');
      expect(rows.status).toBe(200);
      const mine = (rows.body as Record<string, unknown>[]).filter((r) => r.resource_id === 'list-test');
      expect(mine).toEqual([
        expect.objectContaining({
          id: String(stopped.id),
          state: 'dead',
          reason: 'refused',
          action: 'create',
        }),
      ]);
      expect(mine[0]).not.toHaveProperty('payload');
      const conflicts = await request(withSync).get('/api/sync/conflicts');
      expect(conflicts.status).toBe(200);
      expect(conflicts.body[0]).toMatchObject({
        outbox_id: String(stopped.id),
        resource_type: 'Observation',
        resource_id: 'list-test',
        policy: 'local-wins',
        resolution: 'local written',
        detail: { remoteId: 'r-9' },
      });
      for (const [query, element, diagnostics] of [
        ['rows?state=gone', 'state', 'state must be dead, blocked, held or parked, got "gone"'],
        ['rows', 'state', 'state must be dead, blocked, held or parked, got ""'],
        ['conflicts?limit=0', 'limit', 'limit must be a whole number from 1 to 1000, got "0"'],
        ['rows?state=dead&limit=x', 'limit', 'limit must be a whole number from 1 to 1000, got "x"'],
      ]) {
        const bad = await request(withSync).get(`/api/sync/${query}`);
        expect(bad.status).toBe(400);
        expect(bad.body.issue[0]).toMatchObject({ expression: [element], diagnostics });
      }
    } finally {
      await fx.store.query('DELETE FROM sync_conflict WHERE resource_id = $1', ['list-test']);
      await fx.store.query('DELETE FROM sync_outbox WHERE id = $1', [stopped.id]);
    }

    // POST /api/sync/resolve: what `tyokyky sync resolve` does; only a parked row is resolved.
    const [parked] = await fx.store.query<{ id: string }>(
      `INSERT INTO sync_outbox (resource_type, resource_id, action, payload, state, reason)
       VALUES ('CarePlan', 'resolve-test', 'update', '{}', 'parked', 'test') RETURNING id`,
    );
    try {
      const resolved = await request(withSync).post(`/api/sync/resolve?id=${parked.id}&keep=remote`);
      expect(resolved.status).toBe(200);
      expect(resolved.body).toEqual({ requeued: 1, row: String(parked.id), superseded: [] });
      const [row] = await fx.store.query<{ state: string; resolve_with: string }>(
        'SELECT state, resolve_with FROM sync_outbox WHERE id = $1',
        [parked.id],
      );
      expect(row).toEqual({ state: 'pending', resolve_with: 'remote' });
      const again = await request(withSync).post(`/api/sync/resolve?id=${parked.id}&keep=local`);
      expect(again.body).toEqual({ requeued: 0 });
      for (const [query, element, diagnostics] of [
        [`id=${parked.id}&keep=mine`, 'keep', 'keep must be local or remote, got "mine"'],
        ['keep=local', 'id', 'outbox id must be a number, got ""'],
        // Past the largest row number there can be (bigint): no such row, said as for any other.
        [
          'id=9223372036854775808&keep=local',
          'id',
          'outbox id must be a number from 1 to 9223372036854775807, got "9223372036854775808"',
        ],
      ]) {
        const bad = await request(withSync).post(`/api/sync/resolve?${query}`);
        expect(bad.status).toBe(400);
        expect(bad.body.issue[0]).toMatchObject({ expression: [element], diagnostics });
      }
    } finally {
      await fx.store.query('DELETE FROM sync_outbox WHERE id = $1', [parked.id]);
    }
  });
});
