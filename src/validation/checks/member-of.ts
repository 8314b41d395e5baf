import { type Json, isObject } from '../util.ts';
import type { TerminologyPort } from './context.ts';

/**
 * FHIRPath `memberOf(valueSet)` for invariants, from the value sets we can enumerate offline: a code
 * (any of the value set's systems), a Coding (its system and code) or a CodeableConcept (any coding).
 * Undefined when the value set cannot be enumerated here, or the value is none of these.
 */
export function memberOf(
  terminology: TerminologyPort | undefined,
  value: unknown,
  valueSet: string,
): boolean | undefined {
  const members = terminology?.members(valueSet);
  if (!members) return undefined;
  const coding = (c: Json) =>
    typeof c.system === 'string' && typeof c.code === 'string' && members.has(c.system, c.code);
  if (typeof value === 'string') return members.has(undefined, value);
  if (!isObject(value)) return undefined;
  if (Array.isArray(value.coding)) return value.coding.some((c) => isObject(c) && coding(c));
  if ('code' in value) return coding(value);
  return undefined;
}
