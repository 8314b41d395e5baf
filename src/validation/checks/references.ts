import { conditionalParts } from '../../shared/references.ts';
import type { CompiledElement, TypeRef } from '../compiled.ts';
import { isAbsoluteUri, isObject } from '../util.ts';
import { quoted } from '../walk/report.ts';
import { resolveInBundle } from './bundle-references.ts';
import type { CheckContext } from './context.ts';

type Json = Record<string, unknown>;

const RELATIVE = /^(?:(.+)\/)?([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
/** A conditional reference `Type?search` (a transaction resolves it to the one match). */
/** A search parameter name with its modifier or chain (`identifier`, `subject:Patient.name`, `_has:…`). */
const SEARCH_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;
/** Bundle types whose `urn:` references must resolve inside the Bundle. */
const SELF_CONTAINED = new Set(['document', 'transaction']);

/**
 * Reference.reference: format, resolution against contained resources and the enclosing Bundle, and the
 * target's type (and profile, when the target is at hand) against the element's targetProfile list.
 */
export function checkReference(
  walk: CheckContext,
  value: Json,
  el: CompiledElement,
  ref: TypeRef | undefined,
): void {
  const r = value.reference;
  if (typeof r !== 'string') {
    if (r === undefined) checkDisplayWithoutReference(walk, value);
    return;
  }
  if (/\s/.test(r)) {
    walk.report('error', 'invalid', `Reference '${r}' is not valid: it contains whitespace`, 'reference');
    return;
  }
  checkTypeIsTarget(walk, value.type, el, ref);
  const found = r.startsWith('#') ? resolveLocal(walk, r) : resolveUrl(walk, r);
  if (!found) return;
  checkTypeAgrees(walk, value.type, r, found);
  checkTarget(walk, r, el, ref, found.target, found.implied);
}

/** Values inside a definition (ElementDefinition.pattern, fixed, example): no instance's references. */
const DEFINITION_VALUE = /^ElementDefinition\.(?:pattern|fixed|example)/;

/**
 * A Reference with no reference and no identifier (system or value) says nothing of its target but
 * what a display could: the HL7 validator warns when there is none (REFERENCE_REF_NODISPLAY; it too
 * leaves out values in a definition's pattern).
 */
function checkDisplayWithoutReference(walk: CheckContext, value: Json): void {
  const id = value.identifier;
  if (isObject(id) && (typeof id.system === 'string' || typeof id.value === 'string')) return;
  if (typeof value.display === 'string' && value.display !== '') return;
  if (walk.at.hostPaths.some((p) => DEFINITION_VALUE.test(p))) return;
  walk.report(
    'warning',
    'structure',
    'A Reference without an actual reference or identifier should have a display',
  );
}

const CORE_TYPE = 'http://hl7.org/fhir/StructureDefinition/';

/**
 * R4 Reference.type: "If both Reference.type and Reference.reference are populated and
 * Reference.reference is a FHIR URL, both SHALL be consistent". A `type` relative to the core
 * StructureDefinition base is compared with the type the reference resolves to or names.
 */
function checkTypeAgrees(walk: CheckContext, type: unknown, r: string, found: Resolved): void {
  if (typeof type !== 'string') return;
  const actual = typeof found.target?.resourceType === 'string' ? found.target.resourceType : found.implied;
  const named = type.startsWith(CORE_TYPE) ? type.slice(CORE_TYPE.length) : type;
  if (!actual || named === actual || named.includes('/')) return;
  walk.report(
    'error',
    'invalid',
    `The type '${type}' in Reference.type does not match the type '${actual}' of the reference '${r}'; both SHALL be consistent`,
    'type',
  );
}

/**
 * Reference.type beside a literal reference names one of the element's target types, resolved or not
 * (the HL7 validator judges the stated type so; beside an identifier alone it does not judge it).
 */
function checkTypeIsTarget(
  walk: CheckContext,
  type: unknown,
  el: CompiledElement,
  ref: TypeRef | undefined,
): void {
  const targets = ref?.targetProfiles ?? [];
  if (typeof type !== 'string' || !targets.length) return;
  const named = type.startsWith(CORE_TYPE) ? type.slice(CORE_TYPE.length) : type;
  const allowed: string[] = [];
  for (const url of targets) {
    const t = walk.compiler.structure(url)?.type;
    if (!t || t === 'Resource' || t === named) return; // a target we cannot read is not judged here
    allowed.push(t);
  }
  walk.report(
    'error',
    'structure',
    `${el.path}: the type '${type}' in Reference.type is not a valid target (must be one of ${[...new Set(allowed)].join(', ')})`,
    'type',
  );
}

interface Resolved {
  target: Json | undefined;
  /** The type the reference text implies (`Patient/1`). */
  implied: string | undefined;
}

/** `#id`: a contained resource (ref-1); `#` is the container itself. Undefined: nothing more to check. */
function resolveLocal(walk: CheckContext, r: string): Resolved | undefined {
  if (r === '#') return undefined;
  const target = findContained(walk, r.slice(1));
  if (!target) {
    walk.report(
      'error',
      'not-found',
      `ref-1: SHALL have a contained resource if a local reference is provided (no contained resource has id ${quoted(r.slice(1))})`,
      'reference',
    );
    return undefined;
  }
  return { target, implied: undefined };
}

/** Relative or absolute references: format, and resolution inside the enclosing Bundle. */
function resolveUrl(walk: CheckContext, r: string): Resolved | undefined {
  const m = RELATIVE.exec(r);
  const implied = m && walk.compiler.resourceTypes.has(m[2]) ? m[2] : undefined;
  let target: Json | undefined;
  const bundle = walk.bundles[walk.bundles.length - 1];
  if (bundle) {
    target = resolveInBundle(walk, bundle, r, walk.rootResource);
    if (!target && r.startsWith('urn:') && SELF_CONTAINED.has(bundle.type)) {
      walk.report(
        'error',
        'not-found',
        `Unable to resolve the reference '${r}' within the ${bundle.type} Bundle`,
        'reference',
      );
    } else if (!target && bundle.type === 'document' && m && !m[1]) {
      // A document is self-contained: relative references must resolve to an entry.
      walk.report('error', 'not-found', `Can't find '${r}' in the document Bundle`, 'reference');
    }
  }
  if (!m && !isAbsoluteUri(r) && !r.includes('/') && !r.includes('?')) {
    // A bare id (not a conditional reference `Type?search`): the HL7 validator rejects it.
    walk.report(
      'error',
      'invalid',
      `Relative URLs must be of the format [ResourceName]/[id] (found '${r}')`,
      'reference',
    );
  } else if (!m && conditionalParts(r)) {
    checkConditional(walk, r, bundle?.type);
    return undefined;
  } else if (!m && !isAbsoluteUri(r)) {
    walk.report(
      'warning',
      'invalid',
      `Reference '${r}' is neither a relative reference ([type]/[id]) nor an absolute URL`,
      'reference',
    );
  } else if (m && !m[1] && !implied) {
    walk.report('error', 'invalid', `Reference '${r}': '${m[2]}' is not a resource type`, 'reference');
    return undefined;
  }
  return { target, implied };
}

/**
 * A conditional reference `Type?search`: the search is `name=value` pairs joined by `&`, and only a
 * transaction or batch resolves it (http.html#trules). The messages name the type and a parameter's
 * position only, never the search: it usually carries an identifier, in Finland often a HETU.
 */
function checkConditional(walk: CheckContext, r: string, bundleType: string | undefined): void {
  const type = r.slice(0, r.indexOf('?'));
  const malformed = malformedSearch(r.slice(r.indexOf('?') + 1));
  if (malformed) {
    walk.report('error', 'invalid', `Conditional reference '${type}?…': ${malformed}`, 'reference');
  } else if (bundleType !== 'transaction' && bundleType !== 'batch') {
    walk.report(
      'warning',
      'invalid',
      `Conditional reference '${type}?…' is resolved only in a transaction or batch`,
      'reference',
    );
  }
}

/** What is wrong with a conditional reference's search, or undefined. */
function malformedSearch(query: string): string | undefined {
  for (const [i, part] of query.split('&').entries()) {
    const eq = part.indexOf('=');
    if (eq < 0) return `search parameter ${i + 1} has no '=' and value`;
    if (!SEARCH_NAME.test(part.slice(0, eq)))
      return `search parameter ${i + 1} is not a valid search parameter name`;
  }
  return undefined;
}

/** The target's type against the targetProfiles, and its conformance when the target is at hand. */
function checkTarget(
  walk: CheckContext,
  r: string,
  el: CompiledElement,
  ref: TypeRef | undefined,
  target: Json | undefined,
  implied: string | undefined,
): void {
  const actual = target && typeof target.resourceType === 'string' ? target.resourceType : implied;
  const targets = ref?.targetProfiles ?? [];
  if (!actual || !targets.length) return;
  const allowed: string[] = [];
  for (const url of targets) {
    const p = walk.compiler.structure(url);
    if (!p) {
      reportMissingTargetProfile(walk, el, url);
      return; // cannot judge against a profile we do not hold
    }
    allowed.push(p.type);
  }
  if (!allowed.includes(actual) && !allowed.includes('Resource')) {
    // A reference that does not resolve here is the HL7 validator's "remote" one: its default policy
    // (IGNORE, unless told to check references) does not judge it, so by default its type only warns.
    walk.report(
      target ? 'error' : walk.policy.unresolvedReferenceTypes,
      'structure',
      `${el.path}: the type '${actual}' of the reference '${r}' is not a valid target (must be one of ${[...new Set(allowed)].join(', ')})`,
      'reference',
    );
    return;
  }
  if (!target) return;
  const profiles = targets.filter((url) => {
    const p = walk.compiler.structure(url);
    return p && !p.base && p.type === actual;
  });
  if (
    !profiles.length ||
    targets.some((url) => walk.compiler.structure(url)?.base && walk.compiler.structure(url)?.type === actual)
  )
    return;
  if (!profiles.some((url) => walk.conformsTo(target, url))) {
    walk.report(
      'error',
      'structure',
      `${el.path}: the resource referenced by '${r}' does not conform to ${profiles.join(' or ')}`,
      'reference',
    );
  }
}

/**
 * A targetProfile we cannot resolve: an error under a loaded package's canonical base, where it would
 * be if it existed (the HL7 validator's verdict), a warning when its package is not loaded.
 */
function reportMissingTargetProfile(walk: CheckContext, el: CompiledElement, url: string): void {
  const registry = walk.compiler.registry;
  const missing = registry.covers(url) && !registry.structureDefinition(url);
  walk.report(
    missing ? 'error' : 'warning',
    'not-found',
    `${el.path}: target profile '${url}' could not be found, so the reference target has not been checked`,
    'reference',
  );
}

function findContained(walk: CheckContext, id: string): Json | undefined {
  for (let i = walk.containers.length - 1; i >= 0; i--) {
    const found = walk.containers[i]?.get(id);
    if (found && isObject(found)) return found;
  }
  return undefined;
}
