/**
 * Stored FHIR resources → the related objects (`RelatedObjects`) a domain rule reads about an object
 * outside the one validated: a Consent's terms, a PractitionerRole's role, under the local ids the
 * validated object names them by. Only what the rules read is read, as the disclosure reader does, so
 * a resource whose other references point elsewhere (written through `/fhir`, pulled by the sync)
 * still serves.
 */
import type { Consent, PractitionerRole } from '@medplum/fhirtypes';
import type { CareTeamRole, RelatedObjects } from '../domain/index.ts';
import { FhirError, issue } from '../shared/outcome.ts';
import { MAP } from './config.ts';
import { consentForDisclosure } from './consent-reader.ts';
import { codeFrom } from './terminology.ts';

/** One stored resource found for a domain object's link: its local id, and the field that names it. */
export interface FoundRelated<T> {
  id: string;
  resource: T;
  /** The linking field (`Referral.consentId`): what an unreadable resource is reported on. */
  field: string;
}

/**
 * The related objects of the resources found. A Consent that cannot be read as given (neither active
 * nor withdrawn, a narrowed permit: what `consentForDisclosure` refuses) is a 422 on the linking field
 * — a rule on whether it is in force cannot be answered for it; a PractitionerRole without a role of
 * ours gives no role (the rule does not apply).
 */
export function relatedFromFhir(found: {
  consents?: FoundRelated<Consent>[];
  professionals?: FoundRelated<PractitionerRole>[];
}): RelatedObjects {
  const consents = (found.consents ?? []).map(({ id, resource, field }) => {
    try {
      const { period, withdrawnOn } = consentForDisclosure(resource);
      return withdrawnOn === undefined ? { id, period } : { id, period, withdrawnOn };
    } catch (err) {
      if (!(err instanceof FhirError)) throw err;
      const why = err.outcome.issue?.[0]?.diagnostics ?? 'unreadable';
      throw FhirError.unprocessable(
        issue('error', 'invalid', `${field}: the Consent it names cannot be read: ${why}`, field),
      );
    }
  });
  const professionals = (found.professionals ?? []).flatMap(({ id, resource }) => {
    const role = codeFrom(resource.code?.[0], MAP.codedFields.careTeamRole!) as CareTeamRole | undefined;
    return role === undefined ? [] : [{ id, role }];
  });
  return { consents, professionals };
}
