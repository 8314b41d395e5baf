// Kanta PHR mode behind authentication: a write's references name resources the caller may see. A
// party (a receiving party, limited by the client's consents) must not learn from an accepted write
// that a Patient it may not read exists: a hidden target is refused as a missing one is (store-ref-1),
// as the ordinary facade refuses it.
import type { OperationOutcome } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { type Secured, startSecured } from '../security/helpers.ts';
import { batch, bodyWeight, phrPatient, urn } from './helpers.ts';

let store: Store;
let secured: Secured;
const tokens: Record<string, string> = {};
let hidden: string;
const nowhere = 'Patient/00000000-0000-4000-8000-00000000dead';

async function call(who: string, method: string, path: string, body?: unknown, headers = {}) {
  const res = await secured.call(tokens[who], path, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** A body weight about `subject` (Kanta's example names the Patient as its performer too). */
const about = (subject: string) => ({
  ...bodyWeight(urn()),
  subject: { reference: subject },
  performer: [{ reference: subject }],
});

/** store-ref-1 naming `ref` at `path`: the refusal of a missing target, whether missing or hidden. */
const missing = (ref: string, path: string) => ({
  severity: 'error',
  code: 'not-found',
  diagnostics: `store-ref-1: ${ref} does not exist here; a reference must name a stored resource`,
  expression: [path],
  location: [path],
});

/** The refusal of a body weight about `ref`: its subject and its performer. */
const refused = (ref: string, at = 'Observation') => [
  missing(ref, `${at}.subject`),
  missing(ref, `${at}.performer[0]`),
];

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  secured = await startSecured(store as never, (await loadProjectValidator()) as never, {
    mode: 'kanta-phr',
  });
  for (const [id, scope, party] of [
    ['admin', 'system/*.cruds', undefined],
    ['kela', 'system/Observation.cruds system/Patient.cruds', 'kela'],
  ] as const) {
    tokens[id] = (await secured.client({ id, scope, ...(party ? { party } : {}) } as never, scope)).token;
  }
  hidden = `Patient/${(await call('admin', 'POST', '/Patient', phrPatient())).body.id}`;
});
afterAll(async () => {
  await secured?.running.close();
  await store?.close();
});

describe('Kanta PHR mode, authentication on: a party writing about a Patient it may not read', () => {
  it('is refused as if the Patient did not exist, the same as for one that does not', async () => {
    expect((await call('kela', 'GET', `/${hidden}`)).status).toBe(403);
    const seen = await call('kela', 'POST', '/Observation', about(hidden));
    const none = await call('kela', 'POST', '/Observation', about(nowhere));
    expect([seen.status, none.status]).toEqual([422, 422]);
    expect((seen.body as OperationOutcome).issue).toEqual(refused(hidden));
    expect((none.body as OperationOutcome).issue).toEqual(refused(nowhere));
    // Nothing was written about the hidden Patient.
    const written = await call('admin', 'GET', `/Observation?patient=${hidden}`);
    expect(written.body.entry ?? []).toEqual([]);
  });

  it('in a batch, the entry alone is refused, naming its element; the others are answered', async () => {
    const r = await call(
      'kela',
      'POST',
      '',
      batch([
        { resource: about(hidden), request: { method: 'POST', url: 'Observation' } },
        { request: { method: 'GET', url: `Observation?patient=${hidden}` } },
      ]),
    );
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.entry.map((e: any) => e.response.status)).toEqual(['422', '200']);
    expect(r.body.entry[0].response.outcome.issue).toEqual(refused(hidden, 'Bundle.entry[0].resource'));
  });

  it('a caller that may read the Patient writes about it; one that does not exist is refused to it too', async () => {
    expect((await call('admin', 'POST', '/Observation', about(hidden))).status).toBe(201);
    const none = await call('admin', 'POST', '/Observation', about(nowhere));
    expect(none.status).toBe(422);
    expect(none.body.issue).toEqual(refused(nowhere));
  });

  it('an update that points a reference at a Patient the caller cannot see is refused the same way', async () => {
    const made = await call('admin', 'POST', '/Observation', about(hidden));
    const next = { ...made.body, performer: [{ reference: nowhere }] };
    const r = await call('admin', 'PUT', `/Observation/${made.body.id}`, next, { 'If-Match': 'W/"1"' });
    expect(r.status).toBe(422);
    expect(r.body.issue).toEqual([missing(nowhere, 'Observation.performer[0]')]);
  });
});
