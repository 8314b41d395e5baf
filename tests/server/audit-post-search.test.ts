// POST AuditEvent/_search: a search of the audit log as R4 allows any search to be sent (form
// parameters in the body, joined with any in the URL), admitted as GET AuditEvent is and answered the
// same; writes to the log stay refused.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent, Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, freshPgliteDataDir, openStore } from '../../src/store/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { type Secured, startSecured } from '../security/helpers.ts';

const AUDIT = 'system/AuditEvent.rs';
const FORM = 'application/x-www-form-urlencoded';
let dir: string;
let store: Store;
let s: Secured;
let auditor: string;

beforeAll(async () => {
  dir = await freshPgliteDataDir(mkdtempSync(join(tmpdir(), 'tyokyky-audit-post-')));
  store = await openStore({ dataDir: dir });
  s = await startSecured(store, await loadProjectValidator());
  auditor = (await s.client({ id: 'auditor', scope: `system/*.cruds ${AUDIT}` })).token;
  // Something of the caller's own in the log to find.
  expect((await s.call(auditor, '/Practitioner?_count=1')).status).toBe(200);
}, 60_000);
afterAll(async () => {
  await s?.running.close();
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const events = (b: Bundle) =>
  (b.entry ?? []).map((e) => (e.resource as AuditEvent).subtype?.[0]?.code).filter(Boolean);

describe('POST AuditEvent/_search', () => {
  it('answers as GET AuditEvent does, its parameters from the form body and the URL', async () => {
    const viaGet = await s.call(auditor, '/AuditEvent?agent=auditor&entity-type=Practitioner');
    expect(viaGet.status).toBe(200);
    const got = (await viaGet.json()) as Bundle;
    expect(events(got)).toContain('search-type');
    const viaPost = await s.call(auditor, '/AuditEvent/_search?agent=auditor', {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: 'entity-type=Practitioner',
    });
    expect(viaPost.status, await viaPost.clone().text()).toBe(200);
    const posted = (await viaPost.json()) as Bundle;
    expect(posted.type).toBe('searchset');
    // The GET's own row names AuditEvent, not Practitioner: both find the same rows.
    expect(events(posted)).toEqual(events(got));
    expect(posted.entry?.map((e) => e.resource?.id)).toEqual(got.entry?.map((e) => e.resource?.id));
  });

  it('is refused as GET is: 403 without the audit scope; an unknown parameter 400; another body 415', async () => {
    const { token: none } = await s.client({ id: 'no-audit', scope: 'system/*.rs' });
    const refused = await s.call(none, '/AuditEvent/_search', {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: 'agent=auditor',
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as OperationOutcome).issue?.[0]?.diagnostics).toMatch(/^sec-scope-1: /);
    const unknown = await s.call(auditor, '/AuditEvent/_search', {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: 'nosuch=1',
    });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as OperationOutcome).issue?.[0]?.expression).toEqual(['nosuch']);
    const json = await s.call(auditor, '/AuditEvent/_search', { method: 'POST', body: '{}' });
    expect(json.status).toBe(415);
    expect(((await json.json()) as OperationOutcome).issue?.[0]?.diagnostics).toBe(
      `POST AuditEvent/_search takes ${FORM} parameters`,
    );
  });

  it('the log is still not written through the API: POST AuditEvent is 405 sec-audit-1', async () => {
    const res = await s.call(auditor, '/AuditEvent', {
      method: 'POST',
      body: '{"resourceType":"AuditEvent"}',
    });
    expect(res.status).toBe(405);
    expect(((await res.json()) as OperationOutcome).issue?.[0]?.diagnostics).toMatch(/^sec-audit-1: /);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });
});
