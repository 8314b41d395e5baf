// Implicit cross-version extensions (R4 "Extensions for converting between versions"):
// `http://hl7.org/fhir/[version]/StructureDefinition/extension-[Path]` is defined by the element
// `[Path]` of FHIR `[version]`; no StructureDefinition is published for it. We resolve what the
// definitions we ship can tell (R4 elements: their types and whether they are modifiers). For other
// versions we only know the URL is well formed: such an extension is never "unknown".
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';

const CROSS_VERSION =
  /^http:\/\/hl7\.org\/fhir\/(\d+\.\d+)\/StructureDefinition\/extension-([A-Z][A-Za-z]*(?:\.[a-z][A-Za-z0-9]*(?:\[x\])?)*)$/;

/** The R4 version segments of cross-version URLs (the registry holds these element definitions). */
const R4_VERSIONS = new Set(['4.0']);

export interface CrossVersionExtension {
  version: string;
  path: string;
  /** The R4 element, when the URL names an R4 element the registry holds. */
  element?: { types: string[]; isModifier: boolean };
  /** True when the version is R4 and the path names no R4 element. */
  unknownElement: boolean;
}

/** Parses a cross-version extension URL; undefined when `url` is not one. */
export function crossVersionExtension(
  url: string,
  structureDefinition: (type: string) => StructureDefinition | undefined,
): CrossVersionExtension | undefined {
  const m = CROSS_VERSION.exec(url);
  if (!m) return undefined;
  const version = m[1]!;
  const path = m[2]!;
  if (!R4_VERSIONS.has(version)) return { version, path, unknownElement: false };
  const ed = r4Element(path, structureDefinition);
  if (!ed) return { version, path, unknownElement: true };
  return {
    version,
    path,
    element: { types: (ed.type ?? []).map((t) => t.code ?? ''), isModifier: ed.isModifier === true },
    unknownElement: false,
  };
}

function r4Element(
  path: string,
  structureDefinition: (type: string) => StructureDefinition | undefined,
): ElementDefinition | undefined {
  const type = path.split('.')[0]!;
  const sd = structureDefinition(type);
  if (!sd || sd.derivation !== 'specialization') return undefined;
  const bare = path.replace(/\[x\]$/, '');
  for (const e of sd.snapshot?.element ?? []) {
    if (e.path === path || e.path === bare || e.path === `${bare}[x]`) return e;
  }
  return undefined;
}

/**
 * The value types the extension may carry: the element's own types for a primitive or datatype
 * element; none (nested extensions) for a backbone element.
 */
export function crossVersionValueTypes(ext: CrossVersionExtension): string[] | undefined {
  const types = ext.element?.types;
  if (!types?.length) return undefined;
  if (types.includes('BackboneElement') || types.includes('Element')) return [];
  return types;
}
