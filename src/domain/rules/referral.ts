/**
 * *Lähete* — what a referral needs from the objects it names: the consent attached to it in force on
 * the referral's date (`referral-consent`), and a referral to Helsinki work-ability support made by a
 * social-care professional or a Criminal Sanctions Agency employee (`referral-requester-role`). The one
 * place these rules live: a record's validation, a referral validated alone with what its caller knows
 * (`RelatedObjects`) and the domain API, which reads them from its store, all apply them from here.
 */
import type { Referral } from '../types.ts';
import { consentNotInForce } from './consent.ts';
import { helsinkiReferrer } from './eligibility.ts';
import type { RelatedObjects } from './links.ts';

/** A referral rule refused: the referral's field at fault, the rule and why (ids and dates only). */
export interface ReferralViolation {
  field: 'consentId' | 'requesterId';
  rule: 'referral-consent' | 'referral-requester-role';
  reason: string;
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
