/**
 * *Lähete* — what a referral needs from the objects it names: the consent attached to it in force on
 * the referral's date (`referral-consent`), and a referral to Helsinki work-ability support made by a
 * social-care professional or a Criminal Sanctions Agency employee (`referral-requester-role`). The one
 * place these rules live: a record's validation, a referral validated alone with what its caller knows
 * (`RelatedObjects`) and the domain API, which reads them from its store, all apply them from here.
 */
import type { Consent, Professional, Referral } from '../types.ts';
import { consentNotInForce } from './consent.ts';
import { helsinkiReferrer } from './eligibility.ts';

/**
 * Objects outside the one validated that its rules read, by their local ids: a referral's consent
 * (`consentId`) and requester (`requesterId`). A record supplies its own; a referral sent alone gets
 * them from its caller (the SDK option `related`, the domain API from its store). A rule whose object
 * is not among them is not applied: the receiving server still resolves the reference itself.
 */
export interface RelatedObjects {
  /** Consents: what the consent rule reads of each (id, period, withdrawal). */
  consents?: readonly Pick<Consent, 'id' | 'period' | 'withdrawnOn'>[];
  /** Professionals: what the requester rule reads of each (id, role). */
  professionals?: readonly Pick<Professional, 'id' | 'role'>[];
}

/** A referral rule refused: the referral's field at fault, the rule and why (ids and dates only). */
export interface ReferralViolation {
  field: 'consentId' | 'requesterId';
  rule: 'referral-consent' | 'referral-requester-role';
  reason: string;
}

/**
 * A TypeError for a JavaScript caller whose `related` is not lists (nothing could be read from it, and
 * a rule silently skipped would accept what it refuses).
 */
export function checkRelatedObjects(related: RelatedObjects): void {
  for (const key of ['consents', 'professionals'] as const)
    if (related[key] !== undefined && !Array.isArray(related[key]))
      throw new TypeError(`related.${key} must be a list of domain objects, got ${typeof related[key]}`);
}

/** What the referral rules refuse of `referral`, given the objects it names that are known. */
export function checkReferral(
  referral: Pick<Referral, 'service' | 'date' | 'consentId' | 'requesterId'>,
  related: RelatedObjects,
): ReferralViolation[] {
  const out: ReferralViolation[] = [];
  const consent = related.consents?.find((c) => c.id === referral.consentId);
  const notInForce = consent && consentNotInForce(consent, referral.date);
  if (notInForce)
    out.push({
      field: 'consentId',
      rule: 'referral-consent',
      reason: `the attached consent is not in force on the referral date: ${notInForce}`,
    });
  const role = related.professionals?.find((p) => p.id === referral.requesterId)?.role;
  if (
    referral.service === 'helsinki-work-ability-support' &&
    role !== undefined &&
    !helsinkiReferrer(role).permitted
  )
    out.push({
      field: 'requesterId',
      rule: 'referral-requester-role',
      reason: `a referral to Helsinki work-ability support comes from a social-care professional or a Criminal Sanctions Agency employee, not '${role}'`,
    });
  return out;
}
