// tyk-id-2: a conditional create that finds a Patient by business identifier must be about the same
// person. Two senders keeping the SDK's default local-id system give their clients `c1` the same
// "globally unique" identifier; the second client's data must not land on the first one's Patient.
import type { Bundle, Patient } from '@medplum/fhirtypes';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { maija, suvi } from '../../examples/tools/personas.ts';
import type { WorkAbilityRecord } from '../../src/domain/index.ts';
import { toFhir } from '../../src/mapping/index.ts';
import { appPerSuite } from './helpers.ts';

const suite = appPerSuite();

/** A persona's record with its client under local id `c1` (as two senders might both use). */
function asC1(record: WorkAbilityRecord): WorkAbilityRecord {
  return JSON.parse(JSON.stringify(record).replaceAll(`"${record.client.id}"`, '"c1"'));
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  request(suite.app)
    .post(path)
    .set({ 'Content-Type': 'application/fhir+json', ...headers })
    .send(JSON.stringify(body));

const count = async (type: string) =>
  ((await request(suite.app).get(`/fhir/${type}`).query({ _summary: 'count' })).body as Bundle).total;

describe('tyk-id-2: one business identifier, one client', () => {
  it('refuses a transaction whose Patient matches another client by identifier; nothing of it is stored', async () => {
    const first = await post('/fhir', toFhir(asC1(suvi)));
    expect(first.status).toBe(200);
    const [patients, observations] = [await count('Patient'), await count('Observation')];
    const bundle = toFhir(asC1(maija));
    const at = bundle.entry!.findIndex((e) => e.resource?.resourceType === 'Patient');
    const second = await post('/fhir', bundle);
    expect(second.status).toBe(409);
    const issue = second.body.issue[0];
    expect(issue.code).toBe('conflict');
    expect(issue.expression).toEqual([`Bundle.entry[${at}].resource.identifier`]);
    expect(issue.diagnostics).toMatch(
      new RegExp(
        `^entry\\[${at}\\]: tyk-id-2: the business identifier matches Patient/\\S+, which has another HETU`,
      ),
    );
    expect(JSON.stringify(second.body)).not.toContain(maija.client.hetu);
    expect(JSON.stringify(second.body)).not.toContain(suvi.client.hetu);
    expect([await count('Patient'), await count('Observation')]).toEqual([patients, observations]);
    // The same client again is the idempotent retry conditional create is for.
    expect((await post('/fhir', toFhir(asC1(suvi)))).status).toBe(200);
  });

  it('refuses a single conditional create the same way, and a batch entry alone', async () => {
    const [stored] = ((await request(suite.app).get('/fhir/Patient')).body as Bundle).entry!;
    const patient = stored!.resource as Patient;
    const other = {
      ...patient,
      id: undefined,
      meta: { profile: patient.meta?.profile },
      identifier: patient.identifier!.map((i) =>
        i.system === 'urn:oid:1.2.246.21' ? { ...i, value: maija.client.hetu } : i,
      ),
    };
    const business = patient.identifier!.find((i) => i.system === 'urn:ietf:rfc:3986')!;
    const criteria = `identifier=${business.system}|${business.value}`;
    const single = await post('/fhir/Patient', other, { 'If-None-Exist': criteria });
    expect(single.status).toBe(409);
    expect(single.body.issue[0].diagnostics).toMatch(/^tyk-id-2: /);
    const batch = await post('/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ resource: other, request: { method: 'POST', url: 'Patient', ifNoneExist: criteria } }],
    });
    expect(batch.status).toBe(200);
    expect(batch.body.entry[0].response.status).toMatch(/^409/);
    // Without a HETU on one side there is nothing to compare: the match stands.
    const noHetu = { ...other, identifier: [business] };
    expect((await post('/fhir/Patient', noHetu, { 'If-None-Exist': criteria })).status).toBe(200);
  });
});
