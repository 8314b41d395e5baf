import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { Request } from 'express';
import { jsonSyntaxMessage } from '../../shared/json-error.ts';
import { scanJsonText } from '../../shared/json-text.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import { assertJsonType, decodeText } from './negotiation.ts';

/** Keys that could reach Object.prototype through naive merges downstream; rejected wherever they appear. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** R4 `string`: "Strings SHALL NOT exceed 1 MB (1024*1024 characters) in size". */
export const MAX_STRING_LENGTH = 1024 * 1024;

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export interface JsonLimits {
  /** Deepest allowed nesting of objects/arrays (the top-level value counts as 1). */
  maxDepth: number;
  /**
   * When given, strings that cannot be stored (U+0000, lone surrogates, over 1 MB) are added here as
   * error issues instead of refusing the body ($validate reports them with its other findings).
   */
  report?: OperationOutcomeIssue[];
}

/**
 * Bodies read ahead of their handler, by their bytes: the security front reads a transaction to judge
 * its entries, and the handler takes that value instead of parsing the same bytes again. A value is
 * taken once, and only by a read with the same media type and limits (the handler may change it).
 */
const readAhead = new WeakMap<Buffer, { key: string; value: unknown }>();

const readKey = (contentType: string | undefined, limits: JsonLimits) =>
  `${limits.maxDepth} ${contentType ?? ''}`;

/** `requestJson` for an Express request whose raw bytes express.raw has read. */
export function requestJson(req: Request, limits: JsonLimits, expected: string): unknown {
  return bodyJson(req.body as Buffer | undefined, req.headers['content-type'], limits, expected);
}

/** `requestJson`, keeping the value for the handler's read of the same body (see `readAhead`). */
export function requestJsonAhead(req: Request, limits: JsonLimits, expected: string): unknown {
  const value = requestJson(req, limits, expected);
  const contentType = req.headers['content-type'];
  if (Buffer.isBuffer(req.body)) readAhead.set(req.body, { key: readKey(contentType, limits), value });
  return value;
}

/**
 * The JSON value of a request body: 400 when empty (`expected` says what to send), 415 for a media
 * type other than JSON or a charset we cannot decode, then `parseJsonBody`.
 */
export function bodyJson(
  body: Buffer | undefined,
  contentType: string | undefined,
  limits: JsonLimits,
  expected: string,
): unknown {
  // Emptiness first: for a request without any body (no Content-Length, not chunked), the media
  // type check cannot match, and would blame a Content-Type that is fine.
  if (!body || !Buffer.isBuffer(body) || body.length === 0) {
    throw new FhirError(400, issue('error', 'required', `Request body is empty; send ${expected}`));
  }
  const ahead = readAhead.get(body);
  if (ahead && !limits.report && ahead.key === readKey(contentType, limits)) {
    readAhead.delete(body);
    return ahead.value;
  }
  const type = assertJsonType(contentType);
  return parseJsonBody(decodeText(body, type.params.get('charset')), limits);
}

/**
 * Parses a request body as JSON with the checks a public endpoint needs: malformed text, duplicate
 * property names, nesting depth, prototype-pollution keys, and strings PostgreSQL cannot store (U+0000,
 * lone surrogates) are 400s; strings over R4's 1 MB limit are 422. V8's JSON.parse is iterative, so
 * deep text cannot exhaust the stack there; the check that follows stops descending at the limit.
 */
export function parseJsonBody(text: string, limits: JsonLimits): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FhirError(
      400,
      issue('error', 'structure', `Request body is not valid JSON: ${jsonSyntaxMessage(err)}`),
    );
  }
  const { duplicate } = scanJsonText(text, value);
  if (duplicate) {
    throw new FhirError(
      400,
      issue(
        'error',
        'structure',
        `Duplicated property name "${duplicate.name}" at offset ${duplicate.offset} (FHIR JSON forbids repeated names)`,
        locate(value, duplicate.path),
      ),
    );
  }
  checkValue(value, 1, { maxDepth: limits.maxDepth, report: limits.report, root: value, path: [] });
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
  report?: OperationOutcomeIssue[];
  root: unknown;
  /** Keys and indexes from the root to the value being checked. */
  path: Array<string | number>;
}

/** What is wrong with a string PostgreSQL cannot store or R4 does not allow, with its status. */
function stringProblem(value: string): [number, OperationOutcomeIssue['code'], string] | undefined {
  if (value.includes('\u0000')) {
    return [
      400,
      'invalid',
      'A string in the request body contains the character U+0000, which this server cannot store (FHIR strings should not contain control characters)',
    ];
  }
  if (LONE_SURROGATE.test(value)) {
    return [
      400,
      'invalid',
      'A string in the request body contains a lone UTF-16 surrogate (not a Unicode character); send valid Unicode text',
    ];
  }
  if (value.length > MAX_STRING_LENGTH) {
    return [
      422,
      'too-long',
      `A string of ${value.length} characters exceeds the R4 string limit of 1 MB (${MAX_STRING_LENGTH} characters)`,
    ];
  }
  return undefined;
}

function checkString(value: string, walk: Walk): void {
  const problem = stringProblem(value);
  if (!problem) return;
  const found = issue('error', problem[1], problem[2], locate(walk.root, walk.path));
  if (walk.report) walk.report.push(found);
  else throw new FhirError(problem[0], found);
}

function checkValue(value: unknown, depth: number, walk: Walk): void {
  const { maxDepth, path } = walk;
  if (typeof value === 'string') {
    checkString(value, walk);
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
    if (LONE_SURROGATE.test(key)) checkString(key, walk);
    checkValue((value as Record<string, unknown>)[key], depth + 1, walk);
    path.pop();
  }
}
