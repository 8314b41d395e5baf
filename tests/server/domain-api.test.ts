import { randomUUID } from 'node:crypto';
import type {
  Bundle,
  CarePlan,
  CareTeam,
  Consent,
  Goal,
  Patient,
  Resource,
  ServiceRequest,
} from '@medplum/fhirtypes';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The SDK's persona records (the source of examples/personas/*.json).
import { maija, suvi } from '../../examples/tools/personas.ts';
import { type WorkAbilityRecord, dayBefore, endTeam, finnishDay, makeHetu } from '../../src/domain/index.ts';
import { canonical, localIdSystem } from '../../src/mapping/index.ts';
import { type Secured, startSecured } from '../security/helpers.ts';
import { type Fixture, appPerSuite, openFixture } from './helpers.ts';

const suite = appPerSuite();

const postJson = (path: string, body: unknown) =>
  request(suite.app).post(path).set('Content-Type', 'application/json').send(JSON.stringify(body));

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
    const found = await request(suite.app)
      .get('/fhir/Patient')
      .query({ identifier: `urn:oid:1.2.246.21|${maija.client.hetu}` });
    expect((found.body as Bundle).entry?.[0]?.resource?.meta?.versionId).toBe('1');
  });

  it('maps the current plan, the responsible worker and active consents back to domain objects', async () => {
    const plan = await request(suite.app).get('/api/clients/maija/plan');
    expect(plan.status).toBe(200);
    expect(plan.body.plan).toMatchObject({
      id: 'maija-plan',
      clientId: 'maija',
      status: 'active',
      goals: maija.plans?.[0].goals,
    });
    const worker = await request(suite.app).get('/api/clients/maija/responsible-worker');
    expect(worker.status).toBe(200);
    const team = maija.teams?.[0];
    const current = team?.members.find(
      (m) =>
        !m.period.end &&
        ['patient-responsible-worker', 'own-worker', 'te-expert', 'kuntakokeilu-coach'].includes(m.role),
    );
    expect(worker.body.responsibleWorker).toEqual(current);
    expect(worker.body.responsibleWorkers).toEqual([current]);
    const consents = await request(suite.app).get('/api/clients/maija/consents');
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
      const res = await request(suite.app).get(`/api/clients/maija/${view}?status=draft`);
      expect(res.status, view).toBe(400);
      expect(res.body.issue[0]).toMatchObject({
        code: 'not-supported',
        diagnostics: `Unknown parameter "status" for ${what} (supported: none)`,
        expression: ['status'],
      });
      expect((await request(suite.app).get(`/api/clients/maija/${view}?_pretty=true`)).status, view).toBe(
        200,
      );
    }
  });

  it('has no disclosure log without the security layer (nothing is audited), and says so', async () => {
    const res = await request(suite.app).get('/api/clients/maija/disclosures');
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
    const worker = await request(suite.app).get('/api/clients/maija/responsible-worker');
    expect(worker.body.responsibleWorker).toEqual({
      professionalId: 'nurse-koskinen',
      role: 'patient-responsible-worker',
      period: { start: '2026-06-01' },
    });
    const careTeam = res.body.resources.find((r: CareTeam) => r.resourceType === 'CareTeam') as CareTeam;
    expect(careTeam.meta?.versionId).toBe('2');
    const history = await request(suite.app).get(`/fhir/CareTeam/${careTeam.id}/_history`);
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
    const now = await request(suite.app).get('/api/clients/maija/responsible-worker');
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
    const after = await request(suite.app).get('/api/clients/maija/responsible-worker');
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
    const missing = await request(suite.app).get('/api/clients/nobody/plan');
    expect(missing.status).toBe(404);
    expect(missing.body.issue[0].diagnostics).toBe(
      'Client not found (no Patient carries the identifier its clientId names)',
    );
  });
});

let variants = 0;
/** Suvi's record under ids of its own (client, HETU, and each object of hers), so a test stands alone. */
function suviAs(tag: string): WorkAbilityRecord {
  const text = JSON.stringify(suvi)
    .replaceAll('"suvi', `"${tag}-suvi`)
    .replaceAll(suvi.client.hetu as string, makeHetu('1995-03-12', 930 + variants++))
    .replaceAll(suvi.selfAssessments![0]!.id, randomUUID());
  return JSON.parse(text);
}

/** The stored resource of `type` with the local id `id` (of the domain `kind`). */
async function storedByLocalId<T extends Resource>(type: string, kind: string, id: string): Promise<T> {
  const res = await request(suite.app)
    .get(`/fhir/${type}`)
    .query({ identifier: `${localIdSystem(kind as never)}|${id}` });
  return (res.body as Bundle).entry?.[0]?.resource as T;
}

const putFhir = (resource: Resource) =>
  request(suite.app)
    .put(`/fhir/${resource.resourceType}/${resource.id}`)
    .set({ 'Content-Type': 'application/fhir+json', 'If-Match': `W/"${resource.meta?.versionId}"` })
    .send(JSON.stringify(resource));

describe('domain API: one rule on every path', () => {
  it('POST /api/referrals applies the referral rules /api/records does, the consent and requester read from the store', async () => {
    const rec = suviAs('ref');
    expect((await postJson('/api/records', rec)).status).toBe(201);
    const helsinki = {
      ...rec.referrals![0]!,
      id: 'ref-referral-2',
      service: 'helsinki-work-ability-support' as const,
    };
    const byCoach = await postJson('/api/referrals', helsinki);
    expect(byCoach.status).toBe(400);
    expect(byCoach.body.issue).toEqual([
      {
        severity: 'error',
        code: 'invariant',
        diagnostics:
          "referral-requester-role: Referral.requesterId: a referral to Helsinki work-ability support comes from a social-care professional or a Criminal Sanctions Agency employee, not 'kuntakokeilu-coach'",
        expression: ['Referral.requesterId'],
        location: ['Referral.requesterId'],
      },
    ]);
    const bySocialWorker = await postJson('/api/referrals', {
      ...helsinki,
      id: 'ref-referral-3',
      requesterId: 'sw-nieminen',
    });
    expect(bySocialWorker.status, JSON.stringify(bySocialWorker.body)).toBe(201);

    const withdrawn = { ...rec.consents![0]!, withdrawnOn: '2026-02-18' };
    expect((await postJson('/api/consents', withdrawn)).status).toBe(200);
    const late = { ...rec.referrals![0]!, id: 'ref-referral-4', date: '2026-03-01' };
    const why =
      'the attached consent is not in force on the referral date: consent ref-suvi-consent-1 was withdrawn on 2026-02-18';
    const alone = await postJson('/api/referrals', late);
    expect(alone.status).toBe(400);
    expect(alone.body.issue).toEqual([
      {
        severity: 'error',
        code: 'invariant',
        diagnostics: `referral-consent: Referral.consentId: ${why}`,
        expression: ['Referral.consentId'],
        location: ['Referral.consentId'],
      },
    ]);
    const inRecord = await postJson('/api/records', { ...rec, consents: [withdrawn], referrals: [late] });
    expect(inRecord.status).toBe(400);
    expect(inRecord.body.issue.map((i: { diagnostics: string }) => i.diagnostics)).toEqual([
      `referral-consent: WorkAbilityRecord.referrals[0].consentId: ${why}`,
    ]);
    for (const id of ['ref-referral-2', 'ref-referral-4'])
      expect(await storedByLocalId('ServiceRequest', 'referral', id), id).toBeUndefined();
  });

  it('a domain Text refuses U+FFFE and U+FFFF, which the narrative cannot carry: 400 naming the field, not 422 on the narrative', async () => {
    for (const family of ['Virtanen\ufffe', 'Vir\ufffftanen']) {
      const res = await postJson('/api/clients', { ...suviAs('text').client, name: { family, given: [] } });
      expect(res.status).toBe(400);
      expect(res.body.issue[0]).toMatchObject({
        code: 'value',
        expression: ['Client.name.family'],
        diagnostics:
          'Client.name.family: must be text without leading or trailing white space, control characters (other than tab and line breaks), lone surrogates or the noncharacters U+FFFE and U+FFFF (schema pattern)',
      });
    }
  });

  it("an update that changes only a consent's receiving organisation (the actor's Reference) is a new version", async () => {
    const rec = suviAs('actor');
    const noKela = { ...rec, organizations: rec.organizations!.filter((o) => o.id !== 'kela') };
    expect((await postJson('/api/records', noKela)).status).toBe(201);
    const before = await storedByLocalId<Consent>('Consent', 'consent', 'actor-suvi-consent-1');
    expect(before.provision?.actor?.[2]?.reference).toEqual({ display: 'Kela' });
    const res = await postJson('/api/records', rec);
    expect(res.status).toBe(200);
    const consent = (res.body.resources as Consent[]).find((r) => r.resourceType === 'Consent');
    expect(consent?.meta?.versionId).toBe('2');
    expect(consent?.provision?.actor?.[2]?.reference).toMatchObject({
      reference: expect.stringMatching(/^Organization\//),
      identifier: { value: 'kela' },
    });
    // Sent again, nothing changes.
    const again = await postJson('/api/records', rec);
    expect(
      (again.body.resources as Consent[]).find((r) => r.resourceType === 'Consent')?.meta?.versionId,
    ).toBe('2');
  });
});

/** tyk-gol-1 as the validator reports it: the goal states the domain holds (mappings/fhir-map.json goal.states). */
const GOAL_STATES_RULE =
  'tyk-gol-1: Tavoite on joko avoin (active; saavutusta ei ole kirjattu tai se on in-progress) tai saavutettu (completed ja achieved). / A goal is open (lifecycleStatus active, achievementStatus absent or in-progress) or achieved (lifecycleStatus completed, achievementStatus achieved); the work-ability support plan records no other goal state (proposed, planned, accepted, on hold, cancelled, rejected or entered in error, nor completed without being achieved).';
const achievement = (code: string) => ({
  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/goal-achievement', code }],
});

describe('domain API: GET views', () => {
  it('the responsible-worker view names who is responsible today, not one whose period has not begun', async () => {
    const rec = suviAs('later');
    expect((await postJson('/api/records', rec)).status).toBe(201);
    const next = `${Number(finnishDay().slice(0, 4)) + 1}-06-01`;
    const handover = await postJson(`/api/clients/${rec.client.id}/responsible-worker`, {
      professionalId: 'sw-nieminen',
      role: 'own-worker',
      date: next,
    });
    expect(handover.status).toBe(200);
    const view = await request(suite.app).get(`/api/clients/${rec.client.id}/responsible-worker`);
    expect(view.status).toBe(200);
    const today = {
      professionalId: 'coach-laine',
      role: 'kuntakokeilu-coach',
      period: { start: '2026-01-15', end: dayBefore(next) },
    };
    expect(view.body.responsibleWorkers).toEqual([today]);
    expect(view.body.responsibleWorker).toEqual(today);
  });

  it('the responsible-worker view reads the active team, not a newer version of an ended one', async () => {
    const rec = suviAs('second');
    const client = rec.client.id;
    expect((await postJson('/api/records', rec)).status).toBe(201);
    const ended = endTeam(rec.teams![0]!, '2026-06-30');
    if (!ended.ok) throw new Error(ended.reason);
    expect((await postJson('/api/teams', ended.team)).status).toBe(200);
    const member = { professionalId: 'sw-nieminen', role: 'own-worker', period: { start: '2026-09-01' } };
    const second = { id: 'second-suvi-team-2', clientId: client, name: 'Uusi tiimi', members: [member] };
    expect((await postJson('/api/teams', second)).status).toBe(201);
    // The ended team's name is corrected: a newer version of it than the active team.
    const corrected = await postJson('/api/teams', { ...ended.team, name: 'Suvin tiimi (kuntakokeilu)' });
    expect(corrected.status).toBe(200);
    expect(corrected.body.resources[0].meta.versionId).toBe('3');
    const view = await request(suite.app).get(`/api/clients/${client}/responsible-worker`);
    expect(view.status).toBe(200);
    expect(view.body).toEqual({ responsibleWorker: member, responsibleWorkers: [member], team: second });
  });

  it('a Goal state the domain cannot hold is refused on the write (tyk-gol-1), so the plan view still reads', async () => {
    const rec = suviAs('goal');
    const client = rec.client.id;
    expect((await postJson('/api/records', rec)).status).toBe(201);
    const goal = await storedByLocalId<Goal>(
      'Goal',
      'goal',
      `${rec.plans![0]!.id}/${rec.plans![0]!.goals[0]!.id}`,
    );
    const refusals: Array<[string, Partial<Goal>]> = [
      ['on hold', { lifecycleStatus: 'on-hold' }],
      ['cancelled', { lifecycleStatus: 'cancelled' }],
      [
        'completed, not achieved',
        { lifecycleStatus: 'completed', achievementStatus: achievement('not-achieved') },
      ],
      ['achieved while active', { lifecycleStatus: 'active', achievementStatus: achievement('achieved') }],
    ];
    for (const [why, change] of refusals) {
      const res = await putFhir({ ...goal, ...change });
      expect(res.status, why).toBe(422);
      expect(res.body.issue, why).toEqual([
        {
          severity: 'error',
          code: 'invariant',
          diagnostics: `${GOAL_STATES_RULE} (from ${canonical}/StructureDefinition/tyokyky-goal)`,
          expression: ['Goal'],
          location: ['Goal'],
        },
      ]);
    }
    // The states the domain holds are written; the view reads each.
    const done = await putFhir({
      ...goal,
      lifecycleStatus: 'completed',
      achievementStatus: achievement('achieved'),
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    const view = await request(suite.app).get(`/api/clients/${client}/plan`);
    expect(view.status, JSON.stringify(view.body)).toBe(200);
    expect(view.body.plan.goals[0]).toEqual({ ...rec.plans![0]!.goals[0], achieved: true });
  });

  it('a referral the EHR has completed or revoked is stored as R4 allows; no view reads referrals, so none refuses', async () => {
    const rec = suviAs('served');
    const client = rec.client.id;
    expect((await postJson('/api/records', rec)).status).toBe(201);
    let referral = await storedByLocalId<ServiceRequest>('ServiceRequest', 'referral', rec.referrals![0]!.id);
    for (const status of ['completed', 'revoked'] as const) {
      const res = await putFhir({ ...referral, status });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      referral = res.body;
      for (const view of ['plan', 'responsible-worker', 'consents'])
        expect(
          (await request(suite.app).get(`/api/clients/${client}/${view}`)).status,
          `${status} ${view}`,
        ).toBe(200);
    }
  });

  it('read data written through /fhir: plain literal references, text domain input would refuse; never a 400', async () => {
    const rec = suviAs('fhir');
    const client = rec.client.id;
    expect((await postJson('/api/records', rec)).status).toBe(201);
    // A consent as a vendor (or the sync) writes it: plain literal references, a business identifier only.
    const stored = await storedByLocalId<Consent>('Consent', 'consent', 'fhir-suvi-consent-1');
    const { id: _, meta, ...body } = stored;
    const uuid = randomUUID();
    const plain: Consent = {
      ...body,
      meta: { profile: meta?.profile },
      identifier: [{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${uuid}` }],
      patient: { reference: stored.patient?.reference },
      organization: [{ reference: stored.organization?.[0]?.reference }],
      provision: {
        ...body.provision,
        actor: body.provision?.actor?.map((a) => ({
          ...a,
          reference: a.reference.reference ? { reference: a.reference.reference } : a.reference,
        })),
      },
    };
    const created = await request(suite.app)
      .post('/fhir/Consent')
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(plain));
    expect(created.status).toBe(201);
    const consents = await request(suite.app).get(`/api/clients/${client}/consents`);
    expect(consents.status, JSON.stringify(consents.body)).toBe(200);
    // Two consents written apart: the view's order (by lastUpdated, then id) may tie within a millisecond.
    expect(consents.body.consents).toHaveLength(2);
    expect(consents.body.consents).toEqual(
      expect.arrayContaining([{ ...rec.consents![0] }, { ...rec.consents![0], id: `urn.uuid.${uuid}` }]),
    );

    // The plan edited through FHIR: a title with a trailing space (a valid FHIR string), then the author plain.
    const plan = await storedByLocalId<CarePlan>('CarePlan', 'plan', 'fhir-suvi-activation-plan');
    const titled = await putFhir({ ...plan, title: 'Aktivointisuunnitelma ' });
    expect(titled.status).toBe(200);
    let view = await request(suite.app).get(`/api/clients/${client}/plan`);
    expect(view.status, JSON.stringify(view.body)).toBe(200);
    expect(view.body.plan).toEqual({ ...rec.plans![0], title: 'Aktivointisuunnitelma ' });
    const authored = await putFhir({ ...titled.body, author: { reference: plan.author?.reference } });
    expect(authored.status).toBe(200);
    view = await request(suite.app).get(`/api/clients/${client}/plan`);
    expect(view.status, JSON.stringify(view.body)).toBe(200);
    expect(view.body.plan.authorId).toBe('sw-nieminen');

    // The team with its members as plain references.
    const team = await storedByLocalId<CareTeam>('CareTeam', 'team', 'fhir-suvi-team');
    const members = team.participant?.map((p) => ({ ...p, member: { reference: p.member?.reference } }));
    expect((await putFhir({ ...team, participant: members })).status).toBe(200);
    const worker = await request(suite.app).get(`/api/clients/${client}/responsible-worker`);
    expect(worker.status, JSON.stringify(worker.body)).toBe(200);
    expect(worker.body.team).toEqual(rec.teams![0]);
  });
});

const ADMIN = 'system/*.cruds tyokyky/turvakielto.read';

describe('domain API with the security layer: a turvakielto client re-sent without the turvakielto scope', () => {
  let sfx: Fixture;
  let s: Secured;
  let admin: string;
  let vendor: string;
  beforeAll(async () => {
    sfx = await openFixture();
    s = await startSecured(sfx.store, sfx.validator);
    admin = (await s.client({ id: 'admin', scope: ADMIN })).token;
    vendor = (await s.client({ id: 'vendor', scope: 'system/*.cruds' })).token;
  });
  afterAll(async () => {
    await s?.running.close();
    await sfx?.close();
  });
  type Answer = { status: number; body: { resources: Resource[]; issue: { diagnostics: string }[] } };
  const api = async (token: string, path: string, body: unknown): Promise<Answer> => {
    const res = await s.call(token, `${s.url}/api/${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    return { status: res.status, body: (await res.json()) as Answer['body'] };
  };
  const storedPatient = async (): Promise<Patient> => {
    const res = await s.call(admin, `/Patient?identifier=${localIdSystem('client')}|tk-suvi`);
    return ((await res.json()) as Bundle).entry?.[0]?.resource as Patient;
  };

  it('an unchanged re-send is unchanged; what turvakielto hides cannot be probed, nor changed, through it', async () => {
    const rec = suviAs('tk');
    rec.client.nonDisclosure = true;
    expect((await api(admin, 'records', rec)).status).toBe(201);
    const whole = await api(vendor, 'records', rec);
    expect(whole.status, JSON.stringify(whole.body)).toBe(200);
    expect(whole.body.resources.map((r: Resource) => r.meta?.versionId)).toEqual(
      whole.body.resources.map(() => '1'),
    );
    const shown = whole.body.resources.find((r: Resource) => r.resourceType === 'Patient') as Patient;
    expect(shown.meta?.security?.map((l) => l.code)).toEqual(['TURVAKIELTO', 'REDACTED']);
    expect(shown.extension).toBeUndefined();

    // The hidden municipality the same or another: one answer (the redacted copy), nothing written.
    // (A 403 only when it differed would let a caller test guesses of what it may not see.)
    const same = await api(vendor, 'clients', rec.client);
    const other = await api(vendor, 'clients', { ...rec.client, municipality: '049' });
    const none = await api(vendor, 'clients', { ...rec.client, municipality: undefined });
    expect([same.status, other.status, none.status]).toEqual([200, 200, 200]);
    expect(other.body).toEqual(same.body);
    expect(none.body).toEqual(same.body);
    const stored = await storedPatient();
    expect(stored.meta?.versionId).toBe('1');
    expect(stored.extension?.[0]?.valueCoding?.code).toBe('091');

    // A change it can see is a write, which the guard refuses (sec-tk-1), whatever the hidden fields say;
    // so is lifting the turvakielto.
    for (const client of [
      { ...rec.client, name: { family: 'Virtanen', given: ['Suvi', 'Maria'] } },
      { ...rec.client, name: { family: 'Virtanen', given: ['Suvi', 'Maria'] }, municipality: '049' },
      { ...rec.client, nonDisclosure: undefined },
    ]) {
      const res = await api(vendor, 'clients', client);
      expect(res.status).toBe(403);
      expect(res.body.issue[0].diagnostics).toMatch(
        /^entry\[0\]: sec-tk-1: Patient\/[\w-]+ is under turvakielto; changing or deleting it needs the tyokyky\/turvakielto.read scope$/,
      );
    }
    // The rest of the record goes in beside the unchanged client.
    const a2 = { ...rec.assessments![0]!, id: 'tk-suvi-assessment-2', date: '2026-03-01' };
    const more = await api(vendor, 'records', { ...rec, assessments: [...rec.assessments!, a2] });
    expect(more.status, JSON.stringify(more.body)).toBe(201);
    expect((await storedPatient()).meta?.versionId).toBe('1');
    // The views read through the caller's guarded store (the Patient it finds is the redacted copy).
    for (const view of ['plan', 'consents', 'responsible-worker']) {
      const res = await s.call(vendor, `${s.url}/api/clients/tk-suvi/${view}`);
      expect(res.status, view).toBe(200);
    }
  });
});
