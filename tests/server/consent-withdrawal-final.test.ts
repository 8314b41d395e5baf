// consent-withdrawal-final: a withdrawal is the client's act and stays in the consent's history. A new
// version of a withdrawn Consent that undoes the withdrawal, or moves it to another day, is a 409 naming
// the element, whatever path the update takes (PUT, PATCH, a transaction's PUT, the domain API's
// record); nothing is written. An active consent can still be changed and withdrawn.
import type { Bundle, Consent } from '@medplum/fhirtypes';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { sirpa } from '../../examples/tools/personas.ts';
import { toFhir } from '../../src/mapping/index.ts';
import { appPerSuite } from './helpers.ts';

const suite = appPerSuite();
const WITHDRAWAL = /consent-withdrawal-date$/;

const send = (method: 'put' | 'post' | 'patch', path: string, body: unknown, headers = {}) =>
  request(suite.app)
    [method](path)
    .set({
      'Content-Type': method === 'patch' ? 'application/json-patch+json' : 'application/fhir+json',
      ...headers,
    })
    .send(JSON.stringify(body));

async function storedConsents(): Promise<{ withdrawn: Consent; active: Consent }> {
  const found = (await request(suite.app).get('/fhir/Consent')).body as Bundle;
  const consents = found.entry!.map((e) => e.resource as Consent);
  const withdrawn = consents.find((c) => c.extension?.some((x) => WITHDRAWAL.test(x.url)))!;
  const active = consents.find((c) => c.status === 'active')!;
  return { withdrawn, active };
}

/** The withdrawn consent with its withdrawal taken out: active again. */
function undone(c: Consent): Consent {
  const { extension, ...rest } = c;
  const kept = extension!.filter((x) => !WITHDRAWAL.test(x.url));
  return { ...rest, status: 'active', ...(kept.length ? { extension: kept } : {}) };
}

const ifMatch = (c: Consent) => ({ 'If-Match': `W/"${c.meta!.versionId}"` });

function expectRefused(res: request.Response, expression: string): void {
  expect(res.status).toBe(409);
  const [issue] = res.body.issue;
  expect(issue.code).toBe('conflict');
  expect(issue.expression).toEqual([expression]);
  expect(issue.diagnostics).toMatch(/consent-withdrawal-final: the consent was withdrawn/);
  expect(JSON.stringify(res.body)).not.toContain('2025-04-15');
}

describe('consent-withdrawal-final', () => {
  it('refuses a PUT that undoes the withdrawal or moves its day; the stored version stays', async () => {
    expect((await send('post', '/fhir', toFhir(sirpa))).status).toBe(200);
    const { withdrawn } = await storedConsents();
    expectRefused(
      await send('put', `/fhir/Consent/${withdrawn.id}`, undone(withdrawn), ifMatch(withdrawn)),
      'Consent.status',
    );
    const at = withdrawn.extension!.findIndex((x) => WITHDRAWAL.test(x.url));
    const moved = structuredClone(withdrawn);
    moved.extension![at]!.valueDateTime = '2025-05-02';
    expectRefused(
      await send('put', `/fhir/Consent/${withdrawn.id}`, moved, ifMatch(withdrawn)),
      `Consent.extension[${at}].valueDateTime`,
    );
    const now = (await request(suite.app).get(`/fhir/Consent/${withdrawn.id}`)).body as Consent;
    expect(now.meta?.versionId).toBe(withdrawn.meta?.versionId);
    expect(now.status).toBe('inactive');
    // Sent again as stored: nothing changes, nothing refused.
    const same = await send('put', `/fhir/Consent/${withdrawn.id}`, withdrawn, ifMatch(withdrawn));
    expect(same.status).toBe(200);
  });

  it('refuses a PATCH and a transaction PUT the same way, and the domain API record of an old copy', async () => {
    const { withdrawn } = await storedConsents();
    const at = withdrawn.extension!.findIndex((x) => WITHDRAWAL.test(x.url));
    const patch = [
      withdrawn.extension!.length === 1
        ? { op: 'remove', path: '/extension' }
        : { op: 'remove', path: `/extension/${at}` },
      { op: 'replace', path: '/status', value: 'active' },
    ];
    expectRefused(
      await send('patch', `/fhir/Consent/${withdrawn.id}`, patch, ifMatch(withdrawn)),
      'Consent.status',
    );
    const transaction = await send('post', '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: undone(withdrawn),
          request: { method: 'PUT', url: `Consent/${withdrawn.id}`, ifMatch: ifMatch(withdrawn)['If-Match'] },
        },
      ],
    });
    expect(transaction.status).toBe(409);
    expect(transaction.body.issue[0].diagnostics).toMatch(/consent-withdrawal-final/);
    // A sender's old copy of the record, from before the withdrawal.
    const oldCopy = {
      ...sirpa,
      consents: sirpa.consents!.map(({ withdrawnOn: _w, ...c }) => c),
    };
    const api = await request(suite.app)
      .post('/api/records')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(oldCopy));
    expect(api.status).toBe(409);
    expect(api.body.issue[0].diagnostics).toMatch(/consent-withdrawal-final/);
    const now = (await request(suite.app).get(`/fhir/Consent/${withdrawn.id}`)).body as Consent;
    expect([now.meta?.versionId, now.status]).toEqual([withdrawn.meta?.versionId, 'inactive']);
  });

  it('an active consent can still be changed and withdrawn', async () => {
    const { active } = await storedConsents();
    const withdrawnNow: Consent = {
      ...active,
      status: 'inactive',
      extension: [
        ...(active.extension ?? []),
        {
          url: (await storedConsents()).withdrawn.extension!.find((x) => WITHDRAWAL.test(x.url))!.url,
          valueDateTime: '2026-01-05',
        },
      ],
    };
    const res = await send('put', `/fhir/Consent/${active.id}`, withdrawnNow, ifMatch(active));
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('inactive');
  });
});
