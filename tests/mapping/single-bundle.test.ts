// The SDK reads back what it writes: a Bundle of one object without its client (what
// `workAbility.<kind>().toBundle()` and `tyokyky map --to-fhir {kind, value}` give) reads with
// `fromFhirObject` as that object, its references resolved within the Bundle; `fromFhir` reads a
// Bundle as a record (typed so) and refuses one without its client, pointing to `fromFhirObject`.
import type { Bundle, Consent } from '@medplum/fhirtypes';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import type {
  Consent as DomainConsent,
  DomainKind,
  DomainTypes,
  WorkAbilityRecord,
} from '../../src/domain/index.ts';
import * as sdk from '../../src/index.ts';
import {
  type DomainObject,
  fromFhir,
  fromFhirObject,
  toFhir,
  toResources,
  workAbility,
} from '../../src/mapping/index.ts';
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

describe('a Bundle of one object without its client reads with fromFhirObject as that object', () => {
  it.each(parts)('workAbility.%s(…).toBundle() reads back as { kind, value }', (kind, value) => {
    const builder = (workAbility[kind] as (v: unknown, o: unknown) => { toBundle(): Bundle })(value, {
      related,
    });
    expect(fromFhirObject(builder.toBundle())).toEqual({ kind, value });
  });

  it('the SDK entry exports it', () => {
    expect(sdk.fromFhirObject).toBe(fromFhirObject);
  });

  it('types: fromFhir reads any Bundle as a record; fromFhirObject an object Bundle as its object', () => {
    expectTypeOf(fromFhir(toFhir(suvi))).toEqualTypeOf<WorkAbilityRecord>();
    // What a vendor's HTTP client gives: a plain Bundle reads as a record, its consents and all.
    const fromKanta: Bundle = toFhir(suvi);
    expectTypeOf(fromFhir(fromKanta)).toEqualTypeOf<WorkAbilityRecord>();
    expectTypeOf(sdk.fromFhir(fromKanta).consents).toEqualTypeOf<WorkAbilityRecord['consents']>();
    expect(
      sdk.isDisclosurePermitted(
        fromFhir(fromKanta).consents ?? [],
        'kela',
        'support-plan',
        new Date(2026, 5, 1),
      ).permitted,
    ).toBe(true);
    const read = fromFhirObject(workAbility.consent(suvi.consents![0]!).toBundle());
    expectTypeOf(read.kind).toEqualTypeOf<'consent'>();
    expectTypeOf(read.value).toEqualTypeOf<DomainConsent>();
    // Any other Bundle (not called: this one is a record, which fromFhirObject refuses).
    expectTypeOf((b: Bundle) => fromFhirObject(b)).returns.toEqualTypeOf<DomainObject>();
    // A single resource reads as an object.
    const consent = toResources('consent', suvi.consents![0]!, { related }).at(-1) as Consent;
    expectTypeOf(fromFhir(consent)).toEqualTypeOf<DomainObject>();
  });

  it('fromFhir refuses a Bundle without its client, pointing to fromFhirObject', () => {
    const bundle = workAbility.consent(suvi.consents![0]!).toBundle();
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: 'Bundle.entry',
      diagnostics:
        'Bundle.entry: no client (Patient with the tyokyky-patient profile): a Bundle of one object without its client (workAbility.<kind>().toBundle(), tyokyky map --to-fhir {kind, value}) is read with fromFhirObject',
    });
  });

  it('a client alone reads as its record with fromFhir, as the client with fromFhirObject', () => {
    expect(fromFhir(workAbility.client(suvi.client).toBundle())).toEqual({ client: suvi.client });
    expect(fromFhirObject(workAbility.client(suvi.client).toBundle())).toEqual({
      kind: 'client',
      value: suvi.client,
    });
  });

  it('fromFhirObject refuses a record (a client with its objects) and a single resource', () => {
    expect(refusal(() => fromFhirObject(toFhir(suvi)))).toEqual({
      expression: 'Bundle.entry',
      diagnostics: 'Bundle.entry: a client with its objects is a record: fromFhir reads it',
    });
    const consent = toResources('consent', suvi.consents![0]!, { related }).at(-1) as Consent;
    expect(refusal(() => fromFhirObject(consent as never)).diagnostics).toBe(
      'resourceType: is not a Bundle: fromFhir reads a single resource',
    );
  });

  it('the object is validated as fromFhir validates a resource (validate: false skips it)', () => {
    const bundle = workAbility.consent(suvi.consents![0]!).toBundle();
    (bundle.entry![0]!.resource as Consent).provision!.period!.end = '2000-01-01';
    expect(() => fromFhirObject(bundle)).toThrow(/period-order: Consent\.period\.end/);
    expect(fromFhirObject(bundle, { validate: false })).toMatchObject({ kind: 'consent' });
  });

  it('a Bundle without a client holding two objects is refused: it is neither a record nor one object', () => {
    const bundle = toFhir(suvi);
    bundle.entry = bundle.entry!.filter((e) =>
      ['Consent', 'ServiceRequest'].includes(e.resource!.resourceType),
    );
    expect(refusal(() => fromFhirObject(bundle))).toEqual({
      expression: 'Bundle.entry',
      diagnostics:
        'Bundle.entry: holds 2 objects: fromFhirObject reads a Bundle of one object (with its Goals or scores)',
    });
  });

  it('a CarePlan read alone, without its Goals, says to pass its Bundle or a resolver', () => {
    const plan = toResources('plan', suvi.plans![0]!).at(-1)!;
    expect(refusal(() => fromFhir(plan)).diagnostics).toBe(
      'CarePlan.goal[0]: the Goal cannot be found: read the Bundle the plan came in, or pass a resolver',
    );
  });
});
