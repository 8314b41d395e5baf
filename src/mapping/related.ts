/**
 * Stored FHIR resources → the related objects (`RelatedObjects`) a domain rule reads about an object
 * outside the one validated, or its mapping names: a Consent's terms, a PractitionerRole's role and
 * name, a stored consent's receiving organisations, under the local ids the
 * validated object names them by. Only what the rules read is read, as the disclosure reader does, so
 * a resource whose other references point elsewhere (written through `/fhir`, pulled by the sync)
 * still serves.
 */
import type { Consent, Identifier, PractitionerRole, Reference, Resource } from '@medplum/fhirtypes';
import type { CareTeamRole, ConsentParty, RelatedObjects } from '../domain/index.ts';
import { FhirError, issue } from '../shared/outcome.ts';
import { MAP } from './config.ts';
import { consentForDisclosure } from './consent-reader.ts';
import { localIdOf } from './identity.ts';
import { codeFrom } from './terminology.ts';

/** One stored resource found for a domain object's link: its local id, and the field that names it. */
export interface FoundRelated<T> {
  id: string;
  resource: T;
  /** The linking field (`Referral.consentId`): what an unreadable resource is reported on. */
  field: string;
  /** Whose it is (the local id of its client), when the reader knows: the `reference` rule reads it. */
  clientId?: string;
}

/**
 * The related objects of the resources found. A Consent that cannot be read as given (neither active
 * nor withdrawn, a narrowed permit: what `consentForDisclosure` refuses) is a 422 on the linking field
 * — a rule on whether it is in force cannot be answered for it; a PractitionerRole gives its role
 * when it has one of ours (else the requester rule does not apply) and the professional's name.
 * `actorsOf`, a stored version of the consent being written, gives the organisations its receiving
 * parties were linked to, so a new version names them as the stored one does; each by the domain id
 * its reference's identifier names (`localIdOf`), else (another sender's local id) the one its
 * target, as `resolve` gives it, has.
 */
export function relatedFromFhir(found: {
  consents?: FoundRelated<Consent>[];
  professionals?: FoundRelated<PractitionerRole>[];
  actorsOf?: Consent;
  resolve?: (ref: Reference) => Resource | undefined;
}): RelatedObjects {
  const consents = (found.consents ?? []).map(({ id, resource, field, clientId }) => {
    try {
      const { period, withdrawnOn } = consentForDisclosure(resource);
      return {
        id,
        period,
        ...(withdrawnOn === undefined ? {} : { withdrawnOn }),
        ...(clientId === undefined ? {} : { clientId }),
      };
    } catch (err) {
      if (!(err instanceof FhirError)) throw err;
      const why = err.outcome.issue?.[0]?.diagnostics ?? 'unreadable';
      throw FhirError.unprocessable(
        issue('error', 'invalid', `${field}: the Consent it names cannot be read: ${why}`, field),
      );
    }
  });
  const professionals = (found.professionals ?? []).map(({ id, resource }) => {
    const role = codeFrom(resource.code?.[0], MAP.codedFields.careTeamRole!) as CareTeamRole | undefined;
    const name = resource.practitioner?.display;
    return { id, ...(role === undefined ? {} : { role }), ...(name === undefined ? {} : { name }) };
  });
  return {
    consents,
    professionals,
    ...(found.actorsOf ? { organizations: actorOrganizations(found.actorsOf, found.resolve) } : {}),
  };
}

/** The organisations a Consent's actors name, by domain id, with the receiving party each acts as. */
function actorOrganizations(
  consent: Consent,
  resolve?: (ref: Reference) => Resource | undefined,
): { id: string; party: ConsentParty }[] {
  return (consent.provision?.actor ?? []).flatMap((actor) => {
    const ext = actor.extension?.find((e) => e.url === MAP.extensions.consentReceivingParty);
    const party = codeFrom(ext?.valueCodeableConcept, MAP.codedFields.consentParty!) as
      | ConsentParty
      | undefined;
    const ref = actor.reference;
    const target = ref && resolve?.(ref);
    const id =
      (ref?.identifier && localIdOf('organization', [ref.identifier])) ??
      (target?.resourceType === 'Organization'
        ? localIdOf('organization', (target as { identifier?: Identifier[] }).identifier)
        : undefined);
    return party && id ? [{ id, party }] : [];
  });
}
