import type { OperationOutcome, Organization, PractitionerRole } from '@medplum/fhirtypes';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { FHIR_JSON, appPerSuite, postFhir, uniqueUrn } from './helpers.ts';

const s = appPerSuite({ strict: false });
const RULE =
  'store-ref-1: a conditional reference (Type?criteria) is resolved only in a transaction or batch; outside one, a stored reference must name a stored resource (Type/id)';

async function organization(): Promise<{ id: string; criteria: string; urn: string }> {
  const urn = uniqueUrn();
  const org: Organization = {
    resourceType: 'Organization',
    identifier: [{ system: 'urn:ietf:rfc:3986', value: urn }],
  };
  const res = await postFhir(s.app, '/fhir/Organization', org);
  expect(res.status).toBe(201);
  return { id: res.body.id, criteria: `Organization?identifier=urn:ietf:rfc:3986|${urn}`, urn };
}

const role = (reference: string): PractitionerRole => ({
  resourceType: 'PractitionerRole',
  active: true,
  organization: { reference },
});

function expectRefused(res: request.Response, urn: string): void {
  expect(res.status).toBe(422);
  expect((res.body as OperationOutcome).issue).toEqual([
    expect.objectContaining({
      severity: 'error',
      diagnostics: RULE,
      expression: ['PractitionerRole.organization'],
    }),
  ]);
  expect(res.text).not.toContain(urn);
}

describe('a conditional reference outside a transaction or batch', () => {
  it('is refused on create, update and patch (422 store-ref-1 at the element), never stored as written', async () => {
    const org = await organization();
    expectRefused(await postFhir(s.app, '/fhir/PractitionerRole', role(org.criteria)), org.urn);
    const made = await postFhir(s.app, '/fhir/PractitionerRole', role(`Organization/${org.id}`));
    expect(made.status).toBe(201);
    const put = await request(s.app)
      .put(`/fhir/PractitionerRole/${made.body.id}`)
      .set({ 'Content-Type': FHIR_JSON, 'If-Match': 'W/"1"' })
      .send(JSON.stringify({ ...role(org.criteria), id: made.body.id }));
    expectRefused(put, org.urn);
    const patch = await request(s.app)
      .patch(`/fhir/PractitionerRole/${made.body.id}`)
      .set({ 'Content-Type': 'application/json-patch+json', 'If-Match': 'W/"1"' })
      .send(JSON.stringify([{ op: 'replace', path: '/organization/reference', value: org.criteria }]));
    expectRefused(patch, org.urn);
    const search = await request(s.app).get(`/fhir/PractitionerRole?organization=Organization/${org.id}`);
    expect(search.body.total ?? search.body.entry?.length ?? 0).toBe(1);
  });

  it('is resolved in a transaction: indexed, and its target then kept from deletion (409)', async () => {
    const org = await organization();
    const tx = await postFhir(s.app, '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: role(org.criteria), request: { method: 'POST', url: 'PractitionerRole' } }],
    });
    expect(tx.status).toBe(200);
    const search = await request(s.app).get(`/fhir/PractitionerRole?organization=Organization/${org.id}`);
    expect(search.body.entry).toHaveLength(1);
    expect((await request(s.app).delete(`/fhir/Organization/${org.id}`)).status).toBe(409);
  });
});
