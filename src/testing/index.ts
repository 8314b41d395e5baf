/**
 * `tyokyky-fhir/testing` — matchers for vitest and jest that validate FHIR resources in a vendor's own
 * test suite:
 *
 * ```ts
 * import { beforeAll, expect } from 'vitest';
 * import { installFhirMatchers } from 'tyokyky-fhir/testing';
 * import 'tyokyky-fhir/testing/vitest'; // types for the matchers (jest: 'tyokyky-fhir/testing/jest')
 *
 * beforeAll(() => installFhirMatchers(expect));
 * expect(patient).toConformTo('https://tyokyky-fhir.org/fhir/StructureDefinition/tyokyky-patient');
 * expect(bundle).toBeValidFhir();
 * ```
 *
 * One validator (R4 core + FI Base when found + our profiles, plus any `packages` given) is loaded per
 * process and shared by every matcher call in the test file.
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { isErrorIssue } from '../shared/outcome.ts';
import { ownPackageDir } from '../shared/project-files.ts';
import { type Validator, createValidator, loadProjectValidator } from '../validation/index.ts';

/** The matchers, typed for `declare module` augmentation of vitest's or jest's `expect`. */
export interface FhirMatchers<R = unknown> {
  /** The resource validates against the profile (and R4, and its own `meta.profile`) without errors. */
  toConformTo(profileUrl: string): R;
  /** The resource validates against R4 (and its own `meta.profile`) without errors. */
  toBeValidFhir(): R;
}

/** The `expect` of vitest or jest: anything with `extend`. */
export interface Extensible {
  extend(matchers: Record<string, (this: unknown, received: unknown, ...args: any[]) => MatcherResult>): void;
}

export interface MatcherResult {
  pass: boolean;
  message: () => string;
}

export interface FhirMatcherOptions {
  /** Extra FHIR packages (.tgz or folders) or conformance resources to validate against. */
  packages?: string[];
  /** A validator to use instead of loading one. */
  validator?: Validator;
  /**
   * `false`: failure messages name the element and the rule but never quote the resource's values
   * ("The value '…' is not a valid date"), for test output kept where client data must not go (CI logs).
   * Default `true`: values are quoted, as `tyokyky validate` prints them.
   */
  valuesInMessages?: boolean;
}

let shared: Validator | undefined;

/** Loads the shared validator once and registers `toConformTo` / `toBeValidFhir` on `expect`. */
export async function installFhirMatchers(
  expect: Extensible,
  opts: FhirMatcherOptions = {},
): Promise<Validator> {
  const validator =
    opts.validator ??
    (opts.packages?.length
      ? await createValidator({ packages: [...opts.packages, ownPackageDir()] })
      : await loadProjectValidator());
  shared = validator;
  expect.extend(fhirMatchers(validator, { valuesInMessages: opts.valuesInMessages }));
  return validator;
}

/** The matcher functions over a given validator, for `expect.extend` by hand. */
export function fhirMatchers(validator: Validator, opts: Pick<FhirMatcherOptions, 'valuesInMessages'> = {}) {
  const quiet = opts.valuesInMessages === false ? { valuesInMessages: false } : {};
  return {
    toConformTo(received: unknown, profileUrl: string): MatcherResult {
      if (typeof profileUrl !== 'string' || !validator.registry.structureDefinition(profileUrl)) {
        return {
          pass: false,
          message: () => `toConformTo: unknown profile '${String(profileUrl)}' (not in any loaded package)`,
        };
      }
      return judge(
        validator.validate(received, { ...quiet, profile: profileUrl }),
        `conform to ${profileUrl}`,
      );
    },
    toBeValidFhir(received: unknown): MatcherResult {
      return judge(validator.validate(received, quiet), 'be valid FHIR R4');
    },
  };
}

/** The validator the matchers use (after `installFhirMatchers`). */
export function matcherValidator(): Validator | undefined {
  return shared;
}

/** Lists every error as `severity expression  rule/diagnostics`, the way `tyokyky validate` prints them. */
export function describeIssues(
  oo: OperationOutcome,
  filter: (i: OperationOutcomeIssue) => boolean = isErrorIssue,
): string {
  return (oo.issue ?? [])
    .filter(filter)
    .map((i) => {
      const where = i.expression?.[0] ?? i.location?.[0];
      return `  ${i.severity} ${where ? `${where}  ` : ''}${i.diagnostics ?? i.details?.text ?? i.code}`;
    })
    .join('\n');
}

function judge(oo: OperationOutcome, what: string): MatcherResult {
  const errors = (oo.issue ?? []).filter(isErrorIssue);
  if (errors.length === 0)
    return { pass: true, message: () => `expected the resource not to ${what}, but it does` };
  return {
    pass: false,
    message: () => `expected the resource to ${what}; ${errors.length} error(s):\n${describeIssues(oo)}`,
  };
}
