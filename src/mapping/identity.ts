/**
 * Deterministic business identifiers (Kanta PHR requires a globally unique `identifier`): a UUID v5
 * from a fixed namespace and the natural key `<local id system>|<local id>`. The same domain object
 * always gets the same identifier, so re-sending it is a conditional-create no-op.
 */
import { createHash } from 'node:crypto';
import type { Identifier, Reference } from '@medplum/fhirtypes';
import { validate as isUuid, parse as parseUuid, v5 as uuidv5 } from 'uuid';
import { type FhirKind, MAP } from './config.ts';

/** The project's UUID v5 namespace: v5 of the canonical base in the URL namespace. */
export const NAMESPACE = uuidv5(MAP.identifiers.uuidNamespaceName, uuidv5.URL);
const NAMESPACE_BYTES = Buffer.from(parseUuid(NAMESPACE));

/**
 * RFC 9562 UUID v5 (SHA-1 of namespace + name). The `uuid` package gives the same result (a test
 * checks it); this variant hashes the UTF-8 name directly, which is several times faster on the
 * mapping's hot path.
 */
export function uuidV5(name: string): string {
  const h = createHash('sha1').update(NAMESPACE_BYTES).update(name, 'utf8').digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export interface IdentityOptions {
  /** Base of the systems under which the vendor's local ids are recorded (one system per kind). */
  localIdSystemBase?: string;
  /** Memo of UUIDs computed during one mapping call (internal). */
  uuidMemo?: Map<string, string>;
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
  const name = `${localIdSystem(kind, opts)}|${id}`;
  const memo = opts?.uuidMemo;
  let uuid = memo?.get(name);
  if (uuid === undefined) {
    uuid = uuidV5(name);
    memo?.set(name, uuid);
  }
  return uuid;
}

/**
 * Keys of the resources a domain object yields besides its own: '/' cannot occur in a local id, so
 * the key splits back unambiguously.
 */
export function goalKey(planId: string, goalId: string): string {
  return `${planId}/${goalId}`;
}
export function scoreKey(assessmentId: string, method: string): string {
  return `${assessmentId}/${method}`;
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
  const url = fullUrl(kind, id, opts);
  return {
    reference: url,
    type: MAP.kinds[kind].resourceType as Reference['type'],
    identifier:
      kind === 'selfAssessment'
        ? { system: MAP.identifiers.business, value: url }
        : { system: localIdSystem(kind, opts), value: id },
  };
}

/** The domain id recorded in a resource's identifiers: the local id, else the business UUID. */
export function localIdOf(
  kind: FhirKind,
  ids: Identifier[] | undefined,
  opts?: IdentityOptions,
): string | undefined {
  const system = localIdSystem(kind, opts);
  const local = ids?.find((i) => i.system === system)?.value;
  if (local !== undefined) return local;
  const business = ids?.find((i) => i.system === MAP.identifiers.business)?.value;
  return business?.startsWith('urn:uuid:') ? business.slice('urn:uuid:'.length) : undefined;
}
