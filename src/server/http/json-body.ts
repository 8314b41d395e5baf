import { FhirError, issue } from '../../shared/outcome.ts';

/** Keys that could reach Object.prototype through naive merges downstream; rejected wherever they appear. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const SUSPICIOUS = /__proto__|constructor|prototype|\\u/;

export interface JsonLimits {
  /** Deepest allowed nesting of objects/arrays (the top-level value counts as 1). */
  maxDepth: number;
}

/**
 * Parses a request body as JSON with the checks a public endpoint needs: malformed text, nesting
 * depth and prototype-pollution keys are all reported as 400 OperationOutcomes. The depth scan runs
 * over the raw text before parsing so a hostile body cannot make the parser or later walkers recurse
 * deeply; the key check only pays for a reviver when the text could contain such a key.
 */
export function parseJsonBody(text: string, limits: JsonLimits): unknown {
  checkDepth(text, limits.maxDepth);
  let value: unknown;
  try {
    value = SUSPICIOUS.test(text) ? JSON.parse(text, rejectForbiddenKeys) : JSON.parse(text);
  } catch (err) {
    if (err instanceof FhirError) throw err;
    throw new FhirError(
      400,
      issue('error', 'structure', `Request body is not valid JSON: ${(err as Error).message}`),
    );
  }
  return value;
}

function rejectForbiddenKeys(this: unknown, key: string, value: unknown): unknown {
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
  return value;
}

function checkDepth(text: string, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > maxDepth) {
        throw new FhirError(
          400,
          issue('error', 'too-costly', `Request body nests deeper than the limit of ${maxDepth} levels`),
        );
      }
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
    }
  }
}
