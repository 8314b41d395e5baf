import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { type Validator, createValidator } from '../../../src/validation/index.ts';

let shared: Promise<Validator> | undefined;

/** One validator (R4 core + FI Base when present) per test file. */
export function validator(): Promise<Validator> {
  shared ??= createValidator();
  return shared;
}

export function problems(
  oo: OperationOutcome,
  severity: 'error' | 'warning' = 'error',
): OperationOutcomeIssue[] {
  return (oo.issue ?? []).filter((i) =>
    severity === 'error' ? i.severity === 'error' || i.severity === 'fatal' : i.severity === severity,
  );
}

/** Errors as `expression | diagnostics` lines, the shape the tests assert on. */
export function errors(oo: OperationOutcome): string[] {
  return problems(oo).map((i) => `${i.expression?.[0] ?? ''} | ${i.diagnostics}`);
}

export function warnings(oo: OperationOutcome): string[] {
  return problems(oo, 'warning').map((i) => `${i.expression?.[0] ?? ''} | ${i.diagnostics}`);
}

/** A minimal valid Patient with narrative (so dom-6 stays quiet). */
export function patient(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    id: 'p1',
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Test</div>' },
    ...extra,
  };
}
