/**
 * Eligibility rules stated in the sources (DOMAIN.md "Eligibility rules"). Each returns a three-way
 * decision: `eligible` true/false when the facts decide it, `undefined` with `missingFacts` naming what
 * must still be found out.
 */
import type { CareTeamRole } from '../codes.ts';
import { motherTongueOf } from './language.ts';

export interface Eligibility {
  eligible: boolean | undefined;
  /** One line per criterion, stating how it was decided. */
  reasons: string[];
  /** Names of the facts whose absence leaves the decision open. */
  missingFacts: string[];
}

/** A criterion decides true, false or — with missing facts named — undefined. */
interface Criterion {
  met: boolean | undefined;
  reason: string;
  missing: string[];
}

function known(met: boolean, reason: string): Criterion {
  return { met, reason, missing: [] };
}
function unknown(fact: string, what: string): Criterion {
  return { met: undefined, reason: `${what}: unknown (${fact} missing)`, missing: [fact] };
}

function any(what: string, criteria: Criterion[]): Criterion {
  const passed = criteria.find((c) => c.met === true);
  if (passed) return { met: true, reason: `${what}: ${passed.reason}`, missing: [] };
  const open = criteria.filter((c) => c.met === undefined);
  if (open.length) {
    return {
      met: undefined,
      reason: `${what}: undecided`,
      missing: [...new Set(open.flatMap((c) => c.missing))],
    };
  }
  return {
    met: false,
    reason: `${what}: none holds (${criteria.map((c) => c.reason).join('; ')})`,
    missing: [],
  };
}

function decide(criteria: Criterion[]): Eligibility {
  const failed = criteria.filter((c) => c.met === false);
  const open = criteria.filter((c) => c.met === undefined);
  return {
    eligible: failed.length ? false : open.length ? undefined : true,
    reasons: criteria.map((c) => c.reason),
    missingFacts: failed.length ? [] : [...new Set(open.flatMap((c) => c.missing))],
  };
}

/**
 * A numeric fact: absent, or no number at all (NaN, ±Infinity: nothing can be decided from it), it is
 * unknown and named as missing; otherwise `decide` judges it.
 */
function numberFact(
  value: number | undefined,
  fact: string,
  what: string,
  decide: (n: number) => Criterion,
): Criterion {
  if (value === undefined) return unknown(fact, what);
  if (!Number.isFinite(value))
    return { met: undefined, reason: `${what}: unknown (${fact} is not a number)`, missing: [fact] };
  return decide(value);
}

function flag(value: boolean | undefined, fact: string, yes: string, no: string): Criterion {
  return value === undefined ? unknown(fact, yes) : known(value, value ? yes : no);
}

function ageBetween(age: number | undefined, min: number, max: number): Criterion {
  return numberFact(age, 'age', `age ${min}–${max}`, (a) =>
    known(a >= min && a <= max, `age ${a} ${a >= min && a <= max ? 'is' : 'is not'} within ${min}–${max}`),
  );
}

/** Age in whole years on a date, from a birth date (both ISO dates). */
export function ageOn(birthDate: string, date: string): number {
  const [by, bm, bd] = birthDate.split('-').map(Number);
  const [y, m, d] = date.split('-').map(Number);
  return y! - by! - (m! < bm! || (m === bm && d! < bd!) ? 1 : 0);
}

export const HELSINKI_MUNICIPALITY = '091';

export interface HelsinkiFacts {
  age?: number;
  unemployed?: boolean;
  /** Home municipality code (*kotikunta*). */
  municipality?: string;
  /** Health affects work ability and participation in work or training. */
  healthAffectsWorkAbility?: boolean;
  /** Role of the referring professional, when there is a referral (`'none'` when there is none). */
  referrerRole?: CareTeamRole | 'none';
  /** Consent to data disclosure attached to the referral. */
  consentAttached?: boolean;
}

/**
 * Roles that may refer to the Helsinki service (the profile's ValueSet referral-requester-role): the
 * social-care professionals — a social worker, a social counsellor, and the social-care own worker
 * (*omatyöntekijä*), who is always one of the two — and Criminal Sanctions Agency employees.
 */
export const HELSINKI_REFERRER_ROLES: readonly CareTeamRole[] = [
  'social-worker',
  'social-counsellor',
  'own-worker',
  'criminal-sanctions-agency-employee',
];

/** Whether a professional may refer to Helsinki work-ability support, and why. */
export interface ReferrerDecision {
  permitted: boolean;
  reason: string;
}

/**
 * May a professional in `role` refer a client to Helsinki work-ability support (*lähete* by a
 * social-care professional or a Criminal Sanctions Agency employee)? The one place this is decided:
 * the eligibility below and the referral rule `referral-requester-role` (`checkReferral`) both ask it.
 */
export function helsinkiReferrer(role: CareTeamRole): ReferrerDecision {
  if (role === 'criminal-sanctions-agency-employee')
    return { permitted: true, reason: 'referred by a Criminal Sanctions Agency employee' };
  if (HELSINKI_REFERRER_ROLES.includes(role))
    return { permitted: true, reason: `referred by a social-care professional (${role})` };
  return {
    permitted: false,
    reason: `referrer '${role}' is neither a social-care professional nor a Criminal Sanctions Agency employee`,
  };
}

function referralCriterion(role: HelsinkiFacts['referrerRole']): Criterion {
  if (role === undefined)
    return unknown('referrerRole', 'referral by a social-care professional or RISE employee');
  if (role === 'none') return known(false, 'no referral (lähete) — one is required');
  const { permitted, reason } = helsinkiReferrer(role);
  return known(permitted, reason);
}

/** *Helsingin työkyvyn tuen palvelut*. */
export function helsinkiWorkAbilitySupportEligibility(f: HelsinkiFacts): Eligibility {
  return decide([
    ageBetween(f.age, 18, 63),
    flag(f.unemployed, 'unemployed', 'unemployed', 'not unemployed'),
    f.municipality === undefined
      ? unknown('municipality', 'Helsinki resident')
      : known(
          f.municipality === HELSINKI_MUNICIPALITY,
          f.municipality === HELSINKI_MUNICIPALITY
            ? 'Helsinki resident'
            : `municipality ${f.municipality} is not Helsinki (091)`,
        ),
    flag(
      f.healthAffectsWorkAbility,
      'healthAffectsWorkAbility',
      'health affects work ability',
      'health does not affect work ability',
    ),
    referralCriterion(f.referrerRole),
    flag(
      f.consentAttached,
      'consentAttached',
      'consent to disclosure attached',
      'no consent to disclosure attached to the referral',
    ),
  ]);
}

export interface RehabilitativeWorkActivityFacts {
  /**
   * Not a criterion: the sources state the same conditions for people aged 25 and over and for those
   * under 25 (seed 002, "Kenelle?"; DOMAIN.md), and no age bound. Kept so callers' facts still type.
   */
  age?: number;
  unemployed?: boolean;
  labourMarketSubsidy?: boolean;
  socialAssistance?: boolean;
  /** Decision of the social-care own worker (*omatyöntekijän päätös*). */
  ownWorkerDecision?: boolean;
  /** An activation plan (*aktivointisuunnitelma*) exists. */
  activationPlan?: boolean;
  daysPerWeek?: number;
  durationMonths?: number;
}

export const RWA_DAYS_PER_WEEK = { min: 1, max: 4 } as const;
export const RWA_DURATION_MONTHS = { min: 3, max: 24 } as const;

/**
 * Rehabilitative work activity is on 1–4 days a week, whole days (`tyk-rwa-1`: FHIR's
 * `Timing.repeat.frequency` is a positiveInt; the plan schema's `daysPerWeek` an integer). The one
 * home of the days rule: the plan validation (`checkPlanActivity`) and the eligibility below ask it.
 */
export function rwaDaysPerWeekMet(daysPerWeek: number): boolean {
  return (
    Number.isInteger(daysPerWeek) &&
    daysPerWeek >= RWA_DAYS_PER_WEEK.min &&
    daysPerWeek <= RWA_DAYS_PER_WEEK.max
  );
}

/** Schedule part of the rule, shared with the plan validation (invariants `tyk-rwa-1`, `tyk-rwa-2`). */
export function rehabilitativeWorkActivitySchedule(
  daysPerWeek?: number,
  durationMonths?: number,
): Criterion[] {
  const days = numberFact(daysPerWeek, 'daysPerWeek', 'activity days a week', (d) => {
    const met = rwaDaysPerWeekMet(d);
    const within = `within ${RWA_DAYS_PER_WEEK.min}–${RWA_DAYS_PER_WEEK.max} (tyk-rwa-1)`;
    return known(
      met,
      `${d} days a week ${met ? 'is' : Number.isInteger(d) ? 'is not' : 'is not a whole number of days'} ${within}`,
    );
  });
  const months = numberFact(durationMonths, 'durationMonths', 'duration in months', (m) => {
    const met = m >= RWA_DURATION_MONTHS.min && m <= RWA_DURATION_MONTHS.max;
    return known(
      met,
      `${m} months ${met ? 'is' : 'is not'} within ${RWA_DURATION_MONTHS.min}–${RWA_DURATION_MONTHS.max} (tyk-rwa-2)`,
    );
  });
  return [days, months];
}

/**
 * *Kuntouttava työtoiminta*: for the unemployed aged 25 and over entitled to labour-market subsidy or
 * receiving social assistance, or under 25 likewise (seed 002) — the same conditions at any age, so
 * age decides nothing.
 */
export function rehabilitativeWorkActivityEligibility(f: RehabilitativeWorkActivityFacts): Eligibility {
  return decide([
    flag(f.unemployed, 'unemployed', 'unemployed', 'not unemployed'),
    any('benefit', [
      flag(
        f.labourMarketSubsidy,
        'labourMarketSubsidy',
        'entitled to labour-market subsidy',
        'no labour-market subsidy',
      ),
      flag(f.socialAssistance, 'socialAssistance', 'receives social assistance', 'no social assistance'),
    ]),
    flag(
      f.ownWorkerDecision,
      'ownWorkerDecision',
      'decision of the social-care own worker',
      'no decision of the social-care own worker',
    ),
    flag(f.activationPlan, 'activationPlan', 'activation plan drawn up', 'no activation plan'),
    ...rehabilitativeWorkActivitySchedule(f.daysPerWeek, f.durationMonths),
  ]);
}

export interface TypFacts {
  age?: number;
  /** Days of labour-market subsidy received. */
  labourMarketSubsidyDays?: number;
  /** Months of continuous unemployment. */
  continuousUnemploymentMonths?: number;
  /** Prospect of work or study within about two years. */
  prospectWithinTwoYears?: boolean;
}

/** A number to decide with: given, and a number (not NaN or ±Infinity). */
const isNumber = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n);

/**
 * TYP's continuous unemployment: 12 months at 25 or over, 6 under 25. Without the age the months
 * still decide where both branches agree: 12 or more meets either, fewer than 6 neither.
 */
function unemploymentForAge(age: number | undefined, months: number | undefined): Criterion {
  if (isNumber(months) && isNumber(age)) {
    const needed = age >= 25 ? 12 : 6;
    return known(
      months >= needed,
      `${months} months continuously unemployed (${needed} needed at age ${age})`,
    );
  }
  if (isNumber(months) && (months >= 12 || months < 6))
    return known(
      months >= 12,
      `${months} months continuously unemployed (12 needed at 25 or over, 6 under 25: met at ${months >= 12 ? 'any' : 'no'} age)`,
    );
  const facts = { age, continuousUnemploymentMonths: months };
  const missing = Object.entries(facts)
    .filter(([, v]) => !isNumber(v))
    .map(([k]) => k);
  const notNumbers = Object.entries(facts)
    .filter(([, v]) => v !== undefined && !isNumber(v))
    .map(([k]) => k);
  return {
    met: undefined,
    reason: `continuous unemployment for the age: undecided${notNumbers.length ? ` (${notNumbers.join(' and ')} not a number)` : ''}`,
    missing,
  };
}

/** *TYP* — multi-sector joint service promoting employment. */
export function typEligibility(f: TypFacts): Eligibility {
  const subsidy = numberFact(
    f.labourMarketSubsidyDays,
    'labourMarketSubsidyDays',
    '300 days of labour-market subsidy',
    (days) => known(days >= 300, `${days} days of labour-market subsidy (300 needed)`),
  );
  return decide([
    any('unemployment history', [subsidy, unemploymentForAge(f.age, f.continuousUnemploymentMonths)]),
    flag(
      f.prospectWithinTwoYears,
      'prospectWithinTwoYears',
      'prospect of work or study within two years',
      'no prospect of work or study within two years',
    ),
  ]);
}

export interface KuntakokeiluFacts {
  age?: number;
  entitledToEarningsRelatedAllowance?: boolean;
  /**
   * Mother tongue: a BCP 47 tag (`fi`, `sv-FI`, `se`) or the ISO 639-2/3 code of Finnish, Swedish or
   * Northern Sami (`fin`, `swe`, `sme`), in either letter case. A value that names no registered
   * language (or `und`, `mul`) leaves the criterion undecided, as if it were missing.
   */
  motherTongue?: string;
  finnishCitizen?: boolean;
}

const OTHER_TONGUE = 'mother tongue other than Finnish, Swedish or Sami';

/** Mother tongue other than Finnish, Swedish or Sami (seed 002: "muu kuin suomi, ruotsi tai saame"). */
function otherMotherTongue(tag: string | undefined): Criterion {
  if (tag === undefined) return unknown('motherTongue', OTHER_TONGUE);
  const tongue = motherTongueOf(tag);
  // The value is not quoted unless it is a language tag: it could be any text.
  if (tongue.kind === 'invalid')
    return unknown('motherTongue', `${OTHER_TONGUE} (not a registered language tag)`);
  if (tongue.kind === 'undetermined')
    return unknown('motherTongue', `${OTHER_TONGUE} ('${tag}' names no particular language)`);
  return tongue.domestic
    ? known(false, `mother tongue '${tag}' is ${tongue.domestic}`)
    : known(true, `mother tongue '${tag}' is other than Finnish, Swedish or Sami`);
}

/** *Työllisyyden kuntakokeilu* client group. */
export function kuntakokeiluEligibility(f: KuntakokeiluFacts): Eligibility {
  return decide([
    any('kuntakokeilu group', [
      f.entitledToEarningsRelatedAllowance === undefined
        ? unknown('entitledToEarningsRelatedAllowance', 'not entitled to earnings-related allowance')
        : known(
            !f.entitledToEarningsRelatedAllowance,
            f.entitledToEarningsRelatedAllowance
              ? 'entitled to earnings-related allowance'
              : 'not entitled to earnings-related allowance',
          ),
      otherMotherTongue(f.motherTongue),
      f.finnishCitizen === undefined
        ? unknown('finnishCitizen', 'non-Finnish citizen')
        : known(!f.finnishCitizen, f.finnishCitizen ? 'Finnish citizen' : 'not a Finnish citizen'),
      numberFact(f.age, 'age', 'under 30', (age) =>
        known(age < 30, `age ${age}${age < 30 ? ' is under 30' : ' is 30 or over'}`),
      ),
    ]),
  ]);
}
