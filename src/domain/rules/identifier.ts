/**
 * A globally unique business identifier, as Kanta requires one on every resource: a `urn:uuid:`
 * (lower case, as FHIR writes UUIDs) or `urn:oid:` value under system `urn:ietf:rfc:3986`. The profile
 * invariant `tyk-id-1` states the same (and also counts a client's HETU);
 * tests/domain/hetu-invariant.test.ts proves both (and the validator's native path) agree on one case table.
 */
import { isUrnUuid } from '../../shared/references.ts';

export const GLOBAL_IDENTIFIER_SYSTEM = 'urn:ietf:rfc:3986';

const URN_OID = /^urn:oid:[0-2](?:\.(?:0|[1-9]\d*))+$/;

/** Whether `system|value` is a globally unique business identifier. */
export function isGlobalIdentifier(system: unknown, value: unknown): boolean {
  return (
    system === GLOBAL_IDENTIFIER_SYSTEM &&
    typeof value === 'string' &&
    (isUrnUuid(value) || URN_OID.test(value))
  );
}
