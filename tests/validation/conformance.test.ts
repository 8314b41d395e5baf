// Conformance suite: labelled cases under tests/validation/cases/<check>/<name>.json, each
// { description, resource | xml, profile?, expect: "valid" | [{ severity, expression, rule }], absent? }
// (`xml`: a FHIR XML document as text, validated with `validateXml`; a fatal issue counts as an error).
// An invalid case passes when every expected issue is reported at exactly that FHIRPath expression
// (null: an issue without expression) with a diagnostics text containing `rule`, and no other errors
// are reported. A valid case passes with zero errors (warnings allowed). `absent` lists issues (of any
// severity, matched the same way) that must not be reported: a warning the HL7 validator does not
// give, which a valid case alone would not notice. Definitions the cases need
// beyond the project's packages (differential-only profiles) are loose resources in ../supporting/.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { FI_BASE, type Validator, createValidator, projectPackages } from '../../src/validation/index.ts';
import { findPackage } from '../../src/validation/packages.ts';

interface ExpectedIssue {
  severity: 'error' | 'warning' | 'information';
  expression: string | null;
  rule: string;
}
interface Case {
  description: string;
  profile?: string;
  resource?: unknown;
  /** A FHIR XML document, instead of `resource`. */
  xml?: string;
  expect: 'valid' | ExpectedIssue[];
  /** Issues that must not be reported (any severity), matched as `expect`'s are. */
  absent?: ExpectedIssue[];
  /**
   * A gap in the engine the case documents: the expectation is what the HL7 validator does, and the
   * case is run as an expected failure (vitest `it.fails`) so it flags itself once the gap is closed.
   */
  knownGap?: string;
}

const casesDir = join(import.meta.dirname, 'cases');
const supportingDir = join(import.meta.dirname, 'supporting');
/** Cases per folder: a missing or misnamed fixture fails the suite instead of passing silently. */
const CASE_COUNTS: Record<string, number> = {
  attachments: 4,
  bundles: 7,
  cardinality: 2,
  extensions: 20,
  invariants: 28,
  json: 16,
  'measure-report': 9,
  narrative: 7,
  primitives: 30,
  profiles: 27,
  questionnaire: 13,
  references: 17,
  snapshots: 12,
  'structure-definitions': 10,
  terminology: 37,
  types: 4,
  xml: 17,
};
const groups = readdirSync(casesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

const NO_FI = !findPackage(FI_BASE.name, FI_BASE.version) && !findPackage(FI_BASE.name);
let validator: Validator;
beforeAll(async () => {
  validator = await createValidator({ packages: [...projectPackages(), supportingDir] });
});

const isError = (i: OperationOutcomeIssue) => i.severity === 'error' || i.severity === 'fatal';
const show = (issues: OperationOutcomeIssue[]) =>
  issues.map((i) => `${i.severity} ${i.expression?.[0] ?? '-'}: ${i.diagnostics}`).join('\n');

function matches(i: OperationOutcomeIssue, e: ExpectedIssue): boolean {
  const severity = i.severity === 'fatal' ? 'error' : i.severity;
  const where = i.expression?.[0] ?? null;
  return severity === e.severity && where === e.expression && (i.diagnostics ?? '').includes(e.rule);
}

it('holds the expected number of cases in every folder', () => {
  const counts = Object.fromEntries(
    groups.map((g) => [g, readdirSync(join(casesDir, g)).filter((f) => f.endsWith('.json')).length]),
  );
  expect(counts).toEqual(CASE_COUNTS);
});

for (const group of groups) {
  describe(group, () => {
    const files = readdirSync(join(casesDir, group))
      .filter((f) => f.endsWith('.json'))
      .sort();
    for (const file of files) {
      const c = JSON.parse(readFileSync(join(casesDir, group, file), 'utf8')) as Case;
      const title = `${file.replace(/\.json$/, '')}: ${c.description}`;
      // Cases on FI Base profiles or extensions need the FI Base package; without it they are skipped, saying so.
      const noFi = NO_FI && JSON.stringify(c).includes('/finnish-base-profiles/');
      const run = noFi ? it.skip : c.knownGap ? it.fails : it;
      run(
        noFi
          ? `${title} [skipped: needs the FI Base package hl7.fhir.fi.base, not found]`
          : c.knownGap
            ? `${title} [known gap: ${c.knownGap}]`
            : title,
        () => {
          const opts = c.profile ? { profile: c.profile } : undefined;
          const issues =
            (c.xml !== undefined ? validator.validateXml(c.xml, opts) : validator.validate(c.resource, opts))
              .issue ?? [];
          const errors = issues.filter(isError);
          const unwanted = issues.filter((i) => c.absent?.some((e) => matches(i, e)));
          expect(show(unwanted), 'issues listed as absent').toBe('');
          if (c.expect === 'valid') {
            expect(show(errors), 'expected no errors').toBe('');
            return;
          }
          for (const e of c.expect) {
            const found = issues.some((i) => matches(i, e));
            expect(
              found,
              `expected ${e.severity} at ${e.expression} naming "${e.rule}"; got:\n${show(issues)}`,
            ).toBe(true);
          }
          const expectedErrors = c.expect.filter((e) => e.severity === 'error');
          const unexpected = errors.filter((i) => !expectedErrors.some((e) => matches(i, e)));
          expect(show(unexpected), 'unexpected errors').toBe('');
        },
      );
    }
  });
}
