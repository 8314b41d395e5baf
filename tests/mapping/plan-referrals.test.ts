// A plan's referrals are written as activities given as references (after the detail activities) and
// read back; an activity referencing anything but a referral is still refused at the element.
import type { CarePlan, ServiceRequest } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import { fromFhir, toFhir } from '../../src/mapping/index.ts';
import { entryOf, refusal } from './reader-helpers.ts';

function withReferral() {
  const record = structuredClone(suvi);
  record.plans![0]!.referralIds = [record.referrals![0]!.id];
  return record;
}

describe("a plan's referrals as activity references", () => {
  it('in a record Bundle: the urn:uuid of the referral entry, after the detail activities; read back', () => {
    const record = withReferral();
    const bundle = toFhir(record);
    const plan = entryOf<CarePlan>(bundle, 'tyokyky-support-plan').resource;
    const referral = entryOf<ServiceRequest>(bundle, 'tyokyky-referral').entry;
    expect(plan.activity!.map((a) => a.reference?.reference)).toEqual([undefined, referral.fullUrl]);
    expect(fromFhir(bundle)).toEqual(record);
  });

  it('an activity referencing an Observation is still refused at the element', () => {
    const bundle = toFhir(withReferral());
    const { resource, path } = entryOf<CarePlan>(bundle, 'tyokyky-support-plan');
    const observation = entryOf(bundle, 'tyokyky-work-ability-assessment').entry.fullUrl!;
    resource.activity!.splice(1, 0, { reference: { reference: observation } });
    expect(refusal(() => fromFhir(bundle))).toMatchObject({
      expression: `${path}.activity[1].reference`,
      diagnostics: expect.stringContaining(
        'an activity given as a reference to another resource than a referral',
      ),
    });
  });
  it('an activity reference whose type cannot be told is refused there too', () => {
    const bundle = toFhir(withReferral());
    const { resource, path } = entryOf<CarePlan>(bundle, 'tyokyky-support-plan');
    resource.activity!.push({ reference: { reference: 'urn:uuid:00000000-0000-4000-8000-000000000000' } });
    expect(refusal(() => fromFhir(bundle)).expression).toBe(`${path}.activity[2].reference`);
  });
});
