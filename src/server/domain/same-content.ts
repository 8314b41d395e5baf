import type { Resource } from '@medplum/fhirtypes';
import { REDACTED_LABEL, redactNonDisclosed } from '../../mapping/index.ts';

/**
 * Whether `incoming` says nothing `stored` does not: equal apart from id/meta and reference strings
 * (the SDK's references also carry the target's identifier, which stays compared), whatever the key
 * order (rows stored before store-005 have jsonb's).
 *
 * A caller without the turvakielto scope finds a turvakielto client's Patient as the redacted copy it
 * may read (REDACTED label: no address, telecom, municipality or narrative). Its re-send is compared
 * as the same redaction of what it sends (`redactNonDisclosed`, the function the guard redacts with),
 * so an unchanged record is unchanged for it too. This opens no probe of the hidden fields: they are
 * gone from both sides before the comparison, so the answer (unchanged: 200 with the redacted copy;
 * changed: an update, which the guard refuses with sec-tk-1 whatever it holds) is the same whether
 * the hidden values sent equal the stored ones or not. A 403 only when they differed would let a
 * caller test guesses. The price: such a caller's change to a hidden field alone is not written (it
 * may not write that Patient at all); the answer's REDACTED copy says what was compared. A re-send
 * without the turvakielto label is not redacted, so it differs and is refused as any change is.
 * (A Patient stored as a redacted copy — a party's facade holds what the sync disclosed to it — is
 * compared the same way for every caller: what the copy lacks is not written over it by a re-send.)
 */
export function sameContent(stored: Resource, incoming: Resource): boolean {
  const compared = isRedactedCopy(stored) ? redactNonDisclosed(incoming) : incoming;
  const { id: _a, meta: _b, ...left } = stored;
  const { id: _c, meta: _d, ...right } = compared;
  return stable(left) === stable(right);
}

/** Whether `resource` is a copy redacted for its reader (it carries the REDACTED label). */
export function isRedactedCopy(resource: Resource): boolean {
  return (resource.meta?.security ?? []).some(
    (s) => s.system === REDACTED_LABEL.system && s.code === REDACTED_LABEL.code,
  );
}

/**
 * JSON with sorted keys and without reference strings (`Reference.reference`, which the store has
 * rewritten to `Type/id`). Only a string `reference` goes: `Consent.provision.actor.reference` is a
 * Reference object, whose target (identifier, display) is compared.
 */
function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => !(k === 'reference' && typeof obj[k] === 'string'))
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stable(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
