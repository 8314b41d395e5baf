// Inputs that used to crash a request with 500, on both engines: each must be a 4xx OperationOutcome
// naming the element and the rule, with nothing half-stored, or (year 9999) simply work.
import type { AddressInfo } from 'node:net';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import type express from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase, freshDatabase } from '../helpers/databases.ts';
import { type Fixture, openFixture, practitioner, uniqueUrn } from './helpers.ts';

const FHIR = 'application/fhir+json';

describe.each(['pglite', 'postgres'] as const)('hostile and edge inputs (%s)', (engine) => {
  let fx: Fixture;
  let app: express.Express;
  let dbUrl: string | undefined;

  beforeAll(async () => {
    dbUrl = engine === 'postgres' ? await freshDatabase('tyk_edges') : undefined;
    fx = await openFixture({ databaseUrl: dbUrl });
    app = fx.app({ strict: false, limits: { bodyBytes: '8mb' } });
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
    if (dbUrl) await dropDatabase(dbUrl);
  });

  const post = (path: string, body: string, type = FHIR) =>
    request(app).post(path).set('Content-Type', type).send(body);
  const issues = (body: OperationOutcome) => {
    expect(body.resourceType).toBe('OperationOutcome');
    return body.issue ?? [];
  };
  const countOf = async (value: string) =>
    (
      (
        await request(app)
          .get('/fhir/Practitioner')
          .query({ identifier: `urn:ietf:rfc:3986|${value}`, _total: 'accurate' })
      ).body as Bundle
    ).total;

  it('a lone UTF-16 surrogate → 400 naming the element; $validate reports it as an error issue', async () => {
    const p = practitioner();
    const text = JSON.stringify(p).replace('"Virtanen"', '"Vir\\ud800tanen"');
    const res = await post('/fhir/Practitioner', text);
    expect(res.status).toBe(400);
    expect(issues(res.body)[0].expression).toEqual(['Practitioner.name[0].family']);
    expect(issues(res.body)[0].diagnostics).toMatch(/lone UTF-16 surrogate/);
    expect(await countOf(p.identifier?.[0].value as string)).toBe(0);
    // $validate performs the validation: 200 with the finding among its issues (R4 $validate).
    const validate = await post('/fhir/Practitioner/$validate', text);
    expect(validate.status).toBe(200);
    const found = issues(validate.body).find((i) => i.expression?.[0] === 'Practitioner.name[0].family');
    expect(found?.severity).toBe('error');
    expect(found?.diagnostics).toMatch(/lone UTF-16 surrogate/);
    const wrapped = await post(
      '/fhir/Practitioner/$validate',
      `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":${text}}]}`,
    );
    expect(wrapped.status).toBe(200);
    expect(issues(wrapped.body).some((i) => i.diagnostics?.includes('lone UTF-16 surrogate'))).toBe(true);
  });

  it('year 9999 is stored and searchable; year 0000 in a search → 400 naming the parameter', async () => {
    const p = { ...practitioner(), birthDate: '9999-12-31' };
    const res = await post('/fhir/Practitioner', JSON.stringify(p));
    expect(res.status).toBe(201);
    const obs = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'far future' },
      identifier: [{ system: 'urn:ietf:rfc:3986', value: uniqueUrn() }],
      effectiveDateTime: '9999-12-31T23:59:59Z',
    };
    const created = await post('/fhir/Observation', JSON.stringify(obs));
    expect(created.status).toBe(201);
    const found = await request(app).get('/fhir/Observation').query({ date: '9999', _total: 'accurate' });
    expect(found.status).toBe(200);
    expect((found.body as Bundle).entry?.map((e) => e.resource?.id)).toContain(created.body.id);
    const upTo = await request(app).get('/fhir/Observation').query({ _lastUpdated: 'le9999-12-31' });
    expect(upTo.status).toBe(200);
    expect((upTo.body as Bundle).entry?.length).toBeGreaterThan(0);
    const exact = await request(app).get('/fhir/Observation').query({ date: 'eq9999-12-31T23:59:59Z' });
    expect((exact.body as Bundle).entry?.map((e) => e.resource?.id)).toContain(created.body.id);
    for (const [name, value] of [
      ['date', '0000'],
      ['_lastUpdated', 'ge0000-01-01'],
    ]) {
      const zero = await request(app)
        .get('/fhir/Observation')
        .query({ [name]: value });
      expect(zero.status).toBe(400);
      expect(issues(zero.body)[0].expression).toEqual([name]);
    }
  });

  it('a forged _cursor whose id is not a FHIR id (U+0000) → 400 naming _cursor, on search and type/system history', async () => {
    const cursor = (parts: unknown[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
    const at = '2026-12-07T04:23:31.28+00:00';
    const forged: Array<[string, string]> = [
      ['/fhir/Observation?_count=2', cursor([at, 'x\u0000y', 0])],
      ['/fhir/Observation?_count=2', cursor([at, 'not_an id', 1])],
      ['/fhir/_history', cursor(['h', at, 'Observation', 'x\u0000', 1])],
      ['/fhir/Observation/_history', cursor(['h', at, 'Observation', 'x\u0000', 1])],
      ['/fhir/_history', cursor(['h', at, 'Obs\u0000', 'x', 1])],
      ['/fhir/Observation/_history', cursor(['h', at, 'Patient', 'x', 1])],
      ['/fhir/_history', cursor(['h', at, 'Observation', 'x', 2 ** 40])],
    ];
    for (const [path, value] of forged) {
      const res = await request(app).get(`${path}${path.includes('?') ? '&' : '?'}_cursor=${value}`);
      expect([path, res.status]).toEqual([path, 400]);
      expect(issues(res.body)[0]).toMatchObject({
        code: 'invalid',
        diagnostics: "Invalid value for '_cursor': not a cursor issued by this server",
        expression: ['_cursor'],
      });
    }
  });

  it('vread of a version id ≥ 2^31 → 404', async () => {
    const res = await post('/fhir/Practitioner', JSON.stringify(practitioner()));
    for (const vid of ['2147483648', '99999999999999999999']) {
      const v = await request(app).get(`/fhir/Practitioner/${res.body.id}/_history/${vid}`);
      expect(v.status).toBe(404);
      expect(issues(v.body)[0].code).toBe('not-found');
    }
  });

  // The validator refuses this body before any engine is reached (seconds of CPU): once is enough.
  if (engine === 'pglite')
    it('a body producing ~200,000 validation issues → 422 with a capped, summarised OperationOutcome', async () => {
      const identifier = uniqueUrn();
      const p = {
        ...practitioner(),
        identifier: [{ system: 'urn:ietf:rfc:3986', value: identifier }],
        name: Array.from({ length: 200_000 }, () => ({ family: 1 })),
      };
      const res = await post('/fhir/Practitioner', JSON.stringify(p));
      expect(res.status).toBe(422);
      const list = issues(res.body);
      expect(list.length).toBe(1001);
      expect(list[0].expression?.[0]).toMatch(/^Practitioner\.name\[0\]\.family/);
      expect(list[1000].diagnostics).toMatch(/^\d+ more issues not listed/);
      expect(await countOf(identifier)).toBe(0);
    }, 120_000);

  it('a string over 1 MB (R4 string maxLength) → 422 naming the element, nothing stored', async () => {
    const p = { ...practitioner(), name: [{ family: 'x'.repeat(1024 * 1024 + 1) }] };
    const res = await post('/fhir/Practitioner', JSON.stringify(p));
    expect(res.status).toBe(422);
    expect(issues(res.body)[0].code).toBe('too-long');
    expect(issues(res.body)[0].expression).toEqual(['Practitioner.name[0].family']);
    expect(await countOf(p.identifier?.[0].value as string)).toBe(0);
    const validate = await post('/fhir/Practitioner/$validate', JSON.stringify(p));
    expect(validate.status).toBe(200);
    expect(issues(validate.body)[0]).toMatchObject({
      severity: 'error',
      code: 'too-long',
      expression: ['Practitioner.name[0].family'],
    });
  });

  it('a declared charset other than UTF-8 is decoded, an unknown one is 415, invalid UTF-8 is 400', async () => {
    // Raw bytes over a real socket: supertest would serialise a Buffer as JSON for a JSON media type.
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    const send = async (charset: string, bytes: Buffer) => {
      const res = await fetch(`http://127.0.0.1:${port}/fhir/Practitioner`, {
        method: 'POST',
        headers: { 'Content-Type': `${FHIR}; charset=${charset}` },
        body: bytes,
      });
      return { status: res.status, body: (await res.json()) as OperationOutcome & { id?: string } };
    };
    try {
      const p = practitioner('Mäkelä');
      const res = await send('ISO-8859-1', Buffer.from(JSON.stringify(p), 'latin1'));
      expect(res.status).toBe(201);
      const read = await request(app).get(`/fhir/Practitioner/${res.body.id}`);
      expect(read.body.name[0].family).toBe('Mäkelä');

      const unknown = await send('x-klingon', Buffer.from(JSON.stringify(practitioner())));
      expect(unknown.status).toBe(415);
      expect(issues(unknown.body)[0].diagnostics).toBe('this charset is not supported; send UTF-8');

      const q = practitioner('Mäkelä');
      const garbled = await send('utf-8', Buffer.from(JSON.stringify(q), 'latin1'));
      expect(garbled.status).toBe(400);
      expect(issues(garbled.body)[0].diagnostics).toMatch(/not valid utf-8/);
      expect(await countOf(q.identifier?.[0].value as string)).toBe(0);
    } finally {
      server.close();
    }
  });
});
