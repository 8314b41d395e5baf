// What Kanta PHR asks of every write: the validation every store write here gets, and for the
// citizen-data types a `fiphr-*` profile for the type in meta.profile (at a version held here),
// `language`, `text` in that language and a globally unique business identifier.
import type { OperationOutcomeIssue, Reference, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { GLOBAL_IDENTIFIER_SYSTEM, isGlobalIdentifier, maskHetus } from '../../domain/index.ts';
import { FhirError, hasErrors, isErrorIssue, issue } from '../../shared/outcome.ts';
import { STORE_WRITE_CHECKS } from '../../shared/store-write-checks.ts';
import { narrativeLanguages } from '../../validation/index.ts';
import type { FacadeValidator } from '../ports.ts';
import { identifiersOf } from './identifiers.ts';
import { whoOf } from './update-rules.ts';

export const KANTA_SD_PREFIX = 'http://phr.kanta.fi/StructureDefinition/fiphr-';

export interface KantaWriteRules {
  /**
   * Refuses `resource` (reported at `at`) with the first rule it breaks; `base` is the base URL the
   * sandbox serves, under which an absolute reference names what the relative one does.
   */
  check(resource: Resource, at?: string, base?: string): void;
}

/**
 * Conformance resources: no citizen data, so none of Kanta's citizen-data rules (profile, language,
 * text, business identifier) — but the validation of every write all the same.
 */
const CONFORMANCE_TYPES = new Set(['ValueSet', 'StructureDefinition', 'CodeSystem']);

/**
 * The `fiphr-*` profiles we hold, by the resource type they constrain — the concrete ones only: an
 * abstract profile (`fiphr-sd-fitness`, `fiphr-sd-nutrition`) is a base for others, and no instance
 * may declare it as its own.
 */
function profilesByType(validator: FacadeValidator): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const sd of validator.registry.all<StructureDefinition>('StructureDefinition')) {
    if (!sd.url?.startsWith(KANTA_SD_PREFIX) || sd.kind !== 'resource' || !sd.type || sd.abstract) continue;
    const set = out.get(sd.type) ?? new Set<string>();
    set.add(sd.url);
    out.set(sd.type, set);
  }
  return out;
}

function declaredProfile(
  validator: FacadeValidator,
  r: Resource,
  kanta: Set<string> | undefined,
  at: string,
): void {
  // Read before the validator has judged the shape: anything but an array of strings declares nothing.
  const profile: unknown = (r.meta as { profile?: unknown } | undefined)?.profile;
  const declared = Array.isArray(profile) ? profile.filter((p): p is string => typeof p === 'string') : [];
  // A version not held would not be checked at all (the validator only warns that it cannot).
  const held = (p: string) => kanta?.has(p.split('|')[0] as string) && validator.registry.holdsVersion(p);
  if (!declared.some(held)) {
    const allowed = kanta ? [...kanta].sort().join(', ') : 'none';
    throw FhirError.unprocessable(
      issue(
        'error',
        'required',
        `kanta-profile: meta.profile must name a Kanta PHR profile for ${r.resourceType} held here (${allowed}; a version, if given, must be the one held)`,
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
  for (const [name, lang] of narrativeLanguages(div)) {
    if (lang.toLowerCase() !== r.language.toLowerCase()) {
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

/** Every string of a JSON value with its FHIRPath (a primitive's `_x` extensions read as `x`). */
function* stringsOf(value: unknown, at: string): Generator<[string, string]> {
  if (typeof value === 'string') yield [value, at];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* stringsOf(v, `${at}[${i}]`);
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) yield* stringsOf(v, `${at}.${k.replace(/^_/, '')}`);
}

/**
 * A PHR Patient is pseudonymous (Kanta PHR holds no personal identity code): no string of it, in
 * whatever element — an extension, an identifier's extension, a narrative — may hold anything of a
 * HETU's shape (the domain's HETU-in-text pattern, as maskHetus finds it: a mistyped or
 * percent-encoded one too). One issue per element, naming it, never the value.
 */
function noHetu(r: Resource, at: string): void {
  if (r.resourceType !== 'Patient') return;
  const issues: OperationOutcomeIssue[] = [];
  for (const [text, path] of stringsOf(r, at))
    if (maskHetus(text) !== text)
      issues.push(
        issue(
          'error',
          'business-rule',
          'kanta-pseudonym: a Kanta PHR Patient is pseudonymous: no element may hold a personal identity code (HETU)',
          path,
        ),
      );
  if (issues.length) throw FhirError.unprocessable(issues);
}

/**
 * The elements that must name the resource's subject: Kanta PHR holds what the citizen writes of
 * themselves — a QuestionnaireResponse's answers (author and source: the PHR Patient, always given),
 * a self-care plan (`fiphr-sd-selfcareplan-r4`: its author, when given, is the Patient) — not one
 * person's data written as another's.
 */
const WRITTEN_BY_SUBJECT: Readonly<
  Record<string, { elements: readonly string[]; required: boolean; why: string }>
> = {
  QuestionnaireResponse: {
    elements: ['author', 'source'],
    required: true,
    why: 'the citizen writes their own answers',
  },
  CarePlan: { elements: ['author'], required: false, why: "a self-care plan is the citizen's own" },
};

function writtenBySubject(r: Resource, at: string, base: string | undefined): void {
  const rule = WRITTEN_BY_SUBJECT[r.resourceType];
  if (!rule) return;
  const refs = r as unknown as Record<string, Reference | undefined>;
  const subject = whoOf(refs.subject, base);
  for (const element of rule.elements) {
    const given = refs[element] !== undefined;
    if (given ? whoOf(refs[element], base) === subject : !rule.required) continue;
    const when = rule.required ? 'is' : 'when given, is';
    throw FhirError.unprocessable(
      issue(
        'error',
        given ? 'business-rule' : 'required',
        `kanta-author: a ${r.resourceType}'s ${element} ${when} its subject (${rule.why})`,
        `${at}.${element}`,
      ),
    );
  }
}

export function createKantaWriteRules(validator: FacadeValidator): KantaWriteRules {
  const profiles = profilesByType(validator);
  // Judged as every write to a store here (STORE_WRITE_CHECKS): every reference's type, resolved
  // here or not (Kanta's QuestionnaireResponse author and source are the PHR Patient, nothing
  // else), and no message quoting the citizen's values.
  const validated = (resource: Resource) => {
    const oo = validator.validate(resource, STORE_WRITE_CHECKS);
    if (hasErrors(oo)) throw FhirError.unprocessable((oo.issue ?? []).filter(isErrorIssue));
  };
  return {
    check(resource, at = resource.resourceType, base?: string) {
      if (CONFORMANCE_TYPES.has(resource.resourceType)) return validated(resource);
      declaredProfile(validator, resource, profiles.get(resource.resourceType), at);
      validated(resource);
      noHetu(resource, at);
      languageAndText(resource, at);
      businessIdentifier(resource, at);
      writtenBySubject(resource, at, base);
    },
  };
}
