import type { Request } from 'express';
import { FhirError, issue } from '../../shared/outcome.ts';
import { assertJsonBody } from './negotiation.ts';

/** Keys that could reach Object.prototype through naive merges downstream; rejected wherever they appear. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface JsonLimits {
  /** Deepest allowed nesting of objects/arrays (the top-level value counts as 1). */
  maxDepth: number;
}

/**
 * The JSON body of a request whose raw bytes express.raw has read: 400 when empty (`expected` says
 * what to send), 415 for a media type other than JSON, then `parseJsonBody`.
 */
export function requestJson(req: Request, limits: JsonLimits, expected: string): unknown {
  // Emptiness first: for a request without any body (no Content-Length, not chunked), the media
  // type check cannot match, and would blame a Content-Type that is fine.
  const buf = req.body as Buffer | undefined;
  if (!buf || !Buffer.isBuffer(buf) || buf.length === 0) {
    throw new FhirError(400, issue('error', 'required', `Request body is empty; send ${expected}`));
  }
  assertJsonBody(req);
  return parseJsonBody(buf.toString('utf8'), limits);
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
  checkValue(value, 1, { maxDepth: limits.maxDepth, root: value, path: [] });
  return value;
}

/** `Observation.note[0].text`-style location of the value at `path` (for the OperationOutcome). */
function locate(root: unknown, path: Array<string | number>): string {
  const type = (root as { resourceType?: unknown } | null)?.resourceType;
  let out = typeof type === 'string' ? type : '$this';
  for (const step of path) out += typeof step === 'number' ? `[${step}]` : `.${step}`;
  return out;
}

interface Walk {
  maxDepth: number;
  root: unknown;
  /** Keys and indexes from the root to the value being checked. */
  path: Array<string | number>;
}

function checkValue(value: unknown, depth: number, walk: Walk): void {
  const { maxDepth, path } = walk;
  if (typeof value === 'string') {
    // PostgreSQL cannot store U+0000 in text or jsonb; refused here, it names its element.
    if (value.includes('\u0000')) {
      throw new FhirError(
        400,
        issue(
          'error',
          'invalid',
          'A string in the request body contains the character U+0000, which this server cannot store (FHIR strings should not contain control characters)',
          locate(walk.root, path),
        ),
      );
    }
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (depth > maxDepth) {
    throw new FhirError(
      400,
      issue('error', 'too-costly', `Request body nests deeper than the limit of ${maxDepth} levels`),
    );
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      checkValue(value[i], depth + 1, walk);
      path.pop();
    }
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
    path.push(key);
    checkValue((value as Record<string, unknown>)[key], depth + 1, walk);
    path.pop();
  }
}
