/** Small JSON helpers shared by the engine's modules (no module depends on the walker for these). */

import { type JsonObject, isJsonObject } from '../shared/json-object.ts';

export type Json = JsonObject;

/** A URI with a scheme (`http:`, `urn:`, `mailto:` ...): the HL7 validator's absolute-URL test. */
export function isAbsoluteUri(value: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:\S/.test(value);
}

/** The one JSON-object test (src/shared/json-object.ts), under the engine's name. */
export const isObject: (v: unknown) => v is Json = isJsonObject;

/**
 * At most this many urls that name nothing loaded are remembered, per cache. Instance data names them
 * (`meta.profile`, `Coding.system`), and a long-running facade validates whatever its callers send, so
 * what is remembered of them must not grow without bound; past the limit a miss is looked up again.
 */
export const MAX_REMEMBERED_MISSES = 10_000;

export function isEmpty(v: Json): boolean {
  for (const _ in v) return false;
  return true;
}

/** `null`, `undefined`, `an array`, `an object`, `a string` ... for messages about the JSON kind of a value. */
export function describeJsonValue(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

/** A type name with its indefinite article, as a message reads it: `a Patient`, `an Organization`. */
export function withArticle(name: string): string {
  return `${/^[AEIOUaeiou]/.test(name) ? 'an' : 'a'} ${name}`;
}
