// Kanta PHR mode: an update's subject read under our base as writes and searches read it; a reference
// filter (`supporting-info`) matching as the store's indexed searches match; and the `$`- and
// `_`-prefixed second segments Kanta's statement does not declare answered as no interaction there.
// The sandbox is a facade in the test's process (`mode: 'kanta-phr'`) on in-memory PGlite.
import type { Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/index.ts';
import type { Store } from '../../src/store/index.ts';
import {
  bodyWeight,
  call,
  citizenResponse,
  firstIssue,
  kantaExample,
  phrPatient,
  startSandboxHere,
  urn,
} from './helpers.ts';

const OTHER_BASE = 'https://other.example.org/fhir';
const SYSTEM = 'urn:ietf:rfc:3986';
let remoteStore: Store;
let sandbox: RunningServer;
let base: string;
let pid: string;

beforeAll(async () => {
  ({ remoteStore, sandbox } = await startSandboxHere());
  base = `${sandbox.url}/fhir`;
  pid = (await call(base, 'POST', '/Patient', phrPatient())).body.id;
});
afterAll(async () => {
  await sandbox?.close();
  await remoteStore?.close();
});

/** A body-weight Observation of the sandbox's Patient, its subject written as `subject`. */
const weightOf = (subject: string) => ({ ...bodyWeight(urn()), subject: { reference: subject } });

describe('an update keeps its subject: a reference under our base is the relative one', () => {
  it('Patient/x rewritten as <base>/Patient/x is the same Patient (200), and back again', async () => {
    const created = await call(base, 'POST', '/Observation', weightOf(`Patient/${pid}`));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    const absolute = { ...created.body, subject: { reference: `${base}/Patient/${pid}` } };
    const r = await call(base, 'PUT', `/Observation/${id}`, absolute, { 'If-Match': 'W/"1"' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const relative = { ...r.body, subject: { reference: `Patient/${pid}` } };
    const back = await call(base, 'PUT', `/Observation/${id}`, relative, { 'If-Match': 'W/"2"' });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
  });

  it('the same id under another base names another server’s Patient: 422 kanta-subject', async () => {
    const created = await call(base, 'POST', '/Observation', weightOf(`Patient/${pid}`));
    const id = created.body.id as string;
    const moved = { ...created.body, subject: { reference: `${OTHER_BASE}/Patient/${pid}` } };
    const r = await call(base, 'PUT', `/Observation/${id}`, moved, { 'If-Match': 'W/"1"' });
    expect(r.status).toBe(422);
    expect(firstIssue(r)).toMatchObject({
      expression: ['Observation.subject'],
      diagnostics:
        'kanta-subject: a stored Observation keeps its subject; an update cannot move it to another',
    });
  });
});

describe('supporting-info (answered by filtering) matches as the store matches references', () => {
  let qrId: string;
  /** The CarePlans that hold the response relative, absolute under our base, and under another base. */
  const plans: Record<'relative' | 'ours' | 'other', string> = { relative: '', ours: '', other: '' };

  beforeAll(async () => {
    const qr = await call(base, 'POST', '/QuestionnaireResponse', citizenResponse(pid, urn()));
    expect(qr.status).toBe(201);
    qrId = qr.body.id;
    const { id: _c, ...cp } = kantaExample<Resource & Record<string, unknown>>(
      'CarePlan-b88191e3-ea47-4feb-9da9-e3b359fa8fca.json',
    );
    const who = { reference: `Patient/${pid}` };
    const refs = {
      relative: `QuestionnaireResponse/${qrId}`,
      ours: `${base}/QuestionnaireResponse/${qrId}`,
      other: `${OTHER_BASE}/QuestionnaireResponse/${qrId}`,
    };
    for (const [key, reference] of Object.entries(refs) as [keyof typeof plans, string][]) {
      const plan = {
        ...cp,
        identifier: [{ system: SYSTEM, value: urn() }],
        subject: who,
        author: who,
        status: 'completed',
        period: { start: '2026-01-01', end: '2026-06-30' },
        supportingInfo: [{ reference }],
      } as Resource;
      // Stored as written (the store's own rules: no Kanta write rule is under test here).
      plans[key] = (await remoteStore.create(plan)).resource.id as string;
    }
  });

  const found = async (value: string) => {
    const r = await call(
      base,
      'GET',
      `/CarePlan?patient=${pid}&supporting-info=${encodeURIComponent(value)}`,
    );
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return ((r.body.entry ?? []) as { resource: Resource }[]).map((e) => e.resource.id).sort();
  };

  it('Type/id and <our base>/Type/id match the relative and the ours-absolute, never another base’s', async () => {
    const ours = [plans.relative, plans.ours].sort();
    expect(await found(`QuestionnaireResponse/${qrId}`)).toEqual(ours);
    expect(await found(`${base}/QuestionnaireResponse/${qrId}`)).toEqual(ours);
  });

  it('an absolute value under another base matches only that reference', async () => {
    expect(await found(`${OTHER_BASE}/QuestionnaireResponse/${qrId}`)).toEqual([plans.other]);
  });

  it('a plain id matches the references that name it here', async () => {
    expect(await found(qrId)).toEqual([plans.relative, plans.ours].sort());
  });
});

describe('undeclared $- and _-prefixed second segments are 404 kanta-interaction', () => {
  for (const [method, path] of [
    ['GET', '/Observation/$everything'],
    ['POST', '/Observation/$validate'],
    ['GET', '/Observation/$validate'],
    ['PUT', '/Patient/$meta'],
    ['DELETE', '/Observation/_x'],
    ['GET', '/Observation/_history'],
    ['GET', '/QuestionnaireResponse/$everything/_history/1'],
  ] as const) {
    it(`${method} ${path}`, async () => {
      const body = method === 'PUT' || method === 'POST' ? bodyWeight(urn()) : undefined;
      const r = await call(base, method, path, body);
      expect(r.status).toBe(404);
      expect(r.headers.get('allow')).toBeNull();
      expect(firstIssue(r)?.diagnostics).toBe(
        `kanta-interaction: no Kanta PHR interaction at this path (${method})`,
      );
    });
  }

  it('the type is checked first: an undeclared type there is 404 kanta-type', async () => {
    const r = await call(base, 'GET', '/Practitioner/$everything');
    expect(r.status).toBe(404);
    expect(firstIssue(r)?.diagnostics).toMatch(/^kanta-type: /);
  });

  it('an id that only holds such a character elsewhere is still read as an id (400)', async () => {
    const r = await call(base, 'GET', '/Observation/a$b');
    expect(r.status).toBe(400);
  });
});
