// Invalid domain input → DomainValidationError naming the field (expression) and the rule; no output.
import { describe, expect, it, vi } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import {
  ClientSchema,
  DomainValidationError,
  HETU_SHAPE_SOURCE,
  type SupportPlan,
  addMonths,
  checkPlanActivity,
  domainIssues,
  recordIssues,
  validateDomain,
  validateRecord,
} from '../../src/domain/index.ts';

function firstIssue(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DomainValidationError);
    const err = e as DomainValidationError;
    return { field: err.field, issue: err.outcome.issue![0]!, all: err.outcome.issue!, status: err.status };
  }
  throw new Error('expected a DomainValidationError');
}

const plan: SupportPlan = structuredClone(suvi.plans![0]!);

describe('domain validation names the field and the rule', () => {
  it('bad HETU → tyk-hetu-1 on Client.hetu', () => {
    const r = firstIssue(() =>
      validateDomain('client', { id: 'c1', hetu: '010181-900D', name: { family: 'X', given: [] } }),
    );
    expect(r.status).toBe(400);
    expect(r.field).toBe('Client.hetu');
    expect(r.issue.expression).toEqual(['Client.hetu']);
    expect(r.issue.diagnostics).toBe(
      "tyk-hetu-1: Client.hetu: check character 'D' does not match the rest of the code",
    );
  });

  it('a HETU of the wrong shape names what the shape is and the rule (tyk-hetu-1), without quoting the value', () => {
    for (const hetu of [
      '010181-900c',
      '010181y900C',
      '010181G123X',
      ' 010181-900C',
      '010181 900C',
      '010181-900',
    ]) {
      const r = firstIssue(() =>
        validateDomain('client', { id: 'c1', hetu, name: { family: 'X', given: [] } }),
      );
      expect(r.issue.expression, hetu).toEqual(['Client.hetu']);
      expect(r.issue.diagnostics, hetu).toBe(
        'tyk-hetu-1: Client.hetu: must be a HETU: six digits of birth date, a century sign (+, -, A–F or U–Y), three digits and a check character (0–9 or an upper-case letter) (schema pattern)',
      );
    }
  });

  it("the schema's HETU pattern is the rule's shape (hetu.ts), not a second copy", () => {
    const pattern = (ClientSchema.properties.hetu as unknown as { pattern: string }).pattern;
    expect(pattern).toBe(`^${HETU_SHAPE_SOURCE}$`);
  });

  it('a client whose local id is a HETU is refused (ids travel in URLs and logs), naming no HETU', () => {
    const r = firstIssue(() =>
      validateDomain('client', { id: '010181-900C', hetu: '010181-900C', name: { family: 'X', given: [] } }),
    );
    expect(r.field).toBe('Client.id');
    expect(r.issue.diagnostics).toBe(
      'local-id-not-hetu: Client.id: a local id must not be a HETU (ids travel in URLs and logs); give the HETU as hetu',
    );
  });

  it.each([
    ['a mistyped HETU (check character)', '010181-900D'],
    ['a HETU glued to a letter before it', 'c050574-901D'],
    ['a HETU with its check character in lower case', 'x010181-900c'],
    ['a HETU before a sign', '010181-900C.1'],
  ])('a local id holding %s is refused as the masker sees it (every message would mask it)', (_, id) => {
    const r = firstIssue(() =>
      validateDomain('client', { id, hetu: '010181-900C', name: { family: 'X', given: [] } }),
    );
    expect(r.field).toBe('Client.id');
    expect(r.issue.diagnostics).toBe(
      'local-id-not-hetu: Client.id: a local id must not be a HETU (ids travel in URLs and logs); give the HETU as hetu',
    );
  });

  it.each([
    'c1',
    '0101819001',
    '010181-900C5',
    '010181-900Cb',
    'urn.uuid.00010181-900c-4abc-8def-0123456789ab',
  ])('a local id %s that the masker leaves as it is is an ordinary id', (id) => {
    expect(() =>
      validateDomain('client', { id, hetu: '010181-900C', name: { family: 'X', given: [] } }),
    ).not.toThrow();
  });

  it('HETU with an individual number never issued → tyk-hetu-1', () => {
    const r = firstIssue(() =>
      validateDomain('client', { id: 'c1', hetu: '010181-000B', name: { family: 'X', given: [] } }),
    );
    expect(r.issue.diagnostics).toBe(
      'tyk-hetu-1: Client.hetu: the individual number is not issued (002–999)',
    );
  });

  it('client without HETU or temporary id → client-id', () => {
    const r = firstIssue(() => validateDomain('client', { id: 'c1', name: { family: 'X', given: [] } }));
    expect(r.issue.diagnostics).toBe('client-id: Client.hetu: either hetu or temporaryId is required');
  });

  it('birth date beside a HETU → birth-date-from-hetu', () => {
    const r = firstIssue(() =>
      validateDomain('client', {
        id: 'c1',
        hetu: '010181-900C',
        birthDate: '1981-01-01',
        name: { family: 'X', given: [] },
      }),
    );
    expect(r.field).toBe('Client.birthDate');
  });

  it('score 11 → schema maximum on Assessment.selfScore, naming tyk-was-1', () => {
    const a = { ...suvi.assessments![0]!, selfScore: 11 };
    const r = firstIssue(() => validateDomain('assessment', a));
    expect(r.field).toBe('Assessment.selfScore');
    expect(r.issue.diagnostics).toBe('tyk-was-1: Assessment.selfScore: must be <= 10 (schema maximum)');
  });

  it('every score out of the rule (not an integer 0–10) names tyk-was-1', () => {
    const a = suvi.assessments![0]!;
    expect(
      firstIssue(() => validateDomain('assessment', { ...a, professionalScore: -1 })).issue.diagnostics,
    ).toBe('tyk-was-1: Assessment.professionalScore: must be >= 0 (schema minimum)');
    expect(firstIssue(() => validateDomain('assessment', { ...a, selfScore: 7.5 })).issue.diagnostics).toBe(
      'tyk-was-1: Assessment.selfScore: must be integer (schema type)',
    );
    const s = suvi.selfAssessments![0]!;
    expect(firstIssue(() => validateDomain('selfAssessment', { ...s, overall: 12 })).issue.diagnostics).toBe(
      'tyk-was-1: SelfAssessment.overall: must be <= 10 (schema maximum)',
    );
    // Other schema failures name no rule.
    expect(firstIssue(() => validateDomain('assessment', { ...a, phase: 'x' })).issue.diagnostics).toBe(
      'Assessment.phase: must be one of primary, secondary, tertiary (schema enum)',
    );
  });

  it('free text may span lines but not start or end with white space, nor carry what FHIR or XHTML cannot', () => {
    const a = suvi.assessments![0]!;
    for (const note of [
      'Rivi 1\nRivi 2',
      'Sarkain\tja\r\nrivinvaihto',
      'Åsa Öberg 😀',
      'a\ufffdb',
      'a\u{10fffd}',
    ])
      expect(() => validateDomain('assessment', { ...a, note }), note).not.toThrow();
    // A NUL, other C0 controls, DEL and a lone surrogate would make a narrative no XHTML parser reads (txt-1).
    for (const note of [
      ' Rivi',
      'Rivi\n',
      '   ',
      'a\u0000b',
      'a\u0007b',
      'a\u001bb',
      'a\u007fb',
      'a\ud800b',
      'a\udc00',
      // Noncharacters XML 1.0 has no Char for: the narrative's XHTML cannot carry them (txt-1).
      'a\ufffeb',
      'a\uffff',
    ]) {
      const r = firstIssue(() => validateDomain('assessment', { ...a, note }));
      expect(r.field, JSON.stringify(note)).toBe('Assessment.note');
      expect(r.issue.diagnostics).toBe(
        'Assessment.note: must be text without leading or trailing white space, control characters (other than tab and line breaks), lone surrogates or the noncharacters U+FFFE and U+FFFF (schema pattern)',
      );
    }
  });

  it('a self-assessment id is a lowercase UUID without prefix (the mapping would change any other form)', () => {
    const sa = suvi.selfAssessments![0]!;
    for (const id of [sa.id.toUpperCase(), `urn:uuid:${sa.id}`]) {
      const r = firstIssue(() => validateDomain('selfAssessment', { ...sa, id }));
      expect(r.field).toBe('SelfAssessment.id');
      expect(r.issue.diagnostics).toMatch(/^SelfAssessment\.id: must match pattern/);
    }
  });

  it('consent without parties → schema minItems on Consent.parties', () => {
    const c = { ...suvi.consents![0]!, parties: [] };
    const r = firstIssue(() => validateDomain('consent', c));
    expect(r.field).toBe('Consent.parties');
    expect(r.issue.diagnostics).toBe('Consent.parties: must NOT have fewer than 1 items (schema minItems)');
  });

  it('two goals of one plan with one id → unique-id on SupportPlan.goals[1].id (their Goals would share a fullUrl)', () => {
    const p = structuredClone(plan);
    p.goals[1]!.id = p.goals[0]!.id;
    const r = firstIssue(() => validateDomain('plan', p));
    expect(r.all.map((i) => [i.expression?.[0], i.diagnostics])).toEqual([
      ['SupportPlan.goals[1].id', "unique-id: SupportPlan.goals[1].id: id 'routine' is used twice in goals"],
    ]);
    const record = { ...suvi, plans: [p] };
    expect(recordIssues(record).map((i) => i.expression?.[0])).toEqual([
      'WorkAbilityRecord.plans[0].goals[1].id',
    ]);
  });

  it('plan with rehabilitative work activity 5 days a week → tyk-rwa-1', () => {
    const p = structuredClone(plan);
    p.activities[0]!.daysPerWeek = 5;
    const r = firstIssue(() => validateDomain('plan', p));
    expect(r.field).toBe('SupportPlan.activities[0].daysPerWeek');
    expect(r.issue.diagnostics).toBe(
      'tyk-rwa-1: SupportPlan.activities[0].daysPerWeek: rehabilitative work activity is 1–4 days a week, got 5',
    );
  });

  it('two rehabilitative work activities of 3 days a week running together → tyk-rwa-3 (at most 4 in all)', () => {
    const p = structuredClone(plan);
    const first = p.activities[0]!;
    first.daysPerWeek = 3;
    p.activities = [first, { ...structuredClone(first), description: 'Toinen työpaikka' }];
    const issues = domainIssues('plan', p).map((i) => i.diagnostics);
    expect(issues).toContain(
      'tyk-rwa-3: SupportPlan.activities[1].daysPerWeek: rehabilitative work activity is at most 4 days a week in all; on the day this one starts, the activities running add up to 6',
    );
    expect(() => validateDomain('plan', p)).toThrow(DomainValidationError);
    p.activities[1]!.daysPerWeek = 1;
    expect(domainIssues('plan', p)).toEqual([]);
  });

  it('rehabilitative work activity for 2 months or 25 months → tyk-rwa-2', () => {
    const p = structuredClone(plan);
    p.activities[0]!.period = { start: '2026-04-01', end: '2026-05-31' };
    expect(firstIssue(() => validateDomain('plan', p)).issue.diagnostics).toBe(
      'tyk-rwa-2: SupportPlan.activities[0].period: rehabilitative work activity lasts 3–24 months: end 2026-05-31 must be within 2026-06-30..2028-03-31',
    );
    // The end day is included: 1 April–30 June is three months, 1 April 2026–31 March 2028 is 24.
    for (const end of ['2026-06-30', '2028-03-31']) {
      p.activities[0]!.period = { start: '2026-04-01', end };
      expect(checkPlanActivity(p.activities[0]!), end).toEqual([]);
    }
    p.activities[0]!.period = { start: '2026-04-01', end: '2028-04-01' };
    expect(firstIssue(() => validateDomain('plan', p)).field).toBe('SupportPlan.activities[0].period');
    p.activities[0]!.period = { start: '2026-04-01' };
    expect(firstIssue(() => validateDomain('plan', p)).issue.diagnostics).toContain(
      'needs a period with start and end, or a duration in months',
    );
  });

  it('other services may run 5 days a week', () => {
    expect(checkPlanActivity({ service: 'ips-job-coaching', daysPerWeek: 5 })).toEqual([]);
  });

  it('addMonths clamps to the end of the month', () => {
    expect(addMonths('2026-01-31', 1)).toBe('2026-02-28');
    expect(addMonths('2024-01-31', 1)).toBe('2024-02-29');
    expect(addMonths('2026-11-15', 3)).toBe('2027-02-15');
  });

  it('a pair of current responsible workers is valid; none → tyk-ctm-1', () => {
    const t = structuredClone(suvi.teams![0]!);
    t.members.push({ professionalId: 'x', role: 'own-worker', period: { start: '2026-02-01' } });
    expect(domainIssues('team', t)).toEqual([]);
    for (const m of t.members) m.period.end ??= '2026-03-01';
    const r = firstIssue(() => validateDomain('team', t));
    expect(r.field).toBe('ResponsibleWorkerTeam.members');
    expect(r.issue.diagnostics).toBe(
      'tyk-ctm-1: ResponsibleWorkerTeam.members: no current responsible worker; at least one required',
    );
  });

  it('period end before start → period-order', () => {
    const c = { ...suvi.consents![0]!, period: { start: '2026-02-17', end: '2026-01-01' } };
    expect(firstIssue(() => validateDomain('consent', c)).issue.diagnostics).toBe(
      'period-order: Consent.period.end: end 2026-01-01 is before start 2026-02-17',
    );
  });

  it('withdrawal before the consent was given → tyk-con-2 (the profile states it too)', () => {
    const c = { ...suvi.consents![0]!, withdrawnOn: '2026-01-01' };
    const r = firstIssue(() => validateDomain('consent', c));
    expect(r.field).toBe('Consent.withdrawnOn');
    expect(r.issue.diagnostics).toBe(
      `tyk-con-2: Consent.withdrawnOn: withdrawn 2026-01-01 before it was given ${c.date}`,
    );
  });

  it('withdrawal on a day still to come → consent-withdrawn (today is the Finnish calendar day)', () => {
    const c = { ...suvi.consents![0]!, withdrawnOn: '2026-07-02' };
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      // 21:30Z on 30 June is 00:30 on 1 July in Helsinki: 1 July is today, 2 July is still to come.
      vi.setSystemTime(new Date('2026-06-30T21:30:00Z'));
      const r = firstIssue(() => validateDomain('consent', c));
      expect(r.field).toBe('Consent.withdrawnOn');
      expect(r.issue.diagnostics).toBe(
        'consent-withdrawn: Consent.withdrawnOn: 2026-07-02 is in the future; a consent is withdrawn on or before today',
      );
      expect(domainIssues('consent', { ...c, withdrawnOn: '2026-07-01' })).toEqual([]);
      const record = { ...suvi, consents: [c] };
      expect(recordIssues(record).map((i) => i.expression?.[0])).toContain(
        'WorkAbilityRecord.consents[0].withdrawnOn',
      );
    } finally {
      vi.useRealTimers();
    }
  });

  it('unknown field, wrong type, bad code and missing field are all reported', () => {
    const issues = domainIssues('assessment', {
      ...suvi.assessments![0]!,
      phase: 'fourth',
      extra: 1,
      rehabilitationNeed: 'yes',
      date: undefined,
    });
    const byPath = Object.fromEntries(issues.map((i) => [i.expression![0], i.diagnostics]));
    expect(byPath['Assessment.extra']).toBe(
      'Assessment.extra: is not a known field (schema additionalProperties)',
    );
    expect(byPath['Assessment.phase']).toBe(
      'Assessment.phase: must be one of primary, secondary, tertiary (schema enum)',
    );
    expect(byPath['Assessment.rehabilitationNeed']).toBe(
      'Assessment.rehabilitationNeed: must be boolean (schema type)',
    );
    expect(byPath['Assessment.date']).toBe('Assessment.date: is required (schema required)');
  });

  it('valid persona parts pass', () => {
    expect(validateRecord(suvi)).toBe(suvi);
    expect(domainIssues('plan', plan)).toEqual([]);
  });
});

describe('record validation', () => {
  it('references must resolve inside the record', () => {
    const r = structuredClone(suvi);
    r.assessments![0]!.assessorId = 'nobody';
    const issues = recordIssues(r);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.expression).toEqual(['WorkAbilityRecord.assessments[0].assessorId']);
    expect(issues[0]!.diagnostics).toBe(
      "reference: WorkAbilityRecord.assessments[0].assessorId: 'nobody' is not among the record's professionals",
    );
  });

  it('every part belongs to the record client', () => {
    const r = structuredClone(suvi);
    r.consents![0]!.clientId = 'someone-else';
    expect(recordIssues(r)[0]!.diagnostics).toBe(
      "reference: WorkAbilityRecord.consents[0].clientId: 'someone-else' is not the record's client 'suvi'",
    );
  });

  it('ids are unique per kind', () => {
    const r = structuredClone(suvi);
    r.organizations!.push({ ...r.organizations![0]! });
    expect(recordIssues(r).map((i) => i.diagnostics)).toContain(
      "unique-id: WorkAbilityRecord.organizations[3].id: id 'hki-kuntakokeilu' is used twice in organizations",
    );
  });

  it('a referral to Helsinki work-ability support needs a social-care or RISE referrer', () => {
    const r = structuredClone(suvi);
    r.referrals![0]!.service = 'helsinki-work-ability-support';
    const issues = recordIssues(r);
    expect(issues[0]!.expression).toEqual(['WorkAbilityRecord.referrals[0].requesterId']);
    expect(issues[0]!.diagnostics).toMatch(/^referral-requester-role: .*not 'kuntakokeilu-coach'$/);
    r.referrals![0]!.requesterId = 'sw-nieminen';
    expect(recordIssues(r)).toEqual([]);
  });

  it('a referral carries a consent in force on its date: not withdrawn by then, begun, not expired', () => {
    const cases: Array<[Partial<NonNullable<typeof suvi.consents>[number]>, string]> = [
      [{ withdrawnOn: '2026-02-18' }, 'consent suvi-consent-1 was withdrawn on 2026-02-18'],
      [{ withdrawnOn: '2026-02-20' }, 'consent suvi-consent-1 was withdrawn on 2026-02-20'],
      [{ period: { start: '2026-02-21' } }, 'consent suvi-consent-1 is valid only from 2026-02-21'],
      [
        { period: { start: '2025-02-17', end: '2026-02-19' } },
        'consent suvi-consent-1 expired on 2026-02-19',
      ],
    ];
    for (const [change, why] of cases) {
      const r = structuredClone(suvi);
      Object.assign(r.consents![0]!, change);
      const issues = recordIssues(r).filter((i) => i.diagnostics?.startsWith('referral-consent'));
      expect(issues, why).toHaveLength(1);
      expect(issues[0]).toMatchObject({
        expression: ['WorkAbilityRecord.referrals[0].consentId'],
        diagnostics: `referral-consent: WorkAbilityRecord.referrals[0].consentId: the attached consent is not in force on the referral date: ${why}`,
      });
    }
    const inForce = structuredClone(suvi);
    inForce.consents![0]!.withdrawnOn = '2026-02-21';
    expect(recordIssues(inForce)).toEqual([]);
  });

  it('a referral alone is held to the same rules when its consent and requester are given (related), not otherwise', () => {
    const referral = suvi.referrals![0]!;
    const consent = suvi.consents![0]!;
    const coach = suvi.professionals![0]!;
    expect(domainIssues('referral', referral)).toEqual([]);
    expect(
      domainIssues('referral', referral, undefined, { consents: [consent], professionals: [coach] }),
    ).toEqual([]);
    const withdrawn = { ...consent, withdrawnOn: '2026-02-18' };
    const r = firstIssue(() => validateDomain('referral', referral, { consents: [withdrawn] }));
    expect(r.status).toBe(400);
    expect(r.all).toEqual([
      {
        severity: 'error',
        code: 'invariant',
        diagnostics:
          'referral-consent: Referral.consentId: the attached consent is not in force on the referral date: consent suvi-consent-1 was withdrawn on 2026-02-18',
        expression: ['Referral.consentId'],
        location: ['Referral.consentId'],
      },
    ]);
    const helsinki = { ...referral, service: 'helsinki-work-ability-support' as const };
    const h = firstIssue(() => validateDomain('referral', helsinki, { professionals: [coach] }));
    expect(h.all.map((i) => [i.expression?.[0], i.diagnostics])).toEqual([
      [
        'Referral.requesterId',
        "referral-requester-role: Referral.requesterId: a referral to Helsinki work-ability support comes from a social-care professional or a Criminal Sanctions Agency employee, not 'kuntakokeilu-coach'",
      ],
    ]);
    // Objects of other ids say nothing about this referral.
    expect(
      domainIssues('referral', helsinki, undefined, {
        consents: [{ ...withdrawn, id: 'other' }],
        professionals: [{ ...coach, id: 'other' }],
      }),
    ).toEqual([]);
    expect(() => validateDomain('referral', referral, { consents: 'x' } as never)).toThrow(TypeError);
  });

  it('ids that are HETUs are not quoted: every rule message masks them', () => {
    const hetu = '010181-900C';
    const clientRef = structuredClone(suvi);
    clientRef.assessments![0]!.clientId = hetu;
    const listRef = structuredClone(suvi);
    listRef.referrals![0]!.consentId = hetu;
    const twice = structuredClone(suvi);
    twice.consents!.push({ ...twice.consents![0]! });
    twice.consents![0]!.id = hetu;
    twice.consents![1]!.id = hetu;
    twice.referrals![0]!.consentId = hetu;
    const diagnostics = [clientRef, listRef, twice].flatMap((r) => recordIssues(r).map((i) => i.diagnostics));
    expect(diagnostics).toEqual([
      "reference: WorkAbilityRecord.assessments[0].clientId: '[HETU]' is not the record's client 'suvi'",
      "reference: WorkAbilityRecord.referrals[0].consentId: '[HETU]' is not among the record's consents",
      "unique-id: WorkAbilityRecord.consents[1].id: id '[HETU]' is used twice in consents",
    ]);
    // The record's own client id quoted in a reference message is masked too.
    const keyedByHetu = JSON.parse(JSON.stringify(suvi).replaceAll('"suvi"', JSON.stringify(hetu)));
    keyedByHetu.consents[0].clientId = 'someone-else';
    const all = recordIssues(keyedByHetu).map((i) => i.diagnostics!);
    expect(all).toContain(
      "reference: WorkAbilityRecord.consents[0].clientId: 'someone-else' is not the record's client '[HETU]'",
    );
    for (const d of [...diagnostics, ...all]) expect(d).not.toContain(hetu);
  });

  it("a client's rehabilitative work activity is 1–4 days a week in all, across its active plans of one kind (tyk-rwa-3)", () => {
    const r = structuredClone(suvi);
    const first = r.plans![0]!;
    first.activities[0]!.daysPerWeek = 4;
    const second = { ...structuredClone(first), id: 'suvi-activation-plan-2' };
    second.activities[0]!.period = { start: '2026-06-01', end: '2026-11-30' };
    r.plans = [first, second];
    expect(recordIssues(r).map((i) => [i.expression?.[0], i.diagnostics])).toEqual([
      [
        'WorkAbilityRecord.plans[1].activities[0].daysPerWeek',
        "tyk-rwa-3: WorkAbilityRecord.plans[1].activities[0].daysPerWeek: rehabilitative work activity is at most 4 days a week in all, across the client's plans; on the day this one starts, the activities running add up to 8 (WorkAbilityRecord.plans[0].activities[0], WorkAbilityRecord.plans[1].activities[0])",
      ],
    ]);
    expect(() => validateRecord(r)).toThrow(DomainValidationError);
    // Each plan alone passes: the rule is the client's, not the plan's.
    for (const p of r.plans) expect(domainIssues('plan', p)).toEqual([]);
    // Periods that do not overlap add nothing up.
    second.activities[0]!.period = { start: '2026-10-01', end: '2027-03-31' };
    expect(recordIssues(r)).toEqual([]);
    // Two days and two days at one time are four: Sirpa's week.
    second.activities[0]!.period = { start: '2026-06-01', end: '2026-11-30' };
    first.activities[0]!.daysPerWeek = 2;
    second.activities[0]!.daysPerWeek = 2;
    expect(recordIssues(r)).toEqual([]);
  });

  it('the plans counted together: active ones of one kind (an implementation plan restates the activation plan)', () => {
    const r = structuredClone(suvi);
    const first = r.plans![0]!;
    first.activities[0]!.daysPerWeek = 4;
    const second = { ...structuredClone(first), id: 'suvi-plan-2' };
    r.plans = [first, second];
    expect(recordIssues(r).map((i) => i.expression?.[0])).toEqual([
      'WorkAbilityRecord.plans[0].activities[0].daysPerWeek',
      'WorkAbilityRecord.plans[1].activities[0].daysPerWeek',
    ]);
    // The implementation plan details the days the activation plan agreed (DOMAIN.md): not more days.
    second.category = 'implementation-plan';
    expect(recordIssues(r)).toEqual([]);
    second.category = 'activation-plan';
    for (const status of ['draft', 'completed', 'revoked'] as const) {
      second.status = status;
      expect(recordIssues(r), status).toEqual([]);
    }
  });

  it('an activity without dates runs within its plan period when counted with other plans', () => {
    const r = structuredClone(suvi);
    const first = r.plans![0]!;
    first.activities[0]!.daysPerWeek = 3;
    const second = { ...structuredClone(first), id: 'suvi-plan-2', period: { start: '2027-01-01' } };
    second.activities[0] = { service: 'rehabilitative-work-activity', daysPerWeek: 3, durationMonths: 6 };
    r.plans = [first, second];
    expect(recordIssues(r)).toEqual([]);
    second.period = { start: '2026-08-01' };
    expect(recordIssues(r).map((i) => i.expression?.[0])).toEqual([
      'WorkAbilityRecord.plans[1].activities[0].daysPerWeek',
    ]);
  });

  it('nested problems carry the record path', () => {
    const r = structuredClone(suvi);
    r.client.hetu = '010181-900D';
    expect(() => validateRecord(r)).toThrow(
      "tyk-hetu-1: WorkAbilityRecord.client.hetu: check character 'D' does not match the rest of the code",
    );
  });
});
