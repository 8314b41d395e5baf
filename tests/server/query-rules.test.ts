// The request rules every search-like answer shares: the Prefer header as RFC 7240 writes it, one
// policy for parameters an endpoint does not take (strict, or ignored under handling=lenient, in search
// and history alike), one _count parser (any whole number, capped; the links say the count used) and
// the last of a repeated _summary, as of _count, _total and _sort.
import type { Bundle, CapabilityStatement, OperationOutcome } from '@medplum/fhirtypes';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCapabilityStatement } from '../../src/server/fhir/capability.ts';
import { parsePrefer } from '../../src/server/http/negotiation.ts';
import { appPerSuite, practitioner } from './helpers.ts';

const FHIR = 'application/fhir+json';
const suite = appPerSuite({ strict: false });

beforeAll(async () => {
  for (let i = 0; i < 3; i++) {
    const res = await request(suite.app)
      .post('/fhir/Practitioner')
      .set('Content-Type', FHIR)
      .send(JSON.stringify(practitioner(`Rules${i}`)));
    expect(res.status).toBe(201);
  }
}, 60_000);

const link = (body: Bundle, relation: string) => body.link?.find((l) => l.relation === relation)?.url;
const firstIssue = (body: OperationOutcome) => {
  expect(body.resourceType).toBe('OperationOutcome');
  return body.issue?.[0];
};

describe('Prefer (RFC 7240)', () => {
  it('names are case-insensitive, values may be quoted, whitespace may surround =', () => {
    for (const header of [
      'handling=lenient',
      'Handling=lenient',
      'HANDLING=lenient',
      'handling="lenient"',
      'handling = lenient',
      'return=minimal, handling=lenient',
      'respond-async; wait=10, handling=lenient',
      'handling=lenient; foo=bar',
    ]) {
      expect(parsePrefer(header).lenient, header).toBe(true);
    }
    for (const header of ['RETURN=minimal', 'return="minimal"', 'return = minimal', 'Return=minimal;x=1']) {
      expect(parsePrefer(header).return, header).toBe('minimal');
    }
    expect(parsePrefer(['return=OperationOutcome', 'handling=lenient'])).toEqual({
      return: 'OperationOutcome',
      lenient: true,
    });
  });

  it('a preference is matched by its whole name, and the first of a name wins', () => {
    for (const header of [
      'no-handling=lenient',
      'xhandling=lenient',
      'handling=lenientx',
      'handling=strict, handling=lenient',
      'foo="handling=lenient"',
      'handling',
      '',
    ]) {
      expect(parsePrefer(header).lenient, header).toBe(false);
    }
    expect(parsePrefer('noreturn=minimal').return).toBeUndefined();
    expect(parsePrefer('return=minimalist').return).toBeUndefined();
    expect(parsePrefer('return=representation, return=minimal').return).toBe('representation');
    expect(parsePrefer(undefined)).toEqual({ return: undefined, lenient: false });
  });

  it('over HTTP, a differently written handling=lenient is honoured on search', async () => {
    const res = await request(suite.app)
      .get('/fhir/Practitioner')
      .query({ colour: 'blue' })
      .set('Prefer', 'Handling = "lenient"');
    expect(res.status).toBe(200);
    expect(res.headers['preference-applied']).toBe('handling=lenient');
  });
});

describe('unknown parameters: one policy for search and history', () => {
  for (const path of ['/fhir/Practitioner/_history', '/fhir/_history']) {
    it(`${path}: 400 by default, ignored under Prefer: handling=lenient`, async () => {
      const strict = await request(suite.app).get(path).query({ _at: '2025', _count: '1' });
      expect(strict.status).toBe(400);
      expect(firstIssue(strict.body)).toMatchObject({ code: 'not-supported', expression: ['_at'] });
      const lenient = await request(suite.app)
        .get(path)
        .query({ _at: '2025', _count: '1' })
        .set('Prefer', 'handling=lenient');
      expect(lenient.status).toBe(200);
      expect(lenient.headers['preference-applied']).toBe('handling=lenient');
      expect((lenient.body as Bundle).type).toBe('history');
      // The links say what the answer was: the ignored parameter is not in them.
      expect(link(lenient.body, 'self')).not.toContain('_at');
      // A bad value of a parameter it does take is still a 400.
      const bad = await request(suite.app).get(path).query({ _since: 'x' }).set('Prefer', 'handling=lenient');
      expect(bad.status).toBe(400);
      expect(firstIssue(bad.body)?.expression).toEqual(['_since']);
    });
  }

  it("an instance's history too", async () => {
    const search = await request(suite.app).get('/fhir/Practitioner').query({ _count: '1' });
    const id = (search.body as Bundle).entry?.[0]?.resource?.id as string;
    const lenient = await request(suite.app)
      .get(`/fhir/Practitioner/${id}/_history`)
      .query({ _at: '2025' })
      .set('Prefer', 'handling=lenient');
    expect(lenient.status).toBe(200);
    expect(lenient.headers['preference-applied']).toBe('handling=lenient');
    const plain = await request(suite.app).get(`/fhir/Practitioner/${id}/_history`);
    expect(plain.headers['preference-applied']).toBeUndefined();
  });

  it('the CapabilityStatement says unknown parameters are refused unless handling=lenient', () => {
    const cs = buildCapabilityStatement({
      base: 'http://x/fhir',
      strict: true,
      profiles: new Map(),
      declared: { type: [], system: [], operations: [], conditionalUpdate: false },
    }) as CapabilityStatement;
    const doc = cs.rest?.[0]?.documentation ?? '';
    expect(doc).toMatch(/unknown (search )?parameter/i);
    expect(doc).toContain('handling=lenient');
  });
});

describe('_count: one parser, any whole number, capped at 1000', () => {
  it('search: a count over the cap is answered with 1000, and the links say 1000', async () => {
    for (const _count of ['5000', '1000000000', '99999999999999999999999999']) {
      const res = await request(suite.app).get('/fhir/Practitioner').query({ _count });
      expect(res.status, _count).toBe(200);
      expect(link(res.body, 'self'), _count).toMatch(/[?&]_count=1000$/);
    }
    // _offset by the same parser: past every match is an empty page, not a 400 or a 500.
    const far = await request(suite.app).get('/fhir/Practitioner').query({ _offset: '99999999999999999999' });
    expect(far.status).toBe(200);
    expect((far.body as Bundle).entry).toBeUndefined();
    const repeated = await request(suite.app).get('/fhir/Practitioner?_count=5&_count=1');
    expect(link(repeated.body, 'self')).toMatch(/\?_count=1$/);
    expect((repeated.body as Bundle).entry).toHaveLength(1);
    for (const _count of ['-1', '1e3', 'many', '']) {
      const bad = await request(suite.app).get('/fhir/Practitioner').query({ _count });
      expect(bad.status, _count).toBe(400);
      expect(firstIssue(bad.body)?.expression).toEqual(['_count']);
    }
  });

  it('history: the same parser', async () => {
    for (const path of ['/fhir/Practitioner/_history', '/fhir/_history']) {
      const res = await request(suite.app).get(path).query({ _count: '1000000000' });
      expect(res.status, path).toBe(200);
      expect(link(res.body, 'self')).toMatch(/[?&]_count=1000(&|$)/);
      const bad = await request(suite.app).get(path).query({ _count: 'many' });
      expect(bad.status).toBe(400);
      expect(firstIssue(bad.body)).toMatchObject({
        diagnostics: "Invalid value for '_count': not a non-negative integer",
        expression: ['_count'],
      });
    }
  });
});

describe('_summary given more than once', () => {
  it('the last one counts, as for _count, _total and _sort', async () => {
    const res = await request(suite.app).get('/fhir/Practitioner?_summary=true&_summary=count');
    expect(res.status).toBe(200);
    expect((res.body as Bundle).entry).toBeUndefined();
    expect(typeof (res.body as Bundle).total).toBe('number');
    const other = await request(suite.app).get('/fhir/Practitioner?_summary=count&_summary=true&_count=1');
    expect(other.status).toBe(200);
    expect((other.body as Bundle).entry).toHaveLength(1);
    // One in the URL, one in a POST _search body: the body's is the later.
    const posted = await request(suite.app)
      .post('/fhir/Practitioner/_search?_summary=true')
      .type('form')
      .send({ _summary: 'count' });
    expect(posted.status).toBe(200);
    expect((posted.body as Bundle).entry).toBeUndefined();
    // A bad last value is still the 400 naming _summary.
    const bad = await request(suite.app).get('/fhir/Practitioner?_summary=true&_summary=maybe');
    expect(bad.status).toBe(400);
    expect(firstIssue(bad.body)?.expression).toEqual(['_summary']);
  });
});
