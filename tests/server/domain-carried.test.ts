// A record another sender wrote through /fhir (its own local-id system), read with the SDK: its
// objects have carried ids (`urn.uuid.<UUID>`), and those go back through the domain API as any id.
import type { Bundle, CarePlan, CareTeam, Resource } from '@medplum/fhirtypes';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import type { WorkAbilityRecord } from '../../src/domain/index.ts';
import { carriedUuid, fromFhir, toFhir } from '../../src/mapping/index.ts';
import { appPerSuite } from './helpers.ts';

const suite = appPerSuite();
let record: WorkAbilityRecord;

const OTHER = { localIdSystemBase: 'https://other.example.fi/sid/local' };
const TYPES = ['Patient', 'Organization', 'PractitionerRole', 'Observation', 'QuestionnaireResponse'];
const MORE_TYPES = ['Consent', 'CarePlan', 'Goal', 'ServiceRequest', 'CareTeam'];

const postJson = (path: string, body: unknown) =>
  request(suite.app).post(path).set('Content-Type', 'application/json').send(JSON.stringify(body));

/** Every stored resource as `Type/id/version`, sorted. */
async function stored(): Promise<string[]> {
  const out: string[] = [];
  for (const type of [...TYPES, ...MORE_TYPES]) {
    const res = await request(suite.app).get(`/fhir/${type}`).query({ _count: '1000' });
    expect(res.status).toBe(200);
    for (const e of (res.body as Bundle).entry ?? [])
      out.push(`${type}/${e.resource!.id}/${(e.resource as Resource).meta?.versionId}`);
  }
  return out.sort();
}

beforeAll(async () => {
  const bundle = toFhir(suvi, OTHER);
  const tx = await request(suite.app)
    .post('/fhir')
    .set('Content-Type', 'application/fhir+json')
    .send(JSON.stringify(bundle));
  expect(tx.status, JSON.stringify(tx.body)).toBe(200);
  record = fromFhir(bundle);
});

describe("another sender's record read with the SDK, by its carried ids", () => {
  it('the record read has carried ids', () => {
    expect(carriedUuid(record.client.id)).toBeDefined();
    expect(record.consents![0]!.clientId).toBe(record.client.id);
  });

  it('GET /api/clients/<carried id>/consents, /plan, /responsible-worker answer with its data', async () => {
    const id = record.client.id;
    const consents = await request(suite.app).get(`/api/clients/${id}/consents`);
    expect(consents.status, JSON.stringify(consents.body)).toBe(200);
    expect(consents.body.consents).toEqual(record.consents);
    const plan = await request(suite.app).get(`/api/clients/${id}/plan`);
    expect(plan.status, JSON.stringify(plan.body)).toBe(200);
    expect(plan.body.plan).toEqual(record.plans!.find((p) => p.status === 'active'));
    const worker = await request(suite.app).get(`/api/clients/${id}/responsible-worker`);
    expect(worker.status, JSON.stringify(worker.body)).toBe(200);
    expect(worker.body.team).toEqual(record.teams!.find((t) => t.ended === undefined));
  });

  it('POST /api/records of the record as read: 200, nothing duplicated, no new versions', async () => {
    const before = await stored();
    const res = await postJson('/api/records', record);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await stored()).toEqual(before);
  });

  it('one object of the carried client posted alone is that client’s (same-client holds, no new version)', async () => {
    const before = await stored();
    const res = await postJson('/api/consents', record.consents![0]);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await stored()).toEqual(before);
  });

  it("a changed object is a new version that keeps the other sender's local ids", async () => {
    const plan = { ...record.plans![0]!, title: 'Aktivointisuunnitelma (päivitetty)' };
    const res = await postJson('/api/plans', plan);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const carePlan = (res.body.resources as Resource[]).find(
      (r) => r.resourceType === 'CarePlan',
    ) as CarePlan;
    expect(carePlan.meta?.versionId).toBe('2');
    expect(carePlan.title).toBe(plan.title);
    expect(carePlan.identifier?.[1]).toEqual({
      system: `${OTHER.localIdSystemBase}/plan`,
      value: suvi.plans![0]!.id,
    });
    expect(carePlan.subject.identifier).toEqual({
      system: `${OTHER.localIdSystemBase}/client`,
      value: 'suvi',
    });
    const again = await request(suite.app).get(`/api/clients/${record.client.id}/plan`);
    expect(again.body.plan).toEqual(plan);
  });

  it('a responsible-worker handover by the carried client id', async () => {
    const team = record.teams![0]!;
    const res = await postJson(`/api/clients/${record.client.id}/responsible-worker`, {
      professionalId: team.members[1]!.professionalId,
      role: 'kuntakokeilu-coach',
      date: '2026-05-01',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.team.id).toBe(team.id);
    const careTeam = (res.body.resources as Resource[]).find(
      (r) => r.resourceType === 'CareTeam',
    ) as CareTeam;
    expect(careTeam.meta?.versionId).toBe('2');
    expect(careTeam.subject?.identifier).toEqual({
      system: `${OTHER.localIdSystemBase}/client`,
      value: 'suvi',
    });
    const worker = await request(suite.app).get(`/api/clients/${record.client.id}/responsible-worker`);
    expect(worker.body.team).toEqual(res.body.team);
  });
});
