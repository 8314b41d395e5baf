// Eligibility edges: TYP's unemployment months decide without the age where both age branches agree;
// rehabilitative work activity days are whole days (the rule tyk-rwa-1 states for plans); a number
// that is no number (NaN) decides nothing.
import { describe, expect, it } from 'vitest';
import {
  checkPlanActivity,
  helsinkiWorkAbilitySupportEligibility as helsinki,
  kuntakokeiluEligibility as kuntakokeilu,
  rehabilitativeWorkActivityEligibility as rwa,
  typEligibility as typ,
} from '../../src/domain/index.ts';

describe('TYP: continuous unemployment without the age', () => {
  it('12 months or more meets both age branches (25+: 12, under 25: 6): eligible without the age', () => {
    const r = typ({ continuousUnemploymentMonths: 12, prospectWithinTwoYears: true });
    expect(r).toMatchObject({ eligible: true, missingFacts: [] });
    expect(r.reasons[0]).toBe(
      'unemployment history: 12 months continuously unemployed (12 needed at 25 or over, 6 under 25: met at any age)',
    );
  });

  it('fewer than 6 months fails both branches: only the subsidy days can still decide', () => {
    const r = typ({ continuousUnemploymentMonths: 5, prospectWithinTwoYears: true });
    expect(r).toMatchObject({ eligible: undefined, missingFacts: ['labourMarketSubsidyDays'] });
    const no = typ({
      continuousUnemploymentMonths: 5,
      labourMarketSubsidyDays: 10,
      prospectWithinTwoYears: true,
    });
    expect(no.eligible).toBe(false);
    expect(no.reasons[0]).toContain(
      '5 months continuously unemployed (12 needed at 25 or over, 6 under 25: met at no age)',
    );
  });

  it('6–11 months: the age decides', () => {
    expect(
      typ({ continuousUnemploymentMonths: 8, labourMarketSubsidyDays: 10, prospectWithinTwoYears: true }),
    ).toMatchObject({
      eligible: undefined,
      missingFacts: ['age'],
    });
    expect(typ({ continuousUnemploymentMonths: 8, age: 24, prospectWithinTwoYears: true }).eligible).toBe(
      true,
    );
    expect(
      typ({
        continuousUnemploymentMonths: 8,
        age: 25,
        labourMarketSubsidyDays: 10,
        prospectWithinTwoYears: true,
      }).eligible,
    ).toBe(false);
  });
});

describe('rehabilitative work activity days are whole days (tyk-rwa-1, one rule)', () => {
  const ok = {
    unemployed: true,
    socialAssistance: true,
    ownWorkerDecision: true,
    activationPlan: true,
    durationMonths: 6,
  };
  it('2.5 days a week is not eligible, and a plan activity of 2.5 days breaks tyk-rwa-1 alike', () => {
    const r = rwa({ ...ok, daysPerWeek: 2.5 });
    expect(r.eligible).toBe(false);
    expect(r.reasons).toContain('2.5 days a week is not a whole number of days within 1–4 (tyk-rwa-1)');
    expect(
      checkPlanActivity({
        service: 'rehabilitative-work-activity',
        daysPerWeek: 2.5,
        durationMonths: 6,
      }).map((v) => v.rule),
    ).toEqual(['tyk-rwa-1']);
    expect(rwa({ ...ok, daysPerWeek: 3 }).eligible).toBe(true);
  });
});

describe('a number that is no number decides nothing', () => {
  it('age NaN leaves the age criteria undecided, naming age as missing', () => {
    const h = helsinki({
      age: Number.NaN,
      unemployed: true,
      municipality: '091',
      healthAffectsWorkAbility: true,
      referrerRole: 'social-worker',
      consentAttached: true,
    });
    expect(h).toMatchObject({ eligible: undefined, missingFacts: ['age'] });
    expect(h.reasons[0]).toBe('age 18–63: unknown (age is not a number)');
    expect(
      typ({
        age: Number.NaN,
        continuousUnemploymentMonths: 8,
        labourMarketSubsidyDays: 10,
        prospectWithinTwoYears: true,
      }),
    ).toMatchObject({ eligible: undefined, missingFacts: ['age'] });
    expect(kuntakokeilu({ age: Number.NaN, entitledToEarningsRelatedAllowance: true })).toMatchObject({
      eligible: undefined,
      missingFacts: ['motherTongue', 'finnishCitizen', 'age'],
    });
  });

  it('NaN months, subsidy days or activity days are undecided too', () => {
    expect(
      typ({
        continuousUnemploymentMonths: Number.NaN,
        labourMarketSubsidyDays: 10,
        age: 30,
        prospectWithinTwoYears: true,
      }),
    ).toMatchObject({
      eligible: undefined,
      missingFacts: ['continuousUnemploymentMonths'],
    });
    expect(typ({ labourMarketSubsidyDays: Number.NaN, prospectWithinTwoYears: true }).missingFacts).toContain(
      'labourMarketSubsidyDays',
    );
    expect(
      rwa({
        unemployed: true,
        socialAssistance: true,
        ownWorkerDecision: true,
        activationPlan: true,
        daysPerWeek: Number.NaN,
        durationMonths: Number.NaN,
      }),
    ).toMatchObject({ eligible: undefined, missingFacts: ['daysPerWeek', 'durationMonths'] });
  });
});
