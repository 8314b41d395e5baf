// A party's refused delete (the guard's refusal of a write it may not see) is audited once, naming
// the rule: alone, and as an entry of a batch (answered inside a 200). Every other failed batch entry
// is audited too, naming its status and rule.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { type Secured, auditEventsOf, startSecured } from './helpers.ts';

let store: Store;
let s: Secured;
const tokens: Record<string, string> = {};

const as = (who: string, method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  s.send(tokens[who], method, path, body, headers);

/** [interaction, outcome, detail] of client `agent`'s audit rows, oldest first. */
async function auditOf(agent: string): Promise<string[][]> {
  return (await auditEventsOf(s, tokens.auditor, agent)).map((ev) => [
    ev.subtype?.[0]?.code ?? '',
    ev.outcome ?? '',
    ev.outcomeDesc ?? '',
  ]);
}

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  const validator = await loadProjectValidator();
  s = await startSecured(store, validator);
  for (const [id, scope] of [
    ['auditor', 'system/AuditEvent.rs'],
    ['kela', 'system/Observation.cruds system/Patient.cruds'],
    ['kela2', 'system/Observation.cruds system/Patient.cruds'],
    ['ehr', 'system/Practitioner.cruds system/Patient.rs'],
  ] as const)
    tokens[id] = (
      await s.client({ id, scope, ...(id.startsWith('kela') ? { party: 'kela' } : {}) }, scope)
    ).token;
}, 120_000);

afterAll(async () => {
  await s?.running.close();
  await store?.close();
});

describe("a party's refused delete is audited once", () => {
  const id = '00000000-0000-4000-8000-000000000001';
  const refusal = `sec-consent-1: Observation/${id} is not available to this client`;

  it('as an entry of a batch', async () => {
    const r = await as('kela', 'POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ request: { method: 'DELETE', url: `Observation/${id}` } }],
    });
    expect(r.status).toBe(200);
    expect(r.body.entry[0].response.status).toMatch(/^403/);
    expect(await auditOf('kela')).toEqual([['delete', '4', refusal]]);
  });

  it('alone', async () => {
    const r = await as('kela2', 'DELETE', `/Observation/${id}`);
    expect(r.status).toBe(403);
    // The front writes its row for a failed request once the answer is sent.
    await new Promise((done) => setTimeout(done, 200));
    expect(await auditOf('kela2')).toEqual([['delete', '4', refusal]]);
  });
});

describe('a failed batch entry', () => {
  it('leaves one row naming the entry, its status and the rule its answer names; a succeeded one its own', async () => {
    const missing = '00000000-0000-4000-8000-000000000002';
    const r = await as('ehr', 'POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: `Practitioner/${missing}` } },
        {
          request: { method: 'POST', url: 'Practitioner' },
          resource: { resourceType: 'Practitioner', active: 'yes' },
        },
        {
          request: { method: 'PUT', url: `Practitioner/${missing}` },
          resource: { resourceType: 'Practitioner', id: 'another-id' },
        },
        {
          request: { method: 'POST', url: 'Practitioner' },
          resource: { resourceType: 'Practitioner', active: true },
        },
        { request: { method: 'GET', url: `Patient/${missing}/$everything` } },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.entry.map((e: { response: { status: string } }) => e.response.status.slice(0, 3))).toEqual([
      '404',
      '422',
      '400',
      '201',
      '404',
    ]);
    await new Promise((done) => setTimeout(done, 200)); // the front's own row for the batch
    const rows = await auditOf('ehr');
    expect(rows.filter((row) => row[2].startsWith('entry '))).toEqual([
      ['create', '4', 'entry 1 answered 422'],
      ['update', '4', 'entry 2 answered 400'],
    ]);
    // A read that finds nothing (entry 0's, and $everything's of its Patient in entry 4) leaves the
    // guard's row, written before the answer and naming what was not found, in place of the entry's.
    expect(rows.filter((row) => row[2].endsWith(' not found'))).toEqual([
      ['read', '4', `Practitioner/${missing} not found`],
      ['read', '4', `Patient/${missing} not found`],
    ]);
    expect(rows.filter((row) => row[0] === 'create' && row[1] === '0')).toHaveLength(1);
  });
});
