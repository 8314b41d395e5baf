import type { Bundle, CarePlan, Consent, Goal, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The SDK's persona records (the source of examples/personas/*.json).
import { maija } from '../../examples/tools/personas.ts';
import { localIdSystem } from '../../src/mapping/index.ts';
import { type Secured, startSecured } from '../security/helpers.ts';
import { type Fixture, openFixture } from './helpers.ts';

// What the domain API promises a caller, on a real facade with its security layer: the scopes a write
// needs, one media type for every refusal, If-Match, and no write that erases what /fhir stored.

const JSON_BODY = { 'content-type': 'application/json' };
const FHIR_JSON = 'application/fhir+json';

let fx: Fixture;
let s: Secured;
let admin: string;
beforeAll(async () => {
  fx = await openFixture();
  s = await startSecured(fx.store, fx.validator);
  admin = (await s.client({ id: 'admin', scope: 'system/*.cruds' })).token;
  const res = await api(admin, 'POST', 'records', maija);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}, 60_000);
afterAll(async () => {
  await s?.running.close();
  await fx?.close();
});

type Answer = { status: number; type: string | null; allow: string | null; body: any };
async function api(
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await s.call(token, `${s.url}/api/${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headers: { ...JSON_BODY, ...headers },
  });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    allow: res.headers.get('allow'),
    body: text ? JSON.parse(text) : undefined,
  };
}

/** The stored resource of `type` whose domain id is `id`, as the admin reads it through /fhir. */
async function stored<T extends Resource>(type: string, kind: string, id: string): Promise<T> {
  const res = await s.call(admin, `/${type}?identifier=${localIdSystem(kind as never)}|${id}`);
  return ((await res.json()) as Bundle).entry?.[0]?.resource as T;
}

describe('a domain API write needs create, update and search', () => {
  it('a *.cu client is refused up front (one 403 naming the scopes); a *.cus client writes', async () => {
    const cu = (await s.client({ id: 'writer-cu', scope: 'system/*.cu' })).token;
    const cus = (await s.client({ id: 'writer-cus', scope: 'system/*.cus' })).token;
    const consent = { ...maija.consents![0]!, id: 'maija-consent-scopes' };
    for (const path of ['consents', 'plans', 'teams', 'assessments', 'records']) {
      const refused = await api(cu, 'POST', path, consent);
      expect(refused.status, path).toBe(403);
      expect(refused.body.issue[0].diagnostics, path).toMatch(/^sec-scope-1: /);
      expect(refused.body.issue[0].diagnostics, path).not.toMatch(/searching/);
    }
    expect(await stored('Consent', 'consent', consent.id)).toBeUndefined();
    const written = await api(cus, 'POST', 'consents', consent);
    expect(written.status, JSON.stringify(written.body)).toBe(201);
  });
});

describe('every /api refusal is one media type, an OperationOutcome', () => {
  it('front refusals, unknown routes, 406, route errors and wrong methods alike', async () => {
    const answers = {
      401: await api(undefined, 'GET', 'clients/maija/plan'),
      404: await api(admin, 'GET', 'clients/maija/nothing-here'),
      406: await api(admin, 'GET', 'clients/maija/plan', undefined, { accept: 'application/xml' }),
      400: await api(admin, 'POST', 'consents', { id: 'x' }),
      '404 view': await api(admin, 'GET', 'clients/no-such-client/plan'),
      405: await api(admin, 'DELETE', 'clients/maija/plan'),
    };
    for (const [what, a] of Object.entries(answers)) {
      expect(a.status, what).toBe(Number(what.split(' ')[0]));
      expect(a.type?.split(';')[0], what).toBe(FHIR_JSON);
      expect(a.body.resourceType, what).toBe('OperationOutcome');
    }
    expect(answers[405].allow).toBe('GET, HEAD');
    expect(answers[405].body.issue[0].diagnostics).toMatch(/DELETE/);
    const both = await api(admin, 'PUT', 'clients/maija/responsible-worker', {});
    expect([both.status, both.allow]).toEqual([405, 'POST, GET, HEAD']);
    const post = await api(admin, 'GET', 'consents');
    expect([post.status, post.allow]).toEqual([405, 'POST']);
    // A success stays plain JSON (the domain object is no FHIR resource).
    expect((await api(admin, 'GET', 'clients/maija/plan')).type).toMatch(/^application\/json/);
  });
});

describe('If-Match on a single object: the version the change was based on', () => {
  it('a stale If-Match is 409 same-version and nothing is written; the current one writes', async () => {
    const v1 = maija.consents![0]!;
    expect((await stored<Consent>('Consent', 'consent', v1.id)).meta?.versionId).toBe('1');
    const other = await api(admin, 'POST', 'consents', { ...v1, parties: ['kela'] });
    expect(other.status, JSON.stringify(other.body)).toBe(200);
    const v2 = await stored<Consent>('Consent', 'consent', v1.id);
    expect(v2.meta?.versionId).toBe('2');

    const stale = await api(admin, 'POST', 'consents', v1, { 'if-match': 'W/"1"' });
    expect(stale.status, JSON.stringify(stale.body)).toBe(409);
    expect(stale.body.issue[0].diagnostics).toMatch(/^same-version: Consent\.id: /);
    expect(await stored('Consent', 'consent', v1.id)).toEqual(v2);

    const malformed = await api(admin, 'POST', 'consents', v1, { 'if-match': '2' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.issue[0].expression).toEqual(['If-Match']);

    const current = await api(admin, 'POST', 'consents', v1, { 'if-match': 'W/"2"' });
    expect(current.status, JSON.stringify(current.body)).toBe(200);
    expect((await stored<Consent>('Consent', 'consent', v1.id)).meta?.versionId).toBe('3');
  });

  it("an assessment's If-Match is its own Observation's version, not its scores'", async () => {
    const assessment = maija.assessments![0]!;
    const own = await stored<Resource>('Observation', 'assessment', assessment.id);
    const changed = { ...assessment, note: 'Tarkennettu arvio.' };
    const res = await api(admin, 'POST', 'assessments', changed, {
      'if-match': `W/"${own.meta?.versionId}"`,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const again = await api(admin, 'POST', 'assessments', assessment, {
      'if-match': `W/"${own.meta?.versionId}"`,
    });
    expect(again.status, JSON.stringify(again.body)).toBe(409);
  });

  it('an If-Match for an object not stored is 409; on a record or a handover it is a 400', async () => {
    const fresh = { ...maija.consents![0]!, id: 'maija-consent-new' };
    const none = await api(admin, 'POST', 'consents', fresh, { 'if-match': 'W/"1"' });
    expect(none.status, JSON.stringify(none.body)).toBe(409);
    expect(await stored('Consent', 'consent', fresh.id)).toBeUndefined();
    const record = await api(admin, 'POST', 'records', maija, { 'if-match': 'W/"1"' });
    expect(record.status).toBe(400);
    expect(record.body.issue[0].expression).toEqual(['If-Match']);
  });
});

describe('a write over stored data the domain object cannot hold', () => {
  it('re-posting the plan view after /fhir gave a goal a target measure is 422 naming it; nothing written', async () => {
    const plan = await stored<CarePlan>('CarePlan', 'plan', 'maija-plan');
    const found = (await s.send(admin, 'GET', `/${plan.goal![0]!.reference}`)).body as Goal;
    expect(found?.id).toBeDefined();
    const measured: Goal = {
      ...found,
      target: [{ ...found.target?.[0], measure: { text: 'mittari-xq7' } }],
    };
    const put = await s.send(admin, 'PUT', `/Goal/${found.id}`, measured, {
      'content-type': FHIR_JSON,
      'if-match': `W/"${found.meta?.versionId}"`,
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const view = await api(admin, 'GET', 'clients/maija/plan');
    expect(view.body.warnings?.[0]?.expression).toEqual(['CarePlan.goal[0].target[0].measure']);

    const res = await api(admin, 'POST', 'plans', view.body.plan);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.issue[0].expression[0]).toMatch(/^(Goal|CarePlan\.goal\[0\])\.target\[0\]\.measure$/);
    expect(res.body.issue[0].diagnostics).toMatch(/^unheld-element: /);
    expect(JSON.stringify(res.body)).not.toContain('mittari-xq7');
    const after = await s.send(admin, 'GET', `/Goal/${found.id}`);
    expect(after.body.meta.versionId).toBe(put.body.meta.versionId);
    expect(after.body.target[0].measure).toEqual({ text: 'mittari-xq7' });
  });
});
