/**
 * What a refusal may quote of what it was given. Refusals name elements and rules; of the values
 * themselves only codes, the resource types our profiles are on and literal references (with any
 * HETU in them masked) are quoted — anything else could be client data (a name, a HETU).
 */
import type { Reference } from '@medplum/fhirtypes';
import { maskHetus } from '../domain/index.ts';
import { isUrnUuid, relativeReference } from '../shared/references.ts';
import { MAP } from './config.ts';

/** The resource types the mapping reads, sorted: the only types a refusal quotes. */
export const OUR_TYPES: readonly string[] = [
  ...new Set(Object.values(MAP.kinds).map((k) => k.resourceType)),
].sort();
const KNOWN_TYPES: ReadonlySet<string> = new Set([...OUR_TYPES, 'Bundle']);

/** Whether a refusal may quote `type`: one of the resource types the mapping reads, or Bundle. */
export function isKnownType(type: unknown): type is string {
  return typeof type === 'string' && KNOWN_TYPES.has(type);
}

/**
 * A code as an error may quote it: a code of FHIR's or ours is letters and hyphens, starting lowercase;
 * anything else in a code element (free text, an identifier, digits) is not quoted.
 */
export function codeText(value: unknown): string {
  return typeof value === 'string' && /^[a-z][A-Za-z-]{0,63}$/.test(value) ? value : 'the value given';
}

/**
 * How an error names the target of `ref`: a literal `Type/id` or `urn:uuid:` reference names a logical
 * id, so it is quoted (a HETU in it masked: an id may be one); a display, a conditional reference
 * (`Patient?identifier=…` may hold a HETU) or any other text may be client data, and is not.
 */
export function quotedTarget(ref: Reference): string {
  const text = ref.reference;
  return text !== undefined && (relativeReference(text) || isUrnUuid(text)) ? `'${maskHetus(text)}'` : 'it';
}
