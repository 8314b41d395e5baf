import { randomUUID } from 'node:crypto';
import type { Observation } from '@medplum/fhirtypes';
import { expect } from 'vitest';
import { FhirError } from '../../src/shared/outcome.ts';

export const ID_SYSTEM = 'urn:ietf:rfc:3986';
export const LOINC = 'http://loinc.org';

/** An Observation with a fresh business identifier (tests share one database per engine). */
export function observation(overrides: Partial<Observation> = {}): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    identifier: [{ system: ID_SYSTEM, value: `urn:uuid:${randomUUID()}` }],
    code: { coding: [{ system: LOINC, code: '89575-4' }] },
    subject: { reference: `Patient/${randomUUID()}` },
    effectiveDateTime: '2024-05-03T10:00:00Z',
    ...overrides,
  };
}

/** Awaits a rejection and checks it is the FhirError with this status, message and FHIRPath. */
export async function expectFhirError(
  promise: Promise<unknown>,
  status: number,
  diagnostics: string,
  expression?: string,
): Promise<FhirError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a FhirError').toBeInstanceOf(FhirError);
  const fe = err as FhirError;
  expect(fe.status).toBe(status);
  expect(fe.outcome.issue?.[0]?.diagnostics).toBe(diagnostics);
  if (expression !== undefined) expect(fe.outcome.issue?.[0]?.expression).toEqual([expression]);
  return fe;
}
