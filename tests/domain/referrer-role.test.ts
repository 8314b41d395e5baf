// Who may refer a client to Helsinki work-ability support (DOMAIN.md; seeds: "sosiaalihuollon
// ammattilaisen tekemä lähete", or a Criminal Sanctions Agency employee; the social-care own worker is
// always a social worker or a social counsellor). One table, run through both places that apply the
// rule: the eligibility and the referral validation (referral-requester-role).
import { describe, expect, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import {
  CARE_TEAM_ROLES,
  type CareTeamRole,
  checkReferral,
  helsinkiWorkAbilitySupportEligibility,
} from '../../src/domain/index.ts';

const MAY_REFER: readonly CareTeamRole[] = [
  'social-worker',
  'social-counsellor',
  'own-worker',
  'criminal-sanctions-agency-employee',
];
const CASES = CARE_TEAM_ROLES.map((role) => [role, MAY_REFER.includes(role)] as const);

const facts = {
  age: 31,
  unemployed: true,
  municipality: '091',
  healthAffectsWorkAbility: true,
  consentAttached: true,
};
const referral = {
  ...suvi.referrals![0]!,
  service: 'helsinki-work-ability-support' as const,
  requesterId: 'p',
};

describe.each(CASES)('a referral to Helsinki work-ability support by %s', (role, mayRefer) => {
  it(`${mayRefer ? 'makes' : 'does not make'} the client eligible`, () => {
    const e = helsinkiWorkAbilitySupportEligibility({ ...facts, referrerRole: role });
    expect(e.eligible).toBe(mayRefer);
    expect(e.missingFacts).toEqual([]);
  });

  it(`${mayRefer ? 'passes' : 'is refused by'} referral-requester-role`, () => {
    const violations = checkReferral(referral, { professionals: [{ id: 'p', role }] });
    expect(violations.map((v) => [v.field, v.rule])).toEqual(
      mayRefer ? [] : [['requesterId', 'referral-requester-role']],
    );
  });
});
