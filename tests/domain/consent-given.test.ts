// A consent discloses nothing before the day it was given (Consent.date), and is given on or before
// today: `consentNotInForce` is the one home of "in force on day D"; `consent-given` refuses a date
// still to come, as `consent-withdrawn` refuses a withdrawal still to come.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type Consent,
  DomainValidationError,
  type WorkAbilityRecord,
  consentNotInForce,
  domainIssues,
  isDisclosurePermitted,
  recordIssues,
  validateDomain,
} from '../../src/domain/index.ts';

/** Given on 17 February 2026, with a period said to run from 1 January 2025. */
const backdated: Consent = {
  id: 'k1',
  clientId: 'c1',
  date: '2026-02-17',
  parties: ['kela'],
  dataClasses: ['support-plan'],
  period: { start: '2025-01-01' },
  organizationId: 'o1',
};

const GIVEN = 'consent k1 was given on 2026-02-17 (Consent.date); it disclosed nothing before that day';

const record = (referralDate: string): WorkAbilityRecord => ({
  client: { id: 'c1', hetu: '010181-900C', name: { family: 'V', given: ['S'] } },
  organizations: [{ id: 'o1', name: 'Sote' }],
  professionals: [{ id: 'p1', name: 'P', role: 'social-worker', organizationId: 'o1' }],
  consents: [backdated],
  referrals: [
    {
      id: 'r1',
      clientId: 'c1',
      service: 'helsinki-work-ability-support',
      requesterId: 'p1',
      date: referralDate,
      reasons: [],
      consentId: 'k1',
    },
  ],
});

afterEach(() => {
  vi.useRealTimers();
});

describe('a consent is in force from the later of its date and its period start', () => {
  it('consentNotInForce: not before Consent.date, though the period starts earlier', () => {
    expect(consentNotInForce(backdated, '2025-06-01')).toBe(GIVEN);
    expect(consentNotInForce(backdated, '2026-02-16')).toBe(GIVEN);
    expect(consentNotInForce(backdated, '2026-02-17')).toBeUndefined();
    // 23:30Z on 16 February is 01:30 on the 17th in Helsinki: the day it was given.
    expect(consentNotInForce(backdated, new Date('2026-02-16T23:30:00Z'))).toBeUndefined();
  });

  it('a period starting after the date still decides (the later of the two)', () => {
    const later = { ...backdated, period: { start: '2026-03-01' } };
    expect(consentNotInForce(later, '2026-02-20')).toBe('consent k1 is valid only from 2026-03-01');
    expect(consentNotInForce(later, '2026-03-01')).toBeUndefined();
  });

  it('terms without a date (a FHIR Consent read without its dateTime) are read by the period alone', () => {
    const { date: _date, ...terms } = backdated;
    expect(consentNotInForce(terms, '2025-06-01')).toBeUndefined();
  });

  it('isDisclosurePermitted refuses before the consent was given, permits from that day', () => {
    expect(isDisclosurePermitted([backdated], 'kela', 'support-plan', '2025-06-01')).toEqual({
      permitted: false,
      reason: GIVEN,
      consentId: 'k1',
    });
    expect(isDisclosurePermitted([backdated], 'kela', 'support-plan', '2026-02-17')).toMatchObject({
      permitted: true,
      consentId: 'k1',
    });
  });

  it('referral-consent: a referral dated before its consent was given is refused', () => {
    expect(recordIssues(record('2025-06-01'))).toEqual([
      expect.objectContaining({
        expression: ['WorkAbilityRecord.referrals[0].consentId'],
        diagnostics: `referral-consent: WorkAbilityRecord.referrals[0].consentId: the attached consent is not in force on the referral date: ${GIVEN}`,
      }),
    ]);
    expect(recordIssues(record('2026-02-17'))).toEqual([]);
    // Alone, with the consent given as a related object, the same rule.
    const referral = record('2025-06-01').referrals![0]!;
    expect(
      domainIssues('referral', referral, undefined, { consents: [backdated] }).map((i) => i.expression?.[0]),
    ).toEqual(['Referral.consentId']);
  });
});

describe('consent-given: a consent is given on or before today', () => {
  it('refuses a Consent.date still to come (today is the Finnish calendar day), in a record too', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    // 21:30Z on 30 June is 00:30 on 1 July in Helsinki: 1 July is today, 2 July is still to come.
    vi.setSystemTime(new Date('2026-06-30T21:30:00Z'));
    const future = { ...backdated, date: '2026-07-02', period: { start: '2026-07-02' } };
    let err: unknown;
    try {
      validateDomain('consent', future);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DomainValidationError);
    expect((err as DomainValidationError).field).toBe('Consent.date');
    expect((err as DomainValidationError).outcome.issue?.map((i) => i.diagnostics)).toEqual([
      'consent-given: Consent.date: 2026-07-02 is in the future; a consent is given on or before today',
    ]);
    expect(domainIssues('consent', { ...future, date: '2026-07-01' })).toEqual([]);
    const rec = { ...record('2026-07-02'), consents: [future] };
    expect(recordIssues(rec).map((i) => i.expression?.[0])).toContain('WorkAbilityRecord.consents[0].date');
  });
});
