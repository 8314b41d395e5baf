// FHIRPath's standard environment variables for FHIR (fhirpath.html#vars): fhirpath.js itself knows
// only %ucum, %context and %resource-like ones the caller passes.
const FIXED: Record<string, string> = {
  sct: 'http://snomed.info/sct',
  loinc: 'http://loinc.org',
};
const PREFIXED: Record<string, string> = {
  vs: 'http://hl7.org/fhir/ValueSet/',
  ext: 'http://hl7.org/fhir/StructureDefinition/',
};
const NAMED = /%`(vs|ext)-([^`]+)`/g;

/**
 * The standard variables `expression` can read: %sct, %loinc, and each %`vs-<name>` /
 * %`ext-<name>` it names (precomputed once per expression: fhirpath.js looks variables up with `in`).
 */
export function standardVariables(expression: string): Record<string, string> {
  const vars: Record<string, string> = { ...FIXED };
  for (const [, kind, name] of expression.matchAll(NAMED)) vars[`${kind}-${name}`] = PREFIXED[kind!]! + name;
  return vars;
}
