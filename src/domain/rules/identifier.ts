/**
 * A globally unique business identifier, as Kanta requires one on every resource: a `urn:uuid:`
 * (lower case, as FHIR writes UUIDs) or `urn:oid:` value under system `urn:ietf:rfc:3986`. The profile
 * invariant `tyk-id-1` states the same (and also counts a client's HETU);
 * tests/domain/hetu-invariant.test.ts proves both (and the validator's native path) agree on one case table.
 */
export const GLOBAL_IDENTIFIER_SYSTEM = 'urn:ietf:rfc:3986';

const GLOBAL_VALUE =
  /^urn:(?:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|oid:[0-2](?:\.(?:0|[1-9]\d*))+)$/;

/** Whether `system|value` is a globally unique business identifier. */
export function isGlobalIdentifier(system: unknown, value: unknown): boolean {
  return system === GLOBAL_IDENTIFIER_SYSTEM && typeof value === 'string' && GLOBAL_VALUE.test(value);
}
