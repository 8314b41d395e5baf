// Property: for generated valid records, fromFhir(toFhir(x)) deep-equals x and every Bundle validates
// against our profiles with 0 errors (the project's validator, R4 core + FI Base + profiles/package).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordIssues } from '../../src/domain/index.ts';
import { fromFhir, toFhir, workAbility } from '../../src/mapping/index.ts';
import { recordArb } from './arbitraries.ts';
import { projectErrors } from './project-errors.ts';

const errorsOf = projectErrors();

describe('domain ⇄ FHIR round trip', () => {
  it('the generator yields valid records', () => {
    fc.assert(
      fc.property(recordArb, (r) => {
        expect(recordIssues(r)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('fromFhir(toFhir(x)) deep-equals x', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        expect(fromFhir(toFhir(record))).toEqual(record);
      }),
      { numRuns: 300 },
    );
  });

  it('every toFhir Bundle validates against the profiles with 0 errors', () => {
    fc.assert(
      fc.property(recordArb, fc.constantFrom('fi', 'sv', 'en') as fc.Arbitrary<'fi'>, (record, language) => {
        expect(errorsOf(toFhir(record, { language }))).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it('each part on its own (builders) gives a Bundle with 0 errors that reads back', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const parts = [
          workAbility.client(record.client),
          ...(record.consents ?? []).map((c) => workAbility.consent(c)),
          ...(record.assessments ?? []).map((a) => workAbility.assessment(a)),
          ...(record.plans ?? []).map((p) => workAbility.plan(p)),
          ...(record.teams ?? []).map((t) => workAbility.team(t)),
          ...(record.referrals ?? []).map((r) => workAbility.referral(r)),
        ];
        for (const part of parts) {
          const bundle = part.toBundle();
          expect(errorsOf(bundle)).toEqual([]);
          expect(
            fromFhir(part.toResource(), {
              resolve: (ref) => bundle.entry!.find((e) => e.fullUrl === ref.reference)?.resource,
              validate: false,
            }),
          ).toEqual({ kind: part.kind, value: part.value });
        }
      }),
      { numRuns: 25 },
    );
  });

  it('the validator does catch a broken Bundle (so the 0 above means something)', () => {
    const [record] = fc.sample(recordArb, { numRuns: 1, seed: 7 });
    const bundle = toFhir(record!);
    const patient = bundle.entry!.find((e) => e.resource!.resourceType === 'Patient')!.resource as {
      language?: string;
    };
    // biome-ignore lint/performance/noDelete: the test removes the element
    delete patient.language;
    expect(errorsOf(bundle).join('\n')).toMatch(/Patient\.language/);
  });
});
