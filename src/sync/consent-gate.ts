import type { Consent, Resource } from '@medplum/fhirtypes';
import {
  type ConsentDataClass,
  type ConsentParty,
  type ConsentTerms,
  isDisclosurePermitted,
} from '../domain/index.ts';
import { consentForDisclosure, isRestricted } from '../mapping/index.ts';

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

/**
 * The SDK's consent rule (`isDisclosurePermitted`) over the client's FHIR Consents read with the SDK's
 * `consentForDisclosure`. A Consent that is not active, or that cannot be read, permits nothing; its
 * reason is reported.
 */
export const sdkDisclosureRule: DisclosureRule = (consents, party, dataClass, date) => {
  const readable: ConsentTerms[] = [];
  const refusals: { id?: string; why: string }[] = [];
  for (const c of consents) {
    if (c.status !== 'active') {
      refusals.push({ id: c.id, why: `consent Consent/${c.id} is ${c.status} (withdrawn)` });
      continue;
    }
    try {
      readable.push(consentForDisclosure(c));
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

/** The data class a client's identity needs: without it nothing about the client is disclosed. */
export const IDENTITY_CLASS = 'identification';

/** A decision with the local ids of the Consents that permitted it. */
export interface ClientDisclosure {
  permitted: boolean;
  reason: string;
  consents: string[];
  /** Refused for the resource's restriction label: no consent will change that for this version. */
  restricted?: true;
}

/** Why a resource labelled restricted goes to no receiving party, whatever the consent. */
export const RESTRICTED_NOT_DISCLOSED =
  'restricted (meta.security v3 Confidentiality R): not disclosed to a receiving party';

/**
 * The disclosure rule for one resource of a client, shared by the sync's push and the facade's reads
 * for a party: a resource labelled restricted (on Kanta PHR, the citizen's choice) goes to no party;
 * then the client's `identification` — without it nothing that refers to the client goes, not even
 * the client's Consents — then the resource family's own data class (`null` for the Consents, which
 * need no other). `decide` answers for one data class of this client.
 */
export async function clientDisclosure(
  decide: (dataClass: string) => ClientDisclosure | Promise<ClientDisclosure>,
  resource: Resource,
  dataClass: string | null,
): Promise<ClientDisclosure> {
  if (isRestricted(resource))
    return { permitted: false, reason: RESTRICTED_NOT_DISCLOSED, consents: [], restricted: true };
  const resourceType = resource.resourceType;
  const identity = await decide(IDENTITY_CLASS);
  if (!identity.permitted) {
    if (resourceType === 'Patient') return identity;
    return {
      permitted: false,
      reason: `${identity.reason}; the client's Patient may not be disclosed, so nothing referring to the client is disclosed`,
      consents: identity.consents,
    };
  }
  if (!dataClass || dataClass === IDENTITY_CLASS) return identity;
  const own = await decide(dataClass);
  return { ...own, consents: [...new Set([...identity.consents, ...own.consents])] };
}
