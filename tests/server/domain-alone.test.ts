// The domain API: an object sent alone held to its client's data, unchanged re-sends of a
// consent or team alone, the {clientId} path parameter, domain fields in write refusals, unknown keys.
import type { Bundle, CareTeam, Consent, Observation, Resource } from '@medplum/fhirtypes';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import { type WorkAbilityRecord, makeHetu } from '../../src/domain/index.ts';
import { localIdSystem } from '../../src/mapping/index.ts';
import { appPerSuite } from './helpers.ts';

const suite = appPerSuite();
let a: WorkAbilityRecord;
let b: WorkAbilityRecord;

const postJson = (path: string, body: unknown) =>
  request(suite.app).post(path).set('Content-Type', 'application/json').send(JSON.stringify(body));

let variants = 0;
/** Suvi's record under ids of its own (client, HETU, each object), as domain-api.test.ts makes them. */
function suviAs(tag: string): WorkAbilityRecord {
  const text = JSON.stringify(suvi)
    .replaceAll('"suvi', `"${tag}-suvi`)
    .replaceAll(suvi.client.hetu as string, makeHetu('1995-03-12', 960 + variants++))
    .replaceAll(suvi.selfAssessments![0]!.id, crypto.randomUUID());
  return JSON.parse(text);
}

async function storedByLocalId<T extends Resource>(type: string, kind: string, id: string): Promise<T[]> {
  const res = await request(suite.app)
    .get(`/fhir/${type}`)
    .query({ identifier: `${localIdSystem(kind as never)}|${id}` });
  return ((res.body as Bundle).entry ?? []).map((e) => e.resource as T);
}

beforeAll(async () => {
  a = suviAs('ra');
  b = suviAs('rb');
  for (const rec of [a, b]) expect((await postJson('/api/records', rec)).status).toBe(201);
});

type Issue = { diagnostics: string; expression?: string[]; location?: string[]; code: string };
const issuesOf = (res: { body: { issue: Issue[] } }) => res.body.issue;

describe('an object sent alone is held to its own client (finding 1)', () => {
  it("a referral resting on another client's consent is refused naming Referral.consentId; nothing stored", async () => {
    const referral = { ...a.referrals![0]!, id: 'ra-cross-referral', consentId: b.consents![0]!.id };
    const res = await postJson('/api/referrals', referral);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(issuesOf(res)).toEqual([
      expect.objectContaining({
        code: 'invariant',
        expression: ['Referral.consentId'],
        diagnostics: expect.stringMatching(/^reference: Referral\.consentId: /),
      }),
    ]);
    expect(await storedByLocalId('ServiceRequest', 'referral', 'ra-cross-referral')).toEqual([]);
  });

  it("a plan resting on another client's assessment and team is refused naming both fields, as in a record", async () => {
    const plan = {
      ...a.plans![0]!,
      id: 'ra-cross-plan',
      assessmentId: b.assessments![0]!.id,
      teamId: b.teams![0]!.id,
    };
    const res = await postJson('/api/plans', plan);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(issuesOf(res).map((i) => [i.expression?.[0], i.diagnostics.split(':')[0]])).toEqual([
      ['SupportPlan.assessmentId', 'reference'],
      ['SupportPlan.teamId', 'reference'],
    ]);
    expect(await storedByLocalId('CarePlan', 'plan', 'ra-cross-plan')).toEqual([]);
    // Its own client's assessment and team: the plan goes in.
    const own = await postJson('/api/plans', {
      ...plan,
      assessmentId: a.assessments![0]!.id,
      teamId: a.teams![0]!.id,
    });
    expect(own.status, JSON.stringify(own.body)).toBe(201);
  });

  it("a plan naming another client's referral (referralIds) is refused naming the item; its own client's goes in", async () => {
    // No activities of its own: the client's stored plans already run the days a week tyk-rwa-3 allows.
    const plan = {
      ...a.plans![0]!,
      id: 'ra-referral-plan',
      activities: [],
      referralIds: [b.referrals![0]!.id],
    };
    const res = await postJson('/api/plans', plan);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(issuesOf(res)).toEqual([
      expect.objectContaining({
        code: 'invariant',
        expression: ['SupportPlan.referralIds[0]'],
        diagnostics: `reference: SupportPlan.referralIds[0]: '${b.referrals![0]!.id}' is not among the client's referrals: it is another client's`,
      }),
    ]);
    expect(await storedByLocalId('CarePlan', 'plan', 'ra-referral-plan')).toEqual([]);
    const own = await postJson('/api/plans', { ...plan, referralIds: [a.referrals![0]!.id] });
    expect(own.status, JSON.stringify(own.body)).toBe(201);
  });

  it("an assessment derived from another client's self-assessment is refused naming Assessment.selfAssessmentId", async () => {
    const assessment = {
      ...a.assessments![0]!,
      id: 'ra-cross-assessment',
      selfAssessmentId: b.selfAssessments![0]!.id,
    };
    const res = await postJson('/api/assessments', assessment);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(issuesOf(res).map((i) => i.expression?.[0])).toEqual(['Assessment.selfAssessmentId']);
  });

  it('an existing assessment re-sent for another client is a 409 naming Assessment.clientId; nothing moves', async () => {
    // (Without its self-assessment, which is A's: naming it would be refused first, as above.)
    const { selfAssessmentId: _, ...own } = a.assessments![0]!;
    const moved = { ...own, clientId: b.client.id };
    const res = await postJson('/api/assessments', moved);
    expect(res.status, JSON.stringify(res.body)).toBe(409);
    expect(issuesOf(res)[0]).toMatchObject({
      code: 'conflict',
      expression: ['Assessment.clientId'],
      diagnostics: expect.stringMatching(/^same-client: Assessment\.clientId: /),
    });
    const [stored] = await storedByLocalId<Observation>('Observation', 'assessment', a.assessments![0]!.id);
    expect(stored?.meta?.versionId).toBe('1');
    expect(stored?.subject?.identifier?.value).toBe(a.client.id);
    // In a record the same move is refused too (the record's objects are its own client's).
    const inRecord = await postJson('/api/records', { ...b, assessments: [...b.assessments!, moved] });
    expect(inRecord.status, JSON.stringify(inRecord.body)).toBe(409);
    expect(issuesOf(inRecord)[0]?.diagnostics).toMatch(/^same-client: Observation\.subject: /);
    expect(JSON.stringify(inRecord.body)).not.toContain(b.client.hetu);
  });
});

describe('a consent or team re-sent alone, unchanged, is unchanged (finding 2)', () => {
  it('same versionId; the organisation references and professional names kept', async () => {
    const [before] = await storedByLocalId<Consent>('Consent', 'consent', a.consents![0]!.id);
    const consent = await postJson('/api/consents', a.consents![0]!);
    expect(consent.status, JSON.stringify(consent.body)).toBe(200);
    const stored = consent.body.resources[0] as Consent;
    expect(stored.meta?.versionId).toBe(before?.meta?.versionId);
    expect(stored.provision?.actor?.map((x) => x.reference?.reference?.split('/')[0])).toEqual([
      'Organization',
      'Organization',
      'Organization',
    ]);
    const team = await postJson('/api/teams', a.teams![0]!);
    expect(team.status, JSON.stringify(team.body)).toBe(200);
    expect((team.body.resources[0] as CareTeam).meta?.versionId).toBe('1');
    // And the record after them: still unchanged.
    const again = await postJson('/api/records', a);
    expect(again.status).toBe(200);
    expect((again.body.resources as Resource[]).map((r) => r.meta?.versionId)).toEqual(
      (again.body.resources as Resource[]).map(() => '1'),
    );
  });

  it('a changed consent alone is a new version that keeps its organisation references', async () => {
    const withdrawn = { ...b.consents![0]!, withdrawnOn: '2026-02-18' };
    const res = await postJson('/api/consents', withdrawn);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const stored = res.body.resources[0] as Consent;
    expect(stored.meta?.versionId).toBe('2');
    expect(stored.provision?.actor?.[2]?.reference).toMatchObject({
      reference: expect.stringMatching(/^Organization\//),
      identifier: { value: 'kela' },
    });
  });

  it("a handover's new team version names the professionals as the record's does", async () => {
    const res = await postJson(`/api/clients/${b.client.id}/responsible-worker`, {
      professionalId: 'sw-nieminen',
      role: 'own-worker',
      date: '2026-08-01',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const team = (res.body.resources as CareTeam[]).find((r) => r.resourceType === 'CareTeam');
    expect(team?.text?.div).toContain('Liisa Laine');
    expect(team?.text?.div).not.toContain('coach-laine');
  });
});

describe('the {clientId} path parameter (finding 3)', () => {
  it('is a local id: a comma, or anything else, is a 400 naming clientId, quoting nothing', async () => {
    const hetu = a.client.hetu as string;
    for (const view of ['plan', 'consents', 'responsible-worker', 'disclosures']) {
      const res = await request(suite.app).get(`/api/clients/nobody,${hetu}/${view}`);
      expect(res.status, view).toBe(400);
      expect(issuesOf(res)[0]).toMatchObject({ code: 'invalid', expression: ['clientId'] });
      expect(JSON.stringify(res.body), view).not.toContain(hetu);
    }
    const post = await postJson(`/api/clients/nobody,${a.client.id}/responsible-worker`, {
      professionalId: 'sw-nieminen',
      role: 'own-worker',
      date: '2026-08-01',
    });
    expect(post.status).toBe(400);
    expect(issuesOf(post)[0]?.expression).toEqual(['clientId']);
  });
});

describe('an unresolved link is named by its domain field (finding 4)', () => {
  it('an unknown author is SupportPlan.authorId; an unknown client is Consent.clientId; no Bundle paths', async () => {
    // A draft: an active copy would exceed tyk-rwa-3 with the client's stored activation plans first.
    const plan = { ...a.plans![0]!, id: 'ra-orphan-plan', authorId: 'nobody-prof', status: 'draft' as const };
    const res = await postJson('/api/plans', plan);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(issuesOf(res)).toEqual([
      expect.objectContaining({
        code: 'not-found',
        expression: ['SupportPlan.authorId'],
        location: ['SupportPlan.authorId'],
        diagnostics:
          'SupportPlan.authorId: the conditional reference to PractitionerRole matches no resource',
      }),
    ]);
    const consent = { ...a.consents![0]!, id: 'ra-orphan-consent', clientId: 'nobody' };
    const orphan = await postJson('/api/consents', consent);
    expect(orphan.status).toBe(400);
    expect(issuesOf(orphan)[0]).toMatchObject({
      expression: ['Consent.clientId'],
      diagnostics: 'Consent.clientId: the conditional reference to Patient matches no resource',
    });
    for (const r of [res, orphan]) expect(JSON.stringify(r.body)).not.toMatch(/entry\[|Bundle/);
  });
});

describe('an unknown JSON key is not echoed (finding 5)', () => {
  it('names the object, not the key, when the key is not a field name', async () => {
    const hetu = a.client.hetu as string;
    const res = await postJson('/api/clients', { ...a.client, [`Salainen Tiina ${hetu}`]: 1 });
    expect(res.status).toBe(400);
    expect(issuesOf(res)[0]).toMatchObject({ code: 'structure', expression: ['Client'] });
    expect(JSON.stringify(res.body)).not.toMatch(new RegExp(`Salainen|${hetu}`));
  });
});
