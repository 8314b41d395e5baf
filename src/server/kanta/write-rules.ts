// What Kanta PHR asks of every write, besides profile conformance: a `fiphr-*` profile for the type in
// meta.profile, `language`, `text` in that language and a globally unique business identifier.
import type { Resource, StructureDefinition } from '@medplum/fhirtypes';
import { FhirError, hasErrors, issue } from '../../shared/outcome.ts';
import type { FacadeValidator } from '../ports.ts';

export const KANTA_SD_PREFIX = 'http://phr.kanta.fi/StructureDefinition/fiphr-';
/** Identifier systems that make a value globally unique (RFC 3986 URIs such as urn:uuid / urn:oid). */
const GLOBAL_SYSTEM = 'urn:ietf:rfc:3986';

export interface KantaWriteRules {
  check(resource: Resource, at?: string): void;
}

/** The `fiphr-*` profiles we hold, by the resource type they constrain. */
function profilesByType(validator: FacadeValidator): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const sd of validator.registry.all<StructureDefinition>('StructureDefinition')) {
    if (!sd.url?.startsWith(KANTA_SD_PREFIX) || sd.kind !== 'resource' || !sd.type) continue;
    const set = out.get(sd.type) ?? new Set<string>();
    set.add(sd.url);
    out.set(sd.type, set);
  }
  return out;
}

function langOf(div: string): string | undefined {
  return /^<div\b[^>]*\b(?:xml:)?lang="([^"]+)"/.exec(div)?.[1];
}

function declaredProfile(r: Resource, kanta: Set<string> | undefined, at: string): void {
  const declared = r.meta?.profile ?? [];
  if (!declared.some((p) => kanta?.has(p.split('|')[0]))) {
    const allowed = kanta ? [...kanta].sort().join(', ') : 'none';
    throw FhirError.unprocessable(
      issue(
        'error',
        'required',
        `kanta-profile: meta.profile must name a Kanta PHR profile for ${r.resourceType} (${allowed})`,
        `${at}.meta.profile`,
      ),
    );
  }
}

function languageAndText(r: Resource & { text?: { div?: string } }, at: string): void {
  if (!r.language) {
    throw FhirError.unprocessable(
      issue('error', 'required', 'kanta-language: language is mandatory', `${at}.language`),
    );
  }
  const div = r.text?.div;
  if (!div) {
    throw FhirError.unprocessable(
      issue('error', 'required', 'kanta-text: text (narrative) is mandatory', `${at}.text`),
    );
  }
  const lang = langOf(div);
  if (lang !== undefined && lang.toLowerCase() !== r.language.toLowerCase()) {
    throw FhirError.unprocessable(
      issue(
        'error',
        'invariant',
        `kanta-text: narrative is in '${lang}' but language is '${r.language}'`,
        `${at}.text.div`,
      ),
    );
  }
}

interface Ident {
  system?: string;
  value?: string;
}

/** A resource's identifiers, whether the type has one or many. */
function identifiersOf(r: Resource): Ident[] {
  const v = (r as { identifier?: Ident | Ident[] }).identifier;
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function businessIdentifier(r: Resource, at: string): void {
  const ok = identifiersOf(r).some(
    (i) => i.system === GLOBAL_SYSTEM && /^urn:(uuid|oid):/.test(i.value ?? ''),
  );
  if (!ok) {
    throw FhirError.unprocessable(
      issue(
        'error',
        'required',
        `kanta-identifier: at least one globally unique business identifier (system ${GLOBAL_SYSTEM}, value urn:uuid:… or urn:oid:…) is mandatory`,
        `${at}.identifier`,
      ),
    );
  }
}

export function createKantaWriteRules(validator: FacadeValidator): KantaWriteRules {
  const profiles = profilesByType(validator);
  return {
    check(resource, at = resource.resourceType) {
      declaredProfile(resource, profiles.get(resource.resourceType), at);
      const oo = validator.validate(resource);
      if (hasErrors(oo)) {
        const errors = (oo.issue ?? []).filter((i) => i.severity === 'error' || i.severity === 'fatal');
        throw FhirError.unprocessable(errors);
      }
      languageAndText(resource, at);
      businessIdentifier(resource, at);
    },
  };
}

/** The first global business identifier as a search token `system|value`. */
export function identifierToken(r: Resource): string | undefined {
  const id = identifiersOf(r).find((i) => i.system === GLOBAL_SYSTEM && i.value);
  return id ? `${id.system}|${id.value}` : undefined;
}
