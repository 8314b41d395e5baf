/**
 * Whether a reference in a Consent or Goal names the resource's own client (Consent.patient,
 * Goal.subject): a consent's performer or a goal's setter that is the client says what the domain
 * holds; anyone else does not. Compared as the reader compares client references: by the domain id
 * each names (its identifier, else the resolved target's identifiers); a reference that names none
 * matches only the same literal reference.
 */
import type { Identifier, Reference, Resource } from '@medplum/fhirtypes';
import type { FhirKind } from './config.ts';
import { type IdentityOptions, localIdOf } from './identity.ts';

/** How the reader finds a reference's target and the systems of its local ids. */
export interface ReferenceOptions extends IdentityOptions {
  resolve?: (reference: Reference) => Resource | undefined;
}

/** The element holding the client of a resource whose references may name its own client. */
const CLIENT_ELEMENT: Partial<Record<FhirKind, string>> = { consent: 'patient', goal: 'subject' };

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The type a literal reference names (`Type/id`, also absolute), if it names one. */
export function referencedType(reference: string | undefined): string | undefined {
  const m =
    reference && /(?:^|\/)([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[^/]+)?$/.exec(reference);
  return m ? m[1] : undefined;
}

/** The resource type `ref` names or resolves to, if it can be told. */
export function typeOfReference(ref: Reference, opts: ReferenceOptions): string | undefined {
  return ref.type ?? referencedType(ref.reference) ?? opts.resolve?.(ref)?.resourceType;
}

/** The client id `ref` names: its identifier, else its resolved Patient's identifiers. */
function clientIdOf(ref: Reference, opts: ReferenceOptions): string | undefined {
  const own = ref.identifier && localIdOf('client', [ref.identifier], opts);
  if (own) return own;
  const target = opts.resolve?.(ref);
  if (target?.resourceType !== 'Patient') return undefined;
  return localIdOf('client', (target as { identifier?: Identifier[] }).identifier, opts);
}

/** Whether `ref` (in `resource`, of `kind`) names the resource's own client. */
export function namesOwnClient(
  kind: FhirKind,
  resource: unknown,
  ref: unknown,
  opts: ReferenceOptions,
): boolean {
  const element = CLIENT_ELEMENT[kind];
  const own = element && isObject(resource) ? resource[element] : undefined;
  if (!isObject(own) || !isObject(ref)) return false;
  const type = typeOfReference(ref as Reference, opts);
  if (type !== undefined && type !== 'Patient') return false;
  const [a, b] = [clientIdOf(own as Reference, opts), clientIdOf(ref as Reference, opts)];
  if (a !== undefined || b !== undefined) return a === b;
  return typeof ref.reference === 'string' && ref.reference === own.reference;
}
