/**
 * Deterministic business identifiers (Kanta PHR requires a globally unique `identifier`): a UUID v5
 * from a fixed namespace and the natural key `<local id system>|<local id>`. The same domain object
 * always gets the same identifier, so re-sending it is a conditional-create no-op.
 */
import type { Identifier, Reference } from '@medplum/fhirtypes';
import { v5 as uuidv5, validate as isUuid } from 'uuid';
import { type FhirKind, MAP } from './config.ts';

const NAMESPACE = uuidv5(MAP.identifiers.uuidNamespaceName, uuidv5.URL);

export interface IdentityOptions {
  /** Base of the systems under which the vendor's local ids are recorded (one system per kind). */
  localIdSystemBase?: string;
}

export function localIdSystem(kind: FhirKind, opts?: IdentityOptions): string {
  return `${opts?.localIdSystemBase ?? MAP.identifiers.localIdSystemBase}/${kind}`;
}

/**
 * The UUID of a domain object. Self-assessment ids are UUIDs already and are used as they are
 * (a QuestionnaireResponse has room for one identifier only).
 */
export function businessUuid(kind: FhirKind, id: string, opts?: IdentityOptions): string {
  if (kind === 'selfAssessment' && isUuid(id)) return id.toLowerCase();
  return uuidv5(`${localIdSystem(kind, opts)}|${id}`, NAMESPACE);
}

export function fullUrl(kind: FhirKind, id: string, opts?: IdentityOptions): string {
  return `urn:uuid:${businessUuid(kind, id, opts)}`;
}

export function identifiers(kind: FhirKind, id: string, opts?: IdentityOptions): Identifier[] {
  const business: Identifier = { system: MAP.identifiers.business, value: fullUrl(kind, id, opts) };
  if (kind === 'selfAssessment') return [business];
  return [business, { system: localIdSystem(kind, opts), value: id }];
}

/** A reference inside the Bundle (urn:uuid) that also names the target's local id, so it survives the server. */
export function reference(kind: FhirKind, id: string, opts?: IdentityOptions): Reference<any> {
  return {
    reference: fullUrl(kind, id, opts),
    type: MAP.kinds[kind].resourceType as Reference['type'],
    identifier:
      kind === 'selfAssessment'
        ? { system: MAP.identifiers.business, value: fullUrl(kind, id, opts) }
        : { system: localIdSystem(kind, opts), value: id },
  };
}

/** The domain id recorded in a resource's identifiers: the local id, else the business UUID. */
export function localIdOf(kind: FhirKind, ids: Identifier[] | undefined, opts?: IdentityOptions): string | undefined {
  const system = localIdSystem(kind, opts);
  const local = ids?.find((i) => i.system === system)?.value;
  if (local !== undefined) return local;
  const business = ids?.find((i) => i.system === MAP.identifiers.business)?.value;
  return business?.startsWith('urn:uuid:') ? business.slice('urn:uuid:'.length) : undefined;
}
