// tyk-id-4: a globally unique business identifier (urn:uuid or urn:oid under urn:ietf:rfc:3986) names
// one resource of a type. A second resource carrying one another current resource carries is a 409
// naming the identifier — on a plain create, a conditional create on other criteria, a batch or
// transaction entry, an update adding it — and two at once cannot both pass. The value is never quoted.
import type { Bundle, Observation } from '@medplum/fhirtypes';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { appPerSuite, postFhir, uniqueUrn } from './helpers.ts';

const suite = appPerSuite({ strict: false });
const GLOBAL = 'urn:ietf:rfc:3986';

const observation = (...identifier: Array<{ system: string; value: string }>): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  code: { text: 'työkyky' },
  identifier,
});

const holders = async (system: string, value: string) =>
  (
    (
      await request(suite.app)
        .get('/fhir/Observation')
        .query({ identifier: `${system}|${value}` })
    ).body as Bundle
  ).entry?.length ?? 0;

function expectRefused(res: request.Response, expression: string, value: string): void {
  expect(res.status).toBe(409);
  const [issue] = res.body.issue;
  expect(issue.code).toBe('duplicate');
  expect(issue.expression).toEqual([expression]);
  expect(issue.diagnostics).toMatch(
    /^(entry\[\d+\]: )?tyk-id-4: another Observation already has this business identifier/,
  );
  expect(JSON.stringify(res.body)).not.toContain(value);
}

describe('tyk-id-4: one global business identifier, one resource', () => {
  it('refuses a second plain create of a urn:uuid or urn:oid identifier; nothing stored', async () => {
    const uuid = uniqueUrn();
    expect(
      (await postFhir(suite.app, '/fhir/Observation', observation({ system: GLOBAL, value: uuid }))).status,
    ).toBe(201);
    const again = await postFhir(
      suite.app,
      '/fhir/Observation',
      observation({ system: 'http://ehr.example/id', value: 'x1' }, { system: GLOBAL, value: uuid }),
    );
    expectRefused(again, 'Observation.identifier[1]', uuid);
    expect(await holders(GLOBAL, uuid)).toBe(1);
    const oid = `urn:oid:1.2.246.10.${Date.now()}`;
    expect(
      (await postFhir(suite.app, '/fhir/Observation', observation({ system: GLOBAL, value: oid }))).status,
    ).toBe(201);
    expectRefused(
      await postFhir(suite.app, '/fhir/Observation', observation({ system: GLOBAL, value: oid })),
      'Observation.identifier[0]',
      oid,
    );
  });

  it('leaves identifiers that are not global alone: an EHR-local one may repeat', async () => {
    const local = { system: 'http://ehr.example/id', value: `local-${Date.now()}` };
    expect((await postFhir(suite.app, '/fhir/Observation', observation(local))).status).toBe(201);
    expect((await postFhir(suite.app, '/fhir/Observation', observation(local))).status).toBe(201);
    expect(await holders(local.system, local.value)).toBe(2);
  });

  it('answers a conditional create on the identifier with the holder, and refuses one on other criteria', async () => {
    const uuid = uniqueUrn();
    const first = await postFhir(
      suite.app,
      '/fhir/Observation',
      observation({ system: GLOBAL, value: uuid }),
    );
    const same = await postFhir(
      suite.app,
      '/fhir/Observation',
      observation({ system: GLOBAL, value: uuid }),
      {
        'If-None-Exist': `identifier=${GLOBAL}|${uuid}`,
      },
    );
    expect(same.status).toBe(200);
    expect(same.body.id).toBe(first.body.id);
    const other = uniqueUrn();
    const elsewhere = await postFhir(
      suite.app,
      '/fhir/Observation',
      observation({ system: GLOBAL, value: other }, { system: GLOBAL, value: uuid }),
      { 'If-None-Exist': `identifier=${GLOBAL}|${other}` },
    );
    expectRefused(elsewhere, 'Observation.identifier[1]', uuid);
    expect(await holders(GLOBAL, other)).toBe(0);
  });

  it('refuses it as a transaction entry (whole transaction), twice in one transaction, and as a batch entry (that entry)', async () => {
    const uuid = uniqueUrn();
    expect(
      (await postFhir(suite.app, '/fhir/Observation', observation({ system: GLOBAL, value: uuid }))).status,
    ).toBe(201);
    const fresh = uniqueUrn();
    const transaction = await postFhir(suite.app, '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: observation({ system: GLOBAL, value: fresh }),
          request: { method: 'POST', url: 'Observation' },
        },
        {
          resource: observation({ system: GLOBAL, value: uuid }),
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    });
    expectRefused(transaction, 'Bundle.entry[1].resource.identifier[0]', uuid);
    const twice = uniqueUrn();
    const both = await postFhir(suite.app, '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: observation({ system: GLOBAL, value: twice }),
          request: { method: 'POST', url: 'Observation' },
        },
        {
          resource: observation({ system: GLOBAL, value: twice }),
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    });
    expectRefused(both, 'Bundle.entry[1].resource.identifier[0]', twice);
    const batch = await postFhir(suite.app, '/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        {
          resource: observation({ system: GLOBAL, value: uuid }),
          request: { method: 'POST', url: 'Observation' },
        },
        {
          resource: observation({ system: GLOBAL, value: fresh }),
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    });
    expect(batch.status).toBe(200);
    expect(
      batch.body.entry.map((e: { response: { status: string } }) => e.response.status.slice(0, 3)),
    ).toEqual(['409', '201']);
    expect(await holders(GLOBAL, uuid)).toBe(1);
    expect(await holders(GLOBAL, twice)).toBe(0);
    expect(await holders(GLOBAL, fresh)).toBe(1);
  });

  it('refuses an update that gives another resource the identifier; the holder updates freely', async () => {
    const uuid = uniqueUrn();
    const holder = (
      await postFhir(suite.app, '/fhir/Observation', observation({ system: GLOBAL, value: uuid }))
    ).body as Observation;
    const other = (
      await postFhir(suite.app, '/fhir/Observation', observation({ system: GLOBAL, value: uniqueUrn() }))
    ).body as Observation;
    const put = (o: Observation) =>
      request(suite.app)
        .put(`/fhir/Observation/${o.id}`)
        .set({ 'Content-Type': 'application/fhir+json', 'If-Match': 'W/"1"' })
        .send(JSON.stringify(o));
    expectRefused(
      await put({ ...other, identifier: [...other.identifier!, { system: GLOBAL, value: uuid }] }),
      'Observation.identifier[1]',
      uuid,
    );
    expect((await put({ ...holder, status: 'amended' })).status).toBe(200);
    expect(await holders(GLOBAL, uuid)).toBe(1);
  });

  it('lets one of six concurrent creates of one new identifier through', async () => {
    const uuid = uniqueUrn();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        postFhir(suite.app, '/fhir/Observation', observation({ system: GLOBAL, value: uuid })),
      ),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    expect(await holders(GLOBAL, uuid)).toBe(1);
  });
});
