import { isSystemReference } from '../../shared/system-uri.ts';
import { isAbsoluteUri } from '../util.ts';
import type { CheckContext } from './context.ts';

/**
 * A Coding with a code needs a system (a warning, as the HL7 validator gives it).
 * `Coding.system` and `Identifier.system` must be system references (`isSystemReference`), and a
 * Coding's system must name a code system, not a value set the registry holds nor a CodeSystem
 * supplement (R4 codesystem.html: a supplement adds designations and properties to another code system
 * and is never a Coding's system), nor a page of the FHIR web sites. The HL7 validator reports all of
 * these as errors.
 */
export function checkSystem(
  walk: CheckContext,
  value: Record<string, unknown>,
  type: 'Coding' | 'Identifier',
): void {
  const system = value.system;
  if (type === 'Coding' && system === undefined && typeof value.code === 'string') {
    // The HL7 validator's TERMINOLOGY_TX_SYSTEM_NO_CODE, at the coding, whatever binds it.
    walk.report(
      'warning',
      'code-invalid',
      'A code with no system has no defined meaning. A system should be provided',
    );
    return;
  }
  if (typeof system !== 'string' || system === '') return;
  if (!isSystemReference(system, type)) {
    walk.report(
      'error',
      'invalid',
      `${type}.system must be an absolute reference, not a local reference ('${system}')`,
    );
    return;
  }
  if (type === 'Identifier') {
    checkUriIdentifierValue(walk, system, value.value);
    return;
  }
  const misplaced = specPageInsteadOfSystem(system);
  if (misplaced) {
    walk.report('error', 'invalid', `The code system reference '${system}' is wrong - ${misplaced}`);
  } else if (isValueSetUrl(walk, system)) {
    walk.report('error', 'invalid', `The Coding references a value set, not a code system ('${system}')`);
  } else if (isSupplement(walk, system)) {
    walk.report(
      'error',
      'invalid',
      `The CodeSystem '${system}' is a supplement, so it cannot be used as a value in Coding.system`,
    );
  }
}

/**
 * An identifier whose system is `urn:ietf:rfc:3986` is a URI: its value must be an absolute one (the
 * HL7 validator's error). The value is not quoted: identifiers may be personal.
 */
function checkUriIdentifierValue(walk: CheckContext, system: string, id: unknown): void {
  if (system !== 'urn:ietf:rfc:3986' || typeof id !== 'string' || isAbsoluteUri(id)) return;
  // Not in an ElementDefinition's example: R4's own Consent definition shows "Local eCMS identifier" there.
  if (walk.at.hostPaths.some((p) => p.startsWith('ElementDefinition.example'))) return;
  const oid = /^[0-2](\.(0|[1-9][0-9]*))+$/.test(id) ? ' (an OID is written urn:oid:<oid>)' : '';
  walk.report(
    'error',
    'invalid',
    `Identifier.value must be an absolute URI when Identifier.system is 'urn:ietf:rfc:3986'${oid}`,
    'value',
  );
}

const BUILD_SITE = /^https?:\/\/build\.fhir\.org\//;
const SPEC_PAGE = /^https?:\/\/(?:www\.)?hl7\.org\/fhir\/.*\.html$/;
/** The page name of a core code system (`codesystem-<id>.html` or `<id>`) at the end of a web address. */
const CORE_PAGE = /\/(?:codesystem-)?([A-Za-z0-9][A-Za-z0-9.-]*?)(?:\.html)?$/;

/**
 * A Coding.system copied from the address bar: a page of the FHIR build site or an HTML page of the
 * published specification, where the code system's canonical URL belongs. The HL7 validator refuses
 * both; so do we, suggesting the canonical a core code system would have (`http://hl7.org/fhir/<id>`).
 */
export function specPageInsteadOfSystem(system: string): string | undefined {
  const why = BUILD_SITE.test(system)
    ? 'the code system reference cannot be a reference to build.fhir.org'
    : SPEC_PAGE.test(system)
      ? 'the code system reference cannot be to an HTML page'
      : undefined;
  if (!why) return undefined;
  const id = CORE_PAGE.exec(system)?.[1];
  return id ? `${why}. This may be the correct reference: http://hl7.org/fhir/${id}` : why;
}

function isValueSetUrl(walk: CheckContext, system: string): boolean {
  if (!system.includes('/ValueSet/')) return false;
  const registry = walk.compiler.registry;
  return registry.valueSet(system) !== undefined && registry.codeSystem(system) === undefined;
}

/** A CodeSystem that supplements another (`supplements` set, or `content = supplement`). */
function isSupplement(walk: CheckContext, system: string): boolean {
  const cs = walk.compiler.registry.codeSystem(system);
  return !!cs && (cs.content === 'supplement' || typeof cs.supplements === 'string');
}
