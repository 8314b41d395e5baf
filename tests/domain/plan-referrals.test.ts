// A plan's referrals (referralIds) are links like its other fields: in a record each names one of the
// record's referrals, refused by `reference` at the item otherwise.
import { describe, expect, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import { recordIssues } from '../../src/domain/index.ts';

describe("reference: a plan's referrals are the record's", () => {
  it("the record's own referral passes", () => {
    const r = structuredClone(suvi);
    r.plans![0]!.referralIds = [r.referrals![0]!.id];
    expect(recordIssues(r)).toEqual([]);
  });

  it('a referral not in the record is refused at the item, naming the rule', () => {
    const r = structuredClone(suvi);
    r.plans![0]!.referralIds = [r.referrals![0]!.id, 'gone'];
    expect(recordIssues(r).map((i) => [i.expression?.[0], i.diagnostics])).toEqual([
      [
        'WorkAbilityRecord.plans[0].referralIds[1]',
        "reference: WorkAbilityRecord.plans[0].referralIds[1]: 'gone' is not among the record's referrals",
      ],
    ]);
  });
});
