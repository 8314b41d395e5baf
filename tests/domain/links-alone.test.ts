// An object validated alone is held to its client's objects (`reference`), as in a
// record; an unknown key that is not a field name is not echoed.
import { describe, expect, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import { domainIssues, recordIssues, validateDomain } from '../../src/domain/index.ts';

const plan = suvi.plans![0]!;
const referral = suvi.referrals![0]!;
const assessment = suvi.assessments![0]!;

describe('reference: what an object alone names of its client is that client', () => {
  it("refuses another client's assessment, team, consent and self-assessment, naming each field", () => {
    const other = { clientId: 'maija' };
    expect(
      domainIssues('plan', plan, undefined, {
        assessments: [{ id: plan.assessmentId!, ...other }],
        teams: [{ id: plan.teamId!, ...other }],
      }).map((i) => [i.expression?.[0], i.diagnostics]),
    ).toEqual([
      [
        'SupportPlan.assessmentId',
        "reference: SupportPlan.assessmentId: 'suvi-assessment-1' is not among the client's assessments: it is another client's",
      ],
      [
        'SupportPlan.teamId',
        "reference: SupportPlan.teamId: 'suvi-team' is not among the client's teams: it is another client's",
      ],
    ]);
    expect(
      domainIssues('plan', { ...plan, referralIds: [referral.id] }, undefined, {
        referrals: [{ id: referral.id, ...other }],
      }).map((i) => i.diagnostics),
    ).toEqual([
      `reference: SupportPlan.referralIds[0]: '${referral.id}' is not among the client's referrals: it is another client's`,
    ]);
    const consent = { ...suvi.consents![0]!, clientId: 'maija' };
    expect(() => validateDomain('referral', referral, { consents: [consent] })).toThrow(
      "reference: Referral.consentId: 'suvi-consent-1' is not among the client's consents: it is another client's",
    );
    expect(
      domainIssues('assessment', assessment, undefined, {
        selfAssessments: [{ id: assessment.selfAssessmentId!, ...other }],
      }).map((i) => i.expression?.[0]),
    ).toEqual(['Assessment.selfAssessmentId']);
  });

  it("the client's own, or one whose client is not given, passes", () => {
    expect(
      domainIssues('plan', plan, undefined, {
        assessments: [{ id: plan.assessmentId!, clientId: 'suvi' }],
        teams: [{ id: plan.teamId!, clientId: 'suvi' }],
      }),
    ).toEqual([]);
    // A consent without clientId (the referral rules' callers give period and withdrawal only).
    const { clientId: _, ...terms } = suvi.consents![0]!;
    expect(domainIssues('referral', referral, undefined, { consents: [terms] })).toEqual([]);
    expect(() => validateDomain('plan', plan, { teams: 'x' } as never)).toThrow(TypeError);
  });

  it("a record's links are checked as before, in the same order", () => {
    const r = structuredClone(suvi);
    r.plans![0]!.assessmentId = 'gone';
    r.plans![0]!.clientId = 'maija';
    r.teams![0]!.members[0]!.professionalId = 'nobody';
    expect(recordIssues(r).map((i) => i.diagnostics)).toEqual([
      "reference: WorkAbilityRecord.plans[0].clientId: 'maija' is not the record's client 'suvi'",
      "reference: WorkAbilityRecord.plans[0].assessmentId: 'gone' is not among the record's assessments",
      "reference: WorkAbilityRecord.teams[0].members[0].professionalId: 'nobody' is not among the record's professionals",
    ]);
  });
});

describe('an unknown key', () => {
  it('shaped as a field name is named; any other text is not echoed, the object is named', () => {
    const client = suvi.client;
    const [typo] = domainIssues('client', { ...client, hetU: 'x' });
    expect(typo).toMatchObject({ expression: ['Client.hetU'], code: 'structure' });
    const [data] = domainIssues('client', { ...client, [`Salainen Tiina ${client.hetu}`]: 1 });
    expect(data).toMatchObject({
      code: 'structure',
      expression: ['Client'],
      diagnostics:
        'Client: has a key that is not a known field (not quoted: it is not a field name) (schema additionalProperties)',
    });
    const [nested] = domainIssues('plan', {
      ...plan,
      goals: [{ ...plan.goals[0]!, '010181-900C': true }, ...plan.goals.slice(1)],
    });
    expect(nested?.expression).toEqual(['SupportPlan.goals[0]']);
  });
});
