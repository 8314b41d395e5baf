import { describe, expect, it } from 'vitest';
import {
  ageOn,
  helsinkiWorkAbilitySupportEligibility as helsinki,
  kuntakokeiluEligibility as kuntakokeilu,
  rehabilitativeWorkActivityEligibility as rwa,
  typEligibility as typ,
} from '../../src/domain/index.ts';

describe('ageOn', () => {
  it('counts whole years', () => {
    expect(ageOn('1995-03-12', '2026-03-11')).toBe(30);
    expect(ageOn('1995-03-12', '2026-03-12')).toBe(31);
    expect(ageOn('1995-03-12', '2026-02-28')).toBe(30);
  });
});

describe('Helsinki work-ability support services', () => {
  const ok = {
    age: 31,
    unemployed: true,
    municipality: '091',
    healthAffectsWorkAbility: true,
    referrerRole: 'social-worker' as const,
    consentAttached: true,
  };
  it('eligible when every criterion holds', () => {
    expect(helsinki(ok)).toMatchObject({ eligible: true, missingFacts: [] });
  });
  it('accepts a Criminal Sanctions Agency referrer', () => {
    const r = helsinki({ ...ok, referrerRole: 'criminal-sanctions-agency-employee' });
    expect(r.eligible).toBe(true);
    expect(r.reasons).toContain('referred by a Criminal Sanctions Agency employee');
  });
  it('accepts the social-care own worker (always a social worker or social counsellor) by role alone', () => {
    const r = helsinki({ ...ok, referrerRole: 'own-worker' });
    expect(r.eligible).toBe(true);
    expect(r.reasons).toContain('referred by a social-care professional (own-worker)');
  });
  it.each([
    [{ age: 17 }, 'age 17 is not within 18–63'],
    [{ age: 64 }, 'age 64 is not within 18–63'],
    [{ unemployed: false }, 'not unemployed'],
    [{ municipality: '049' }, 'municipality 049 is not Helsinki (091)'],
    [{ healthAffectsWorkAbility: false }, 'health does not affect work ability'],
    [{ referrerRole: 'none' as const }, 'no referral (lähete) — one is required'],
    [
      { referrerRole: 'doctor' as const },
      "referrer 'doctor' is neither a social-care professional nor a Criminal Sanctions Agency employee",
    ],
    [{ consentAttached: false }, 'no consent to disclosure attached to the referral'],
  ])('not eligible: %j', (change, reason) => {
    const r = helsinki({ ...ok, ...change });
    expect(r.eligible).toBe(false);
    expect(r.reasons).toContain(reason);
    expect(r.missingFacts).toEqual([]);
  });
  it('names the missing facts when undecidable', () => {
    const r = helsinki({ age: 40, unemployed: true });
    expect(r.eligible).toBeUndefined();
    expect(r.missingFacts).toEqual([
      'municipality',
      'healthAffectsWorkAbility',
      'referrerRole',
      'consentAttached',
    ]);
  });
  it('a failed criterion decides even when facts are missing', () => {
    expect(helsinki({ age: 70 })).toMatchObject({ eligible: false, missingFacts: [] });
  });
});

describe('rehabilitative work activity', () => {
  const ok = {
    age: 31,
    unemployed: true,
    labourMarketSubsidy: true,
    ownWorkerDecision: true,
    activationPlan: true,
    daysPerWeek: 2,
    durationMonths: 6,
  };
  it('eligible with labour-market subsidy', () => expect(rwa(ok).eligible).toBe(true));
  it('eligible with social assistance instead', () => {
    expect(rwa({ ...ok, labourMarketSubsidy: false, socialAssistance: true }).eligible).toBe(true);
  });
  it('under 25 likewise', () => expect(rwa({ ...ok, age: 22 }).eligible).toBe(true));
  it.each([
    [{ daysPerWeek: 5 }, '5 days a week is not within 1–4 (tyk-rwa-1)'],
    [{ daysPerWeek: 0 }, '0 days a week is not within 1–4 (tyk-rwa-1)'],
    [{ durationMonths: 2 }, '2 months is not within 3–24 (tyk-rwa-2)'],
    [{ durationMonths: 25 }, '25 months is not within 3–24 (tyk-rwa-2)'],
    [{ unemployed: false }, 'not unemployed'],
    [{ ownWorkerDecision: false }, 'no decision of the social-care own worker'],
    [{ activationPlan: false }, 'no activation plan'],
    [{ age: 70 }, 'age 70 is not of working age'],
  ])('not eligible: %j', (change, reason) => {
    const r = rwa({ ...ok, ...change });
    expect(r.eligible).toBe(false);
    expect(r.reasons).toContain(reason);
  });
  it('no benefit at all', () => {
    const r = rwa({ ...ok, labourMarketSubsidy: false, socialAssistance: false });
    expect(r.eligible).toBe(false);
    expect(r.reasons.join('\n')).toContain('benefit: none holds');
  });
  it('names the missing benefit facts', () => {
    const r = rwa({ ...ok, labourMarketSubsidy: undefined });
    expect(r).toMatchObject({
      eligible: undefined,
      missingFacts: ['labourMarketSubsidy', 'socialAssistance'],
    });
  });
  it('names every missing fact', () => {
    expect(rwa({}).missingFacts).toEqual([
      'age',
      'unemployed',
      'labourMarketSubsidy',
      'socialAssistance',
      'ownWorkerDecision',
      'activationPlan',
      'daysPerWeek',
      'durationMonths',
    ]);
  });
});

describe('TYP', () => {
  it('300 days of labour-market subsidy suffice', () => {
    expect(typ({ labourMarketSubsidyDays: 300, prospectWithinTwoYears: true }).eligible).toBe(true);
  });
  it('25+ and 12 months continuously unemployed', () => {
    expect(
      typ({
        labourMarketSubsidyDays: 10,
        age: 30,
        continuousUnemploymentMonths: 12,
        prospectWithinTwoYears: true,
      }).eligible,
    ).toBe(true);
    expect(
      typ({
        labourMarketSubsidyDays: 10,
        age: 30,
        continuousUnemploymentMonths: 11,
        prospectWithinTwoYears: true,
      }).eligible,
    ).toBe(false);
  });
  it('under 25 and 6 months continuously unemployed', () => {
    const r = typ({
      labourMarketSubsidyDays: 0,
      age: 22,
      continuousUnemploymentMonths: 6,
      prospectWithinTwoYears: true,
    });
    expect(r.eligible).toBe(true);
    expect(r.reasons[0]).toContain('6 months continuously unemployed (6 needed at age 22)');
    expect(
      typ({
        labourMarketSubsidyDays: 0,
        age: 22,
        continuousUnemploymentMonths: 5,
        prospectWithinTwoYears: true,
      }).eligible,
    ).toBe(false);
  });
  it('needs a prospect of work or study within two years', () => {
    const r = typ({ labourMarketSubsidyDays: 400, prospectWithinTwoYears: false });
    expect(r.eligible).toBe(false);
    expect(r.reasons).toContain('no prospect of work or study within two years');
  });
  it('names missing facts of an undecided unemployment history', () => {
    expect(typ({ prospectWithinTwoYears: true })).toMatchObject({
      eligible: undefined,
      missingFacts: ['labourMarketSubsidyDays', 'age', 'continuousUnemploymentMonths'],
    });
    expect(typ({ labourMarketSubsidyDays: 100, age: 40, prospectWithinTwoYears: true }).missingFacts).toEqual(
      ['continuousUnemploymentMonths'],
    );
  });
});

describe('kuntakokeilu', () => {
  const none = {
    age: 45,
    entitledToEarningsRelatedAllowance: true,
    motherTongue: 'fi',
    finnishCitizen: true,
  };
  it('no criterion holds → not a kuntakokeilu client', () => {
    expect(kuntakokeilu(none).eligible).toBe(false);
  });
  it.each([
    [{ entitledToEarningsRelatedAllowance: false }, 'not entitled to earnings-related allowance'],
    [{ motherTongue: 'so' }, "mother tongue 'so' is other than Finnish, Swedish or Sami"],
    [{ finnishCitizen: false }, 'not a Finnish citizen'],
    [{ age: 29 }, 'age 29 is under 30'],
  ])('eligible: %j', (change, reason) => {
    const r = kuntakokeilu({ ...none, ...change });
    expect(r.eligible).toBe(true);
    expect(r.reasons[0]).toContain(reason);
  });
  it('Swedish and Sami mother tongues do not qualify', () => {
    expect(kuntakokeilu({ ...none, motherTongue: 'sv' }).eligible).toBe(false);
    expect(kuntakokeilu({ ...none, motherTongue: 'se' }).eligible).toBe(false);
  });
  it('undecided while an open criterion could still make it hold', () => {
    expect(kuntakokeilu({ age: 45, entitledToEarningsRelatedAllowance: true })).toMatchObject({
      eligible: undefined,
      missingFacts: ['motherTongue', 'finnishCitizen'],
    });
  });
  it('one criterion suffices even with others unknown', () => {
    expect(kuntakokeilu({ age: 25 }).eligible).toBe(true);
  });
});
