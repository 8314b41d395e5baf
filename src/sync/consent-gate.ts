import type { Consent, Reference, Resource } from '@medplum/fhirtypes';
import { type ConsentDataClass, type ConsentParty, isDisclosurePermitted } from '../domain/index.ts';
import { fromFhir } from '../mapping/index.ts';

export interface DisclosureDecision {
  permitted: boolean;
  reason: string;
  consentId?: string;
}

/** Decides whether `consents` permit disclosing `dataClass` to `party` on `date` (YYYY-MM-DD). */
export type DisclosureRule = (
  consents: Consent[],
  party: string,
  dataClass: string,
  date: string,
) => DisclosureDecision;

// The rule looks at parties, data classes, period and withdrawal, never at who the client or the
// recording organisation is: references are resolved to a placeholder identity just for reading.
const PLACEHOLDER: Resource = {
  resourceType: 'Basic',
  code: { text: 'placeholder' },
  identifier: [{ system: 'urn:ietf:rfc:3986', value: 'urn:uuid:00000000-0000-5000-8000-000000000000' }],
} as Resource;
const resolve = (_ref: Reference) => PLACEHOLDER;

/**
 * The SDK's consent rule (`isDisclosurePermitted`) over the client's FHIR Consents read through the
 * SDK (`fromFhir`). A Consent that is not active, or that the SDK cannot read, permits nothing; its
 * reason is reported.
 */
export const sdkDisclosureRule: DisclosureRule = (consents, party, dataClass, date) => {
  const readable = [];
  const refusals: { id?: string; why: string }[] = [];
  for (const c of consents) {
    if (c.status !== 'active') {
      refusals.push({ id: c.id, why: `consent Consent/${c.id} is ${c.status} (withdrawn)` });
      continue;
    }
    try {
      const forReading = {
        ...c,
        organization: c.organization?.length ? c.organization : [{ display: 'unknown' }],
      };
      const read = fromFhir(forReading, { validate: false, resolve });
      if (read.kind === 'consent') readable.push({ ...read.value, id: `Consent/${c.id}` });
    } catch (err) {
      refusals.push({ id: c.id, why: `consent Consent/${c.id} cannot be read: ${(err as Error).message}` });
    }
  }
  if (!readable.length && !refusals.length) return { permitted: false, reason: 'no consent recorded' };
  const decision = isDisclosurePermitted(
    readable,
    party as ConsentParty,
    dataClass as ConsentDataClass,
    date,
  );
  if (decision.permitted) return { ...decision, consentId: decision.consentId?.replace(/^Consent\//, '') };
  const reasons = [...refusals.map((r) => r.why), ...(readable.length ? [decision.reason] : [])];
  return {
    permitted: false,
    reason: reasons.join('; '),
    consentId: decision.consentId?.replace(/^Consent\//, '') ?? refusals[0]?.id,
  };
};
