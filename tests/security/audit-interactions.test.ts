// The audit log's refusals say what is refused: a write is a wrong method (405 with Allow: GET, HEAD,
// sec-audit-1); history and vread, asked with GET, are interactions it does not offer (400
// not-supported, sec-audit-2) — a 405 there would say GET itself is refused.
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { type Secured, acceptingValidator, startSecured } from './helpers.ts';

const AUDIT = 'system/AuditEvent.rs';
let store: Store;
let s: Secured;
let auditor: string;

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  s = await startSecured(store, acceptingValidator, { strict: false });
  ({ token: auditor } = await s.client({ id: 'audit-interactions', scope: `${AUDIT} system/*.rs` }));
  // One row to read: the auditor's own search.
  expect((await s.call(auditor, '/AuditEvent?_count=1')).status).toBe(200);
}, 60_000);

afterAll(async () => {
  await s?.running.close();
  await store?.close();
});

describe('the audit log', () => {
  it('answers history and vread, which it does not offer, 400 not-supported (sec-audit-2), without Allow', async () => {
    const log = (await (await s.call(auditor, '/AuditEvent?_count=1')).json()) as Bundle;
    const id = log.entry?.[0]?.resource?.id as string;
    expect(id).toBeTruthy();
    expect((await s.call(auditor, `/AuditEvent/${id}`)).status).toBe(200);
    for (const [path, interaction] of [
      ['/AuditEvent/_history', 'history-type'],
      [`/AuditEvent/${id}/_history`, 'history-instance'],
      [`/AuditEvent/${id}/_history/1`, 'vread'],
    ] as const) {
      const res = await s.call(auditor, path);
      const found = ((await res.json()) as OperationOutcome).issue?.[0];
      expect([path, res.status, res.headers.get('allow')]).toEqual([path, 400, null]);
      expect(found?.code).toBe('not-supported');
      expect(found?.diagnostics).toBe(
        `sec-audit-2: the audit log answers read and search only, not ${interaction}`,
      );
    }
  });

  it('answers a write, a wrong method, 405 with Allow: GET, HEAD (sec-audit-1)', async () => {
    const res = await s.call(auditor, '/AuditEvent', {
      method: 'POST',
      body: '{"resourceType":"AuditEvent"}',
    });
    expect([res.status, res.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    const found = ((await res.json()) as OperationOutcome).issue?.[0];
    expect(found?.diagnostics).toMatch(/^sec-audit-1: /);
  });
});
