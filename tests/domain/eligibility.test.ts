import { createRequire } from 'node:module';
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
  it('age decides nothing: the sources state the same criteria for 25 and over and for under 25 (seed 002)', () => {
    for (const age of [16, 24, 25, 64, 66, 70]) {
      const r = rwa({ ...ok, age });
      expect(r.eligible, String(age)).toBe(true);
      expect(r.reasons.join('\n'), String(age)).not.toContain('age');
    }
    expect(rwa({ ...ok, age: undefined })).toMatchObject({ eligible: true, missingFacts: [] });
  });
  it('names every missing fact', () => {
    expect(rwa({}).missingFacts).toEqual([
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
  it.each([
    ['FI', "mother tongue 'FI' is Finnish"],
    ['fin', "mother tongue 'fin' is Finnish"],
    ['fi-FI', "mother tongue 'fi-FI' is Finnish"],
    ['sv-FI', "mother tongue 'sv-FI' is Swedish"],
    ['SWE', "mother tongue 'SWE' is Swedish"],
    ['sme', "mother tongue 'sme' is Sami"],
    ['se-NO', "mother tongue 'se-NO' is Sami"],
    ['smn', "mother tongue 'smn' is Sami"],
    ['sms', "mother tongue 'sms' is Sami"],
    ['sma', "mother tongue 'sma' is Sami"],
    ['smj', "mother tongue 'smj' is Sami"],
    ['smi', "mother tongue 'smi' is Sami"],
  ])('a domestic mother tongue in any case or form (%s) does not qualify', (motherTongue, reason) => {
    const r = kuntakokeilu({ ...none, motherTongue });
    expect(r.eligible).toBe(false);
    expect(r.reasons[0]).toContain(reason);
  });
  it.each([
    ['SO', "mother tongue 'SO' is other than Finnish, Swedish or Sami"],
    ['ru-RU', "mother tongue 'ru-RU' is other than Finnish, Swedish or Sami"],
    ['fit', "mother tongue 'fit' is other than Finnish, Swedish or Sami"],
  ])('another registered language (%s) qualifies', (motherTongue, reason) => {
    const r = kuntakokeilu({ ...none, motherTongue });
    expect(r.eligible).toBe(true);
    expect(r.reasons[0]).toContain(reason);
  });
  it.each(['suomi', 'xx', 'eng', 'fi_FI', 'fi-', '', ' fi', 'und', 'mul', 'zxx', 'qaa'])(
    'a mother tongue that names no language (%j) decides nothing: undecided, the fact named',
    (motherTongue) => {
      const r = kuntakokeilu({ ...none, motherTongue });
      expect(r).toMatchObject({ eligible: undefined, missingFacts: ['motherTongue'] });
      expect(r.reasons[0]).toBe('kuntakokeilu group: undecided');
    },
  );
  it('the invalid value is not quoted in the reasons', () => {
    const r = kuntakokeilu({ ...none, motherTongue: '010181-900C' });
    expect(r.eligible).toBeUndefined();
    expect(JSON.stringify(r)).not.toContain('010181');
  });
  it('every Sami language of the IANA registry counts as Sami', () => {
    const registry = createRequire(import.meta.url)('language-subtag-registry/data/json/registry.json') as {
      Type: string;
      Subtag?: string;
      Description: string[];
    }[];
    const sami = registry
      .filter((e) => e.Type === 'language' && e.Description.some((d) => /\bSami\b/.test(d)))
      .map((e) => e.Subtag!);
    expect(sami.length).toBeGreaterThan(10);
    for (const tag of sami)
      expect(kuntakokeilu({ ...none, motherTongue: tag }).reasons[0], tag).toContain('is Sami');
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
