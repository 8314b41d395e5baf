// Kanta PHR mode: an update's If-Match is compared with the stored version before anything of the
// body is compared with the stored resource, so a wrong version tells a client nothing of what is
// stored (its subject, its business identifiers) — a client that may update but not read included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { type Secured, startSecured } from '../security/helpers.ts';
import { bodyWeight, phrPatient, urn } from './helpers.ts';

let store: Store;
let secured: Secured;
const tokens: Record<string, string> = {};
let id: string;
let p1: string;
let p2: string;
const ident = urn();

async function call(who: string, method: string, path: string, body?: unknown, headers = {}) {
  const res = await secured.call(tokens[who], path, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const body = (subject: string, identifier = ident) => ({
  ...bodyWeight(identifier),
  id,
  subject: { reference: `Patient/${subject}` },
  performer: [{ reference: `Patient/${p1}` }],
});

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  secured = await startSecured(store as never, (await loadProjectValidator()) as never, {
    mode: 'kanta-phr',
  });
  for (const [who, scope] of [
    ['admin', 'system/*.cruds'],
    ['upd', 'system/Observation.u'],
  ] as const) {
    tokens[who] = (await secured.client({ id: who, scope } as never, scope)).token;
  }
  p1 = (await call('admin', 'POST', '/Patient', phrPatient())).body.id;
  p2 = (await call('admin', 'POST', '/Patient', phrPatient())).body.id;
  const made = await call('admin', 'POST', '/Observation', body(p1));
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  id = made.body.id;
});
afterAll(async () => {
  await secured?.running.close();
  await store?.close();
});

describe('Kanta PHR update: the version first', () => {
  const stale = {
    severity: 'error',
    code: 'conflict',
    expression: ['Observation.meta.versionId'],
  };

  it('a wrong If-Match is 412 whether or not the body keeps the subject and identifiers', async () => {
    for (const b of [body(p1), body(p2), body(p1, urn())]) {
      const r = await call('upd', 'PUT', `/Observation/${id}`, b, { 'If-Match': 'W/"7"' });
      expect(r.status, JSON.stringify(r.body)).toBe(412);
      expect(r.body.issue).toEqual([expect.objectContaining(stale)]);
    }
  });

  it('an If-Match that names no version is 400 before the body is compared', async () => {
    const r = await call('upd', 'PUT', `/Observation/${id}`, body(p2), { 'If-Match': 'W/"abc"' });
    expect(r.status).toBe(400);
    expect(r.body.issue[0].expression).toEqual(['If-Match']);
  });

  it('with the current version, the content rules answer', async () => {
    const moved = await call('upd', 'PUT', `/Observation/${id}`, body(p2), { 'If-Match': 'W/"1"' });
    expect(moved.status).toBe(422);
    expect(moved.body.issue[0].diagnostics).toMatch(/^kanta-subject: /);
    const renamed = await call('upd', 'PUT', `/Observation/${id}`, body(p1, urn()), { 'If-Match': 'W/"1"' });
    expect(renamed.status).toBe(409);
    const ok = await call('upd', 'PUT', `/Observation/${id}`, body(p1), { 'If-Match': 'W/"1"' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  });
});
