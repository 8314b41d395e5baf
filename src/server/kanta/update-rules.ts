// What an update of a stored resource may not change: its business identifiers (changing one could
// hand it another resource's, or add one another resource holds) and its subject (the person whose
// data it is — moved, one person's data would become another's).
import type { Reference, Resource } from '@medplum/fhirtypes';
import { FhirError, issue } from '../../shared/outcome.ts';
import { globalTokens } from './identifiers.ts';

/** Who a subject reference names: its reference, else its identifier (display aside). */
function subjectOf(r: Resource): string {
  const s = (r as { subject?: Reference }).subject;
  return JSON.stringify([s?.reference ?? null, s?.identifier?.system ?? null, s?.identifier?.value ?? null]);
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((t) => b.includes(t));

/** 409 when `next` adds, changes or removes a global business identifier; 422 when it moves the subject. */
export function assertKeepsIdentity(current: Resource, next: Resource, type: string): void {
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
  if (subjectOf(current) !== subjectOf(next))
    throw FhirError.unprocessable(
      issue(
        'error',
        'business-rule',
        `kanta-subject: a stored ${type} keeps its subject; an update cannot move it to another`,
        `${type}.subject`,
      ),
    );
}
