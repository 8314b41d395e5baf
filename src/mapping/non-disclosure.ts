import type { Coding, Patient, Resource } from '@medplum/fhirtypes';
import { MAP } from './config.ts';
import { sentence } from './narrative.ts';
import { languageOf } from './terminology.ts';

/** The security label a redacted copy carries (HL7 v3 ObservationValue REDACTED). */
export const REDACTED_LABEL: Coding = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'REDACTED',
  display: 'redacted',
};

/**
 * The label of a resource restricted in whom it may reach (HL7 v3 Confidentiality R): on Kanta PHR
 * the citizen's choice to keep a resource out of professionals' view, carried over to the local copy.
 * The label written here names the CodeSystem by its R4 URI; `isRestrictedLabel` reads either URI.
 */
export const RESTRICTED_LABEL = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality',
  code: 'R',
} as const;

/**
 * The restriction as Kanta PHR's ValueSet fiphr-vs-confidentiality names it: R of v3 Confidentiality
 * under the CodeSystem's pre-R4 URI (`http://hl7.org/fhir/v3/Confidentiality`, codes R and U). What
 * the sync sends to Kanta PHR carries this coding.
 */
export const KANTA_RESTRICTED_LABEL = {
  system: 'http://hl7.org/fhir/v3/Confidentiality',
  code: RESTRICTED_LABEL.code,
} as const;

/** The URIs of the v3 Confidentiality CodeSystem, R4's and Kanta's: R under either is the restriction. */
const CONFIDENTIALITY_SYSTEMS: readonly unknown[] = [RESTRICTED_LABEL.system, KANTA_RESTRICTED_LABEL.system];

/** Whether a security label is the restriction label (R of v3 Confidentiality, under either URI). */
export const isRestrictedLabel = (label: { system?: unknown; code?: unknown }): boolean =>
  CONFIDENTIALITY_SYSTEMS.includes(label.system) && label.code === RESTRICTED_LABEL.code;

/** Whether a security label is the REDACTED label: the resource is a copy with details removed. */
export const isRedactedLabel = (label: { system?: unknown; code?: unknown }): boolean =>
  label.system === REDACTED_LABEL.system && label.code === REDACTED_LABEL.code;

/** Does this resource carry the restriction label (v3 Confidentiality R)? */
export function isRestricted(resource: Resource): boolean {
  const labels: unknown = resource.meta?.security;
  return (
    Array.isArray(labels) &&
    labels.some((l) => typeof l === 'object' && l !== null && isRestrictedLabel(l as Coding))
  );
}

/** Does this Patient carry the turvakielto (non-disclosure for personal safety) label? */
export function hasNonDisclosure(resource: Resource): boolean {
  return (
    resource.resourceType === 'Patient' &&
    (resource.meta?.security ?? []).some(
      (s) => s.system === MAP.nonDisclosure.system && s.code === MAP.nonDisclosure.code,
    )
  );
}

/**
 * A copy of `resource` without what turvakielto protects: for a labelled Patient, every address,
 * telecom and the home municipality go (also from contacts), the narrative (which repeats them) is
 * replaced by a notice, and `meta.security` gains REDACTED. Anything else is returned unchanged.
 * The facade applies this on reads for clients without the turvakielto scope; the sync must apply
 * it to what it discloses to a party.
 */
export function redactNonDisclosed<T extends Resource>(resource: T): T {
  return hasNonDisclosure(resource) ? redactPatient(resource) : resource;
}

/**
 * A Patient redacted as turvakielto asks, whether or not this version carries the label: an earlier
 * version of a client who has turvakielto now shows what the label protects as much as the current one.
 */
export function redactPatient<T extends Resource>(resource: T): T {
  if (resource.resourceType !== 'Patient') return resource;
  const p = resource as Patient;
  const { address: _a, telecom: _t, extension: _e, ...rest } = p;
  const redacted: Patient = {
    ...rest,
    meta: { ...p.meta, security: withRedactedLabel(p.meta?.security ?? []) },
    // The narrative showed the removed details: replaced by a notice in the record's language.
    ...(p.text ? { text: sentence('nonDisclosureRedacted', languageOf(p.language)) } : {}),
  };
  const extension = p.extension?.filter((e) => e.url !== MAP.extensions.municipality);
  if (extension?.length) redacted.extension = extension;
  if (p.contact) redacted.contact = p.contact.map(({ address: _ca, telecom: _ct, ...c }) => c);
  return redacted as T;
}

/** The labels with REDACTED once: a copy redacted again (a pulled or forwarded one) gains no second. */
function withRedactedLabel(security: Coding[]): Coding[] {
  return security.some(isRedactedLabel) ? security : [...security, REDACTED_LABEL];
}
