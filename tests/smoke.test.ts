import { describe, expect, it } from 'vitest';
import { FhirError, hasErrors, issue, outcome } from '../src/shared/outcome.ts';

describe('shared outcome helpers', () => {
  it('reports an empty issue list as All OK without errors', () => {
    const oo = outcome([]);
    expect(oo.issue?.[0]).toMatchObject({ severity: 'information', code: 'informational' });
    expect(hasErrors(oo)).toBe(false);
  });

  it('carries status, expression and location in a FhirError', () => {
    const err = new FhirError(422, issue('error', 'invariant', 'tyk-was-1: score 0-10', 'Observation.value'));
    expect(err.status).toBe(422);
    expect(err.outcome.issue?.[0]?.expression).toEqual(['Observation.value']);
    expect(err.outcome.issue?.[0]?.location).toEqual(['Observation.value']);
    expect(hasErrors(err.outcome)).toBe(true);
  });
});
