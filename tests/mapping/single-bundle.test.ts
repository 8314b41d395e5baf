// The SDK reads back what it writes: a Bundle of one object without its client (what
// `workAbility.<kind>().toBundle()` and `tyokyky map --to-fhir {kind, value}` give) reads as that
// object, its references resolved within the Bundle.
import type { Bundle, Consent } from '@medplum/fhirtypes';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import type {
  Consent as DomainConsent,
  DomainKind,
  DomainTypes,
  WorkAbilityRecord,
} from '../../src/domain/index.ts';
import { fromFhir, toFhir, toResources, workAbility } from '../../src/mapping/index.ts';
import { FhirError } from '../../src/shared/outcome.ts';

const related = { consents: suvi.consents, professionals: suvi.professionals };

const parts: [DomainKind, DomainTypes[DomainKind]][] = [
  ['organization', suvi.organizations![0]!],
  ['professional', suvi.professionals![0]!],
  ['selfAssessment', suvi.selfAssessments![0]!],
  ['assessment', suvi.assessments![0]!],
  ['consent', suvi.consents![0]!],
  ['plan', suvi.plans![0]!],
  ['referral', suvi.referrals![0]!],
  ['team', suvi.teams![0]!],
];

/** The 422 `read()` throws: its first issue's expression and diagnostics. */
function refusal(read: () => unknown): { expression: string; diagnostics: string } {
  try {
    read();
  } catch (e) {
    expect(e).toBeInstanceOf(FhirError);
    const issue = (e as FhirError).outcome.issue![0]!;
    return { expression: issue.expression![0]!, diagnostics: issue.diagnostics! };
  }
  throw new Error('accepted');
}

describe('a Bundle of one object without its client reads as that object', () => {
  it.each(parts)('workAbility.%s(…).toBundle() reads back as { kind, value }', (kind, value) => {
    const builder = (workAbility[kind] as (v: unknown, o: unknown) => { toBundle(): Bundle })(value, {
      related,
    });
    expect(fromFhir(builder.toBundle())).toEqual({ kind, value });
  });

  it('types: a record Bundle reads as a record, an object Bundle as its object, any other Bundle as either', () => {
    expectTypeOf(fromFhir(toFhir(suvi))).toEqualTypeOf<WorkAbilityRecord>();
    const read = fromFhir(workAbility.consent(suvi.consents![0]!).toBundle());
    expectTypeOf(read.kind).toEqualTypeOf<'consent'>();
    expectTypeOf(read.value).toEqualTypeOf<DomainConsent>();
    expectTypeOf(fromFhir(workAbility.client(suvi.client).toBundle())).toEqualTypeOf<WorkAbilityRecord>();
    const any: Bundle = toFhir(suvi);
    const either = fromFhir(any);
    expect('client' in either).toBe(true);
  });

  it('a client alone reads as its record', () => {
    expect(fromFhir(workAbility.client(suvi.client).toBundle())).toEqual({ client: suvi.client });
  });

  it('the object is validated as fromFhir validates a resource (validate: false skips it)', () => {
    const bundle = workAbility.consent(suvi.consents![0]!).toBundle();
    (bundle.entry![0]!.resource as Consent).provision!.period!.end = '2000-01-01';
    expect(() => fromFhir(bundle)).toThrow(/period-order: Consent\.period\.end/);
    expect(fromFhir(bundle, { validate: false })).toMatchObject({ kind: 'consent' });
  });

  it('a Bundle without a client holding two objects is refused: it is neither a record nor one object', () => {
    const bundle = toFhir(suvi);
    bundle.entry = bundle.entry!.filter((e) =>
      ['Consent', 'ServiceRequest'].includes(e.resource!.resourceType),
    );
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: 'Bundle.entry',
      diagnostics:
        'Bundle.entry: no client (Patient with the tyokyky-patient profile), and more than one object: a Bundle is a record (with its client) or one object (with its Goals or scores)',
    });
  });

  it('a CarePlan read alone, without its Goals, says to pass its Bundle or a resolver', () => {
    const plan = toResources('plan', suvi.plans![0]!).at(-1)!;
    expect(refusal(() => fromFhir(plan)).diagnostics).toBe(
      'CarePlan.goal[0]: the Goal cannot be found: read the Bundle the plan came in, or pass a resolver',
    );
  });
});
