// What the audit log records of three kinds of access: a read of a client's disclosure log (itself a
// read of the audit log, recorded as a search of AuditEvent before it is answered), a PATCH refused
// or failed (an update, `U`, as a successful one: never a read), and a read of a missing resource
// (the guard's row, written before the 404 is answered).
import type { AuditEvent, Bundle, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localIdSystem } from '../../src/mapping/index.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { type Secured, acceptingValidator, auditEventsOf, startSecured } from './helpers.ts';

let store: Store;
let s: Secured;
const tokens: Record<string, string> = {};
let patientId: string;

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  s = await startSecured(store, acceptingValidator);
  for (const [id, scope] of [
    ['auditor', 'system/AuditEvent.rs'],
    ['admin', 'system/*.cruds system/AuditEvent.rs'],
    ['reader', 'system/Practitioner.rs'],
    ['writer', 'system/Practitioner.cru'],
  ] as const)
    tokens[id] = (await s.client({ id, scope }, scope)).token;
  const created = await s.send(tokens.admin, 'POST', '/Patient', {
    resourceType: 'Patient',
    identifier: [{ system: localIdSystem('client'), value: 'log-client' }],
  } satisfies Patient);
  expect(created.status).toBe(201);
  patientId = created.body.id;
}, 60_000);

afterAll(async () => {
  await s?.running.close();
  await store?.close();
});

describe("reading a client's disclosure log", () => {
  it('is recorded as a search of the audit log naming the client and the filter, before it is answered', async () => {
    const res = await s.call(tokens.admin, `${s.url}/api/clients/log-client/disclosures?party=kela`);
    expect(res.status, await res.clone().text()).toBe(200);
    const found = await s.send(tokens.auditor, 'GET', '/AuditEvent?entity-type=AuditEvent&agent=admin');
    expect(found.status).toBe(200);
    const events = ((found.body as Bundle).entry ?? []).map((e) => e.resource as AuditEvent);
    const read = events.find((e) => e.entity?.some((x) => x.what?.reference === `Patient/${patientId}`));
    expect(read).toMatchObject({
      subtype: [{ code: 'search-type' }],
      action: 'E',
      outcome: '0',
    });
    const query = read?.entity?.find((x) => x.query)?.query as string;
    expect(Buffer.from(query, 'base64').toString()).toBe('party=kela');
  });
});

describe('a PATCH that is refused or fails', () => {
  it('is audited as an update (U), as a successful one is', async () => {
    const pr = await s.send(tokens.writer, 'POST', '/Practitioner', { resourceType: 'Practitioner' });
    expect(pr.status).toBe(201);
    // Refused by scope (no `u`), before it is answered.
    const refused = await s.send(
      tokens.reader,
      'PATCH',
      `/Practitioner/${pr.body.id}`,
      [{ op: 'add', path: '/active', value: true }],
      { 'content-type': 'application/json-patch+json' },
    );
    expect(refused.status).toBe(403);
    const rows = (await auditEventsOf(s, tokens.auditor, 'reader')).filter(
      (e) => e.subtype?.[0]?.code === 'patch',
    );
    expect(rows.map((e) => [e.action, e.outcome])).toEqual([['U', '4']]);
  });
});

describe('a read of a missing resource', () => {
  it('is audited by the guard before the 404 is answered, naming what was not found, in one row', async () => {
    for (const path of ['/Practitioner/nowhere', '/Practitioner/nowhere/_history/1']) {
      const res = await s.call(tokens.reader, path);
      expect(res.status, path).toBe(404);
    }
    const rows = (await auditEventsOf(s, tokens.auditor, 'reader')).filter((e) =>
      e.entity?.some((x) => x.what?.reference === 'Practitioner/nowhere'),
    );
    expect(rows.map((e) => [e.subtype?.[0]?.code, e.action, e.outcome, e.outcomeDesc])).toEqual([
      ['read', 'R', '4', 'Practitioner/nowhere not found'],
      ['vread', 'R', '4', 'Practitioner/nowhere/_history/1 not found'],
    ]);
  });
});
