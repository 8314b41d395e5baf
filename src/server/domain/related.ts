import type { Consent, PractitionerRole, Resource } from '@medplum/fhirtypes';
import {
  type DomainKind,
  GLOBAL_IDENTIFIER_SYSTEM,
  type Referral,
  type RelatedObjects,
  validateDomain,
} from '../../domain/index.ts';
import { fullUrl, relatedFromFhir } from '../../mapping/index.ts';
import type { FacadeStore } from '../ports.ts';

/**
 * The objects outside a domain object sent alone that its rules read (`RelatedObjects`), from the
 * caller's store: for a referral, its consent and its requester, found by the business identifier
 * the transaction's conditional references resolve them by. `undefined` for kinds without such rules.
 * One not found (or not readable by the caller) is left out: the write then fails on its reference.
 */
export async function relatedFromStore(
  store: FacadeStore,
  kind: DomainKind,
  value: unknown,
): Promise<RelatedObjects | undefined> {
  if (kind !== 'referral') return undefined;
  // The shape first: a malformed referral is a 400 naming its field before the store is asked.
  const referral: Referral = validateDomain('referral', value);
  const [consent, requester] = await Promise.all([
    byBusinessId<Consent>(store, 'Consent', fullUrl('consent', referral.consentId)),
    byBusinessId<PractitionerRole>(store, 'PractitionerRole', fullUrl('professional', referral.requesterId)),
  ]);
  return relatedFromFhir({
    consents: consent ? [{ id: referral.consentId, resource: consent, field: 'Referral.consentId' }] : [],
    professionals: requester
      ? [{ id: referral.requesterId, resource: requester, field: 'Referral.requesterId' }]
      : [],
  });
}

/** The one current resource of `type` with this business identifier, as the caller may read it. */
async function byBusinessId<T extends Resource>(
  store: FacadeStore,
  type: string,
  value: string,
): Promise<T | undefined> {
  const found = await store.search(type, { identifier: `${GLOBAL_IDENTIFIER_SYSTEM}|${value}`, _count: '2' });
  return found.resources.length === 1 ? (found.resources[0] as T) : undefined;
}
