// What an update of a stored resource may not change: its business identifiers (changing one could
// hand it another resource's, or add one another resource holds) and its subject (the person whose
// data it is — moved, one person's data would become another's).
import type { Reference, Resource } from '@medplum/fhirtypes';
import { FhirError, issue } from '../../shared/outcome.ts';
import { patientOfReferenceUnder } from '../../shared/references.ts';
import { globalTokens } from './identifiers.ts';

/**
 * Whom a reference names, as a key: its reference — a Patient's as `Patient/<id>`, without a version,
 * whether written relative or, when `base` is given, as an absolute URL under that base
 * (patientOfReferenceUnder; under any other base it names another server's) — and its identifier (a
 * display aside: it names no one). Two references with equal keys name the same person.
 */
export function whoOf(ref: Reference | undefined, base?: string): string {
  const literal =
    typeof ref?.reference === 'string'
      ? (patientOfReferenceUnder(ref.reference, base) ?? ref.reference)
      : null;
  return JSON.stringify([literal, ref?.identifier?.system ?? null, ref?.identifier?.value ?? null]);
}

const subjectOf = (r: Resource, base: string | undefined) =>
  whoOf((r as { subject?: Reference }).subject, base);

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((t) => b.includes(t));

/**
 * 409 when `next` adds, changes or removes a global business identifier; 422 when it moves the subject
 * (read under `base`, the base URL the request came to: `<base>/Patient/x` is `Patient/x`).
 */
export function assertKeepsIdentity(current: Resource, next: Resource, type: string, base?: string): void {
  if (!sameSet(globalTokens(current), globalTokens(next)))
    throw new FhirError(
      409,
      issue(
        'error',
        'conflict',
        `kanta-identifier: a stored ${type} keeps its business identifiers; an update cannot add, change or remove one`,
        `${type}.identifier`,
      ),
    );
  if (subjectOf(current, base) !== subjectOf(next, base))
    throw FhirError.unprocessable(
      issue(
        'error',
        'business-rule',
        `kanta-subject: a stored ${type} keeps its subject; an update cannot move it to another`,
        `${type}.subject`,
      ),
    );
}
