// What Kanta PHR asks of every write, besides profile conformance: a `fiphr-*` profile for the type in
// meta.profile, `language`, `text` in that language and a globally unique business identifier.
import type { Resource, StructureDefinition } from '@medplum/fhirtypes';
import { GLOBAL_IDENTIFIER_SYSTEM, isGlobalIdentifier } from '../../domain/index.ts';
import { FhirError, hasErrors, isErrorIssue, issue } from '../../shared/outcome.ts';
import { STORE_WRITE_CHECKS } from '../../shared/store-write-checks.ts';
import { narrativeLanguageAttribute } from '../../validation/index.ts';
import type { FacadeValidator } from '../ports.ts';

export const KANTA_SD_PREFIX = 'http://phr.kanta.fi/StructureDefinition/fiphr-';

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

function declaredProfile(r: Resource, kanta: Set<string> | undefined, at: string): void {
  // Read before the validator has judged the shape: anything but an array of strings declares nothing.
  const profile: unknown = (r.meta as { profile?: unknown } | undefined)?.profile;
  const declared = Array.isArray(profile) ? profile.filter((p): p is string => typeof p === 'string') : [];
  if (!declared.some((p) => kanta?.has(p.split('|')[0] as string))) {
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
  for (const name of ['lang', 'xml:lang'] as const) {
    const lang = narrativeLanguageAttribute(div, name);
    if (lang !== undefined && lang.toLowerCase() !== r.language.toLowerCase()) {
      throw FhirError.unprocessable(
        issue(
          'error',
          'invariant',
          `kanta-text: narrative is in '${lang}' (${name}) but language is '${r.language}'`,
          `${at}.text.div`,
        ),
      );
    }
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
  if (!identifiersOf(r).some((i) => isGlobalIdentifier(i.system, i.value))) {
    throw FhirError.unprocessable(
      issue(
        'error',
        'required',
        `kanta-identifier: at least one globally unique business identifier (system ${GLOBAL_IDENTIFIER_SYSTEM}, value urn:uuid:<lower-case UUID> or urn:oid:<OID>) is mandatory`,
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
      // Judged as every write to a store here (STORE_WRITE_CHECKS): every reference's type, resolved
      // here or not (Kanta's QuestionnaireResponse author and source are the PHR Patient, nothing
      // else), and no message quoting the citizen's values.
      const oo = validator.validate(resource, STORE_WRITE_CHECKS);
      if (hasErrors(oo)) {
        const errors = (oo.issue ?? []).filter(isErrorIssue);
        throw FhirError.unprocessable(errors);
      }
      languageAndText(resource, at);
      businessIdentifier(resource, at);
    },
  };
}

/** The first global business identifier as a search token `system|value`. */
export function identifierToken(r: Resource): string | undefined {
  const id = identifiersOf(r).find((i) => isGlobalIdentifier(i.system, i.value));
  return id ? `${id.system}|${id.value}` : undefined;
}
