import type { Bundle, CareTeam, Resource } from '@medplum/fhirtypes';
import type express from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The SDK's persona records (the source of examples/personas/*.json).
import { maija, suvi } from '../../examples/tools/personas.ts';
import { endTeam } from '../../src/domain/index.ts';
import { type Fixture, openFixture } from './helpers.ts';

let fx: Fixture;
let app: express.Express;

beforeAll(async () => {
  fx = await openFixture();
  app = fx.app();
});
afterAll(async () => fx?.close());

const postJson = (path: string, body: unknown) =>
  request(app).post(path).set('Content-Type', 'application/json').send(JSON.stringify(body));

describe('domain API', () => {
  it('stores a whole record through the SDK mapping as one validated transaction', async () => {
    const res = await postJson('/api/records', maija);
    expect(res.status).toBe(201);
    const types = (res.body.resources as { resourceType: string }[]).map((r) => r.resourceType);
    expect(types).toEqual(
      expect.arrayContaining(['Patient', 'Observation', 'Consent', 'CareTeam', 'CarePlan', 'Goal']),
    );
    const again = await postJson('/api/records', maija);
    expect(again.status).toBe(200);
    expect(again.body.resources.map((r: { meta: { versionId: string } }) => r.meta.versionId)).toEqual(
      res.body.resources.map(() => '1'),
    );
  });

  it('a record that shares unchanged objects with what is stored goes in, its references pointing at the stored ones', async () => {
    // Suvi's record names the organization Maija's brought in, unchanged: it is left out of the
    // transaction, and what referred to it names the stored Organization.
    const res = await postJson('/api/records', suvi);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    // A changed plan in an otherwise unchanged record is a new version of the plan alone.
    const plan = { ...suvi.plans![0]!, title: `${suvi.plans![0]!.title ?? 'Suunnitelma'} (päivitetty)` };
    const again = await postJson('/api/records', { ...suvi, plans: [plan, ...suvi.plans!.slice(1)] });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    const carePlans = (again.body.resources as Resource[]).filter((r) => r.resourceType === 'CarePlan');
    expect(carePlans.map((r) => r.meta?.versionId)).toContain('2');
  });

  it('refuses a client whose HETU would change under the same identifier (tyk-id-2); the Patient stays', async () => {
    const res = await postJson('/api/clients', { ...maija.client, hetu: suvi.client.hetu });
    expect(res.status).toBe(409);
    expect(res.body.issue[0].diagnostics).toMatch(/^tyk-id-2: /);
    expect(JSON.stringify(res.body)).not.toContain(suvi.client.hetu);
    const found = await request(app)
      .get('/fhir/Patient')
      .query({ identifier: `urn:oid:1.2.246.21|${maija.client.hetu}` });
    expect((found.body as Bundle).entry?.[0]?.resource?.meta?.versionId).toBe('1');
  });

  it('maps the current plan, the responsible worker and active consents back to domain objects', async () => {
    const plan = await request(app).get('/api/clients/maija/plan');
    expect(plan.status).toBe(200);
    expect(plan.body.plan).toMatchObject({
      id: 'maija-plan',
      clientId: 'maija',
      status: 'active',
      goals: maija.plans?.[0].goals,
    });
    const worker = await request(app).get('/api/clients/maija/responsible-worker');
    expect(worker.status).toBe(200);
    const team = maija.teams?.[0];
    const current = team?.members.find(
      (m) =>
        !m.period.end &&
        ['patient-responsible-worker', 'own-worker', 'te-expert', 'kuntakokeilu-coach'].includes(m.role),
    );
    expect(worker.body.responsibleWorker).toEqual(current);
    expect(worker.body.responsibleWorkers).toEqual([current]);
    const consents = await request(app).get('/api/clients/maija/consents');
    expect(consents.status).toBe(200);
    expect(consents.body.consents).toEqual([
      expect.objectContaining({ id: 'maija-consent-1', parties: maija.consents?.[0].parties }),
    ]);
  });

  it('each client view refuses a query parameter it does not take, naming it; the format parameters pass', async () => {
    for (const [view, what] of [
      ['plan', 'the plan view'],
      ['responsible-worker', 'the responsible-worker view'],
      ['consents', 'the consents view'],
    ]) {
      const res = await request(app).get(`/api/clients/maija/${view}?status=draft`);
      expect(res.status, view).toBe(400);
      expect(res.body.issue[0]).toMatchObject({
        code: 'not-supported',
        diagnostics: `Unknown parameter "status" for ${what} (supported: none)`,
        expression: ['status'],
      });
      expect((await request(app).get(`/api/clients/maija/${view}?_pretty=true`)).status, view).toBe(200);
    }
  });

  it('has no disclosure log without the security layer (nothing is audited), and says so', async () => {
    const res = await request(app).get('/api/clients/maija/disclosures');
    expect(res.status).toBe(404);
    expect(res.body.issue?.[0]?.diagnostics).toBe(
      'This facade runs without its security layer: it keeps no audit log',
    );
  });

  it('changes the responsible worker as a new CareTeam version, keeping the history', async () => {
    const res = await postJson('/api/clients/maija/responsible-worker', {
      professionalId: 'nurse-koskinen',
      role: 'patient-responsible-worker',
      date: '2026-06-01',
    });
    expect(res.status).toBe(200);
    expect(res.body.reason).toMatch(/^sc-lehtonen hands over to nurse-koskinen/);
    const worker = await request(app).get('/api/clients/maija/responsible-worker');
    expect(worker.body.responsibleWorker).toEqual({
      professionalId: 'nurse-koskinen',
      role: 'patient-responsible-worker',
      period: { start: '2026-06-01' },
    });
    const careTeam = res.body.resources.find((r: CareTeam) => r.resourceType === 'CareTeam') as CareTeam;
    expect(careTeam.meta?.versionId).toBe('2');
    const history = await request(app).get(`/fhir/CareTeam/${careTeam.id}/_history`);
    expect((history.body as Bundle).entry).toHaveLength(2);

    const same = await postJson('/api/clients/maija/responsible-worker', {
      professionalId: 'nurse-koskinen',
      role: 'patient-responsible-worker',
      date: '2026-07-01',
    });
    expect(same.status).toBe(422);
    expect(same.body.issue[0]).toMatchObject({ code: 'business-rule', expression: ['CareTeam.participant'] });
    expect(same.body.issue[0].diagnostics).toBe('handover: nurse-koskinen is already the responsible worker');
  });

  it('ends the client relationship as an inactive CareTeam version; then nobody is the responsible worker, and a handover finds no active team', async () => {
    const now = await request(app).get('/api/clients/maija/responsible-worker');
    const team = now.body.team;
    // Every period must have ended: an ended team with an open period is refused, nothing stored.
    const open = await postJson('/api/teams', { ...team, ended: '2026-09-30' });
    expect(open.status).toBe(400);
    expect(open.body.issue[0].diagnostics).toMatch(
      /^tyk-ctm-2: .*the team ended on 2026-09-30, but the period of .+ has no end$/,
    );
    const ended = endTeam(team, '2026-09-30');
    if (!ended.ok) throw new Error(ended.reason);
    const res = await postJson('/api/teams', ended.team);
    expect(res.status).toBe(200);
    const careTeam = res.body.resources[0] as CareTeam;
    expect([careTeam.status, careTeam.period?.end, careTeam.meta?.versionId]).toEqual([
      'inactive',
      '2026-09-30',
      '3',
    ]);
    // Who is responsible now: nobody, since the day the relationship ended.
    const after = await request(app).get('/api/clients/maija/responsible-worker');
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({
      responsibleWorker: null,
      responsibleWorkers: [],
      ended: '2026-09-30',
    });
    expect(after.body.team.ended).toBe('2026-09-30');
    const handover = await postJson('/api/clients/maija/responsible-worker', {
      professionalId: 'sc-lehtonen',
      role: 'own-worker',
      date: '2026-10-01',
    });
    expect(handover.status).toBe(404);
    expect(handover.body.issue[0].diagnostics).toMatch(/has no active responsible-worker team/);
  });

  it('a handover request is checked as every domain input is: 400 naming the field, unknown fields refused', async () => {
    const good = { professionalId: 'nurse-koskinen', role: 'own-worker', date: '2026-08-01' };
    for (const [body, field, text] of [
      [{ ...good, x: 1 }, 'HandoverRequest.x', 'is not a known field'],
      [{ ...good, date: '2026-02-30' }, 'HandoverRequest.date', 'must match format "date"'],
      [{ ...good, role: 'doctor' }, 'HandoverRequest.role', 'must be one of'],
      [{ role: 'own-worker', date: '2026-08-01' }, 'HandoverRequest.professionalId', 'is required'],
    ] as const) {
      const res = await postJson('/api/clients/maija/responsible-worker', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.issue[0].expression).toEqual([field]);
      expect(res.body.issue[0].diagnostics).toContain(text);
    }
  });

  it('rejects invalid domain input with 400 naming the field; nothing stored', async () => {
    const bad = { ...maija.assessments?.[0], id: 'maija-assessment-bad', selfScore: 11 };
    const res = await postJson('/api/assessments', bad);
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(
      res.body.issue.some((i: { expression?: string[] }) => i.expression?.[0]?.includes('selfScore')),
    ).toBe(true);
  });

  it('rejects an object about a client the store does not know', async () => {
    const orphan = { ...maija.consents?.[0], id: 'orphan-consent', clientId: 'nobody' };
    const res = await postJson('/api/consents', orphan);
    expect(res.status).toBe(400);
    expect(res.body.issue[0].diagnostics).toMatch(/the conditional reference to Patient matches no resource/);
    const missing = await request(app).get('/api/clients/nobody/plan');
    expect(missing.status).toBe(404);
    expect(missing.body.issue[0].diagnostics).toBe('Client "nobody" not found');
  });
});
