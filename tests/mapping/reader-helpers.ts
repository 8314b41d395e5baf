// What the reader tests share: an entry of a mapped Bundle by its profile, and the 422 a read throws.
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { expect } from 'vitest';
import { canonical } from '../../src/mapping/index.ts';
import { FhirError } from '../../src/shared/outcome.ts';

/** The entry of `bundle` declaring `profile` (the `n`th one), its resource and its path. */
export function entryOf<T extends Resource>(bundle: Bundle, profile: string, n = 0) {
  const indexes = bundle
    .entry!.map((e, i) => [e, i] as const)
    .filter(([e]) => e.resource!.meta?.profile?.[0] === `${canonical}/StructureDefinition/${profile}`)
    .map(([, i]) => i);
  const index = indexes[n]!;
  const entry = bundle.entry![index]!;
  return { entry, resource: entry.resource as T, path: `Bundle.entry[${index}].resource` };
}

/** The 422 `read()` throws: its first issue's expression and diagnostics. */
export function refusal(read: () => unknown): { expression: string; diagnostics: string } {
  try {
    read();
  } catch (e) {
    expect(e).toBeInstanceOf(FhirError);
    expect((e as FhirError).status).toBe(422);
    const issue = (e as FhirError).outcome.issue![0]!;
    return { expression: issue.expression![0]!, diagnostics: issue.diagnostics! };
  }
  throw new Error('accepted');
}
