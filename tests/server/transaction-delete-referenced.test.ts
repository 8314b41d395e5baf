import type { OperationOutcome } from '@medplum/fhirtypes';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { appPerSuite, postFhir, uniqueUrn } from './helpers.ts';

const s = appPerSuite({ strict: false });

describe('a transaction deleting a still referenced resource and adding a reference to it', () => {
  it("answers the DELETE entry's 409, not the new reference's 422; nothing is written", async () => {
    const org = await postFhir(s.app, '/fhir/Organization', {
      resourceType: 'Organization',
      identifier: [{ system: 'urn:ietf:rfc:3986', value: uniqueUrn() }],
    });
    const target = `Organization/${org.body.id}`;
    const existing = { resourceType: 'PractitionerRole', organization: { reference: target } };
    const referrer = await postFhir(s.app, '/fhir/PractitionerRole', existing);
    expect(referrer.status).toBe(201);
    const tx = await postFhir(s.app, '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'DELETE', url: target } },
        { resource: existing, request: { method: 'POST', url: 'PractitionerRole' } },
      ],
    });
    expect([tx.status, (tx.body as OperationOutcome).issue?.[0]?.expression]).toEqual([
      409,
      ['Bundle.entry[0].request.url'],
    ]);
    expect((tx.body as OperationOutcome).issue?.[0]?.diagnostics).toContain(
      `PractitionerRole/${referrer.body.id}`,
    );
    expect((await request(s.app).get(`/fhir/${target}`)).status).toBe(200);
    const roles = await request(s.app).get('/fhir/PractitionerRole').query({ organization: target });
    expect(roles.body.entry).toHaveLength(1);
  });
});
