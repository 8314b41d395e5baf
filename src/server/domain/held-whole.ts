import type { Resource } from '@medplum/fhirtypes';
import { FhirError, issue } from '../../shared/outcome.ts';
import type { ReadBack } from './read-back.ts';

/**
 * `unheld-element`: a new version written from a domain object replaces the stored resource with the
 * one mapped from the object, so what the stored version holds that no domain object can (written
 * through `/fhir` or pulled: a goal target's `measure`, a modifier extension…) would be erased. Such a
 * write is a 422 naming each element in the stored resource — the elements a GET view names in its
 * `warnings` (`ReadBack.unheldIn`, the same check) — and nothing is written: change it through `/fhir`.
 */
export async function assertHeldWhole(readBack: ReadBack, stored: Resource): Promise<void> {
  const unheld = await readBack.unheldIn(stored);
  if (!unheld.length) return;
  throw new FhirError(
    422,
    unheld.map((w) =>
      issue(
        'error',
        'business-rule',
        `unheld-element: ${w.diagnostics}; the domain object written over it would erase it, so nothing was written (change it through /fhir)`,
        w.expression?.[0],
      ),
    ),
  );
}
