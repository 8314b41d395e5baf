import { FhirError, issue } from '../../shared/outcome.ts';

/** Keys that could reach Object.prototype through naive merges downstream; rejected wherever they appear. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface JsonLimits {
  /** Deepest allowed nesting of objects/arrays (the top-level value counts as 1). */
  maxDepth: number;
}

/**
 * Parses a request body as JSON with the checks a public endpoint needs: malformed text, nesting
 * depth and prototype-pollution keys are all reported as 400 OperationOutcomes. V8's JSON.parse is
 * iterative, so deep text cannot exhaust the stack there; the check that follows stops descending
 * at the limit, so it cannot either, and nothing after it sees a value deeper than the limit.
 * (JSON.parse stores a "__proto__" key as an own property, so parsing itself pollutes nothing.)
 */
export function parseJsonBody(text: string, limits: JsonLimits): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FhirError(
      400,
      issue('error', 'structure', `Request body is not valid JSON: ${(err as Error).message}`),
    );
  }
  checkValue(value, 1, limits.maxDepth);
  return value;
}

function checkValue(value: unknown, depth: number, maxDepth: number): void {
  if (value === null || typeof value !== 'object') return;
  if (depth > maxDepth) {
    throw new FhirError(
      400,
      issue('error', 'too-costly', `Request body nests deeper than the limit of ${maxDepth} levels`),
    );
  }
  if (Array.isArray(value)) {
    for (const item of value) checkValue(item, depth + 1, maxDepth);
    return;
  }
  for (const key in value) {
    if (FORBIDDEN_KEYS.has(key)) {
      throw new FhirError(
        400,
        issue(
          'error',
          'security',
          `Property name "${key}" is not allowed in a request body (prototype pollution guard)`,
        ),
      );
    }
    checkValue((value as Record<string, unknown>)[key], depth + 1, maxDepth);
  }
}
