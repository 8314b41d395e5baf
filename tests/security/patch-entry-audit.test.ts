// A PATCH is audited as `patch` wherever it comes from: a PATCH request, or a PATCH entry of a batch
// or a transaction (whose request is the Bundle's). A PUT, alone or as an entry, stays `update`.
import type { BundleEntry, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { type Secured, auditEventsOf, startSecured } from './helpers.ts';

let store: Store;
let s: Secured;
const tokens: Record<string, string> = {};

const as = (who: string, method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  s.send(tokens[who], method, path, body, headers);

/** [interaction, action, outcome] of client `agent`'s write rows (reads left out), oldest first. */
async function writesOf(agent: string): Promise<string[][]> {
  return (await auditEventsOf(s, tokens.auditor, agent))
    .filter((ev) => ev.action !== 'R')
    .map((ev) => [ev.subtype?.[0]?.code ?? '', ev.action ?? '', ev.outcome ?? '']);
}

const patchOps = (ops: unknown) => ({
  resourceType: 'Binary',
  contentType: 'application/json-patch+json',
  data: Buffer.from(JSON.stringify(ops)).toString('base64'),
});

const patchEntry = (url: string, ops: unknown, ifMatch: string): BundleEntry => ({
  resource: patchOps(ops) as Resource,
  request: { method: 'PATCH', url, ifMatch },
});

async function practitioner(who: string): Promise<string> {
  const r = await as(who, 'POST', '/Practitioner', {
    resourceType: 'Practitioner',
    name: [{ family: 'Paikka' }],
  });
  expect(r.status).toBe(201);
  return `Practitioner/${r.body.id}`;
}

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  const validator = await loadProjectValidator();
  s = await startSecured(store, validator);
  for (const [id, scope] of [
    ['auditor', 'system/AuditEvent.rs'],
    ['direct', 'system/Practitioner.cru'],
    ['batcher', 'system/Practitioner.cru'],
    ['transactor', 'system/Practitioner.cru'],
  ] as const)
    tokens[id] = (await s.client({ id, scope }, scope)).token;
}, 120_000);

afterAll(async () => {
  await s?.running.close();
  await store?.close();
});

describe('a successful PATCH is audited as patch', () => {
  it('as a PATCH request', async () => {
    const pr = await practitioner('direct');
    const r = await as('direct', 'PATCH', `/${pr}`, [{ op: 'add', path: '/active', value: true }], {
      'content-type': 'application/json-patch+json',
      'if-match': 'W/"1"',
    });
    expect(r.status).toBe(200);
    expect(await writesOf('direct')).toEqual([
      ['create', 'C', '0'],
      ['patch', 'U', '0'],
    ]);
  });

  it('as an entry of a batch, beside a PUT entry audited as update', async () => {
    const pr = await practitioner('batcher');
    const r = await as('batcher', 'POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [patchEntry(pr, [{ op: 'add', path: '/active', value: true }], 'W/"1"')],
    });
    expect(r.status).toBe(200);
    expect(r.body.entry.map((e: BundleEntry) => e.response?.status)).toEqual(['200 OK']);
    const put = await as('batcher', 'POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        {
          resource: { resourceType: 'Practitioner', id: pr.split('/')[1], active: false },
          request: { method: 'PUT', url: pr, ifMatch: 'W/"2"' },
        },
      ],
    });
    expect(put.body.entry.map((e: BundleEntry) => e.response?.status)).toEqual(['200 OK']);
    expect(await writesOf('batcher')).toEqual([
      ['create', 'C', '0'],
      ['patch', 'U', '0'],
      ['update', 'U', '0'],
    ]);
  });

  it('as an entry of a transaction', async () => {
    const pr = await practitioner('transactor');
    const r = await as('transactor', 'POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [patchEntry(pr, [{ op: 'add', path: '/gender', value: 'female' }], 'W/"1"')],
    });
    expect(r.status).toBe(200);
    expect(r.body.entry.map((e: BundleEntry) => e.response?.status)).toEqual(['200 OK']);
    expect(await writesOf('transactor')).toEqual([
      ['create', 'C', '0'],
      ['patch', 'U', '0'],
    ]);
  });
});
