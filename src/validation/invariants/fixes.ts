// Published R4 invariants whose FHIRPath is wrong; the HL7 reference validator evaluates corrected
// expressions instead, and so do we (same corrections, keyed by the published text).
export const correctedExpressions: Record<string, string> = {
  // que-12: "more than one" enableWhen needs enableBehavior; the published text says "> 2".
  'enableWhen.count() > 2 implies enableBehavior.exists()':
    'enableWhen.count() >= 2 implies enableBehavior.exists()',
  // que-7: `Boolean` is System.Boolean to fhirpath.js, which FHIR's boolean answer is not; the HL7
  // validator's engine matches the FHIR primitive. Same meaning, spelled the way fhirpath.js reads it.
  "operator = 'exists' implies (answer is Boolean)": "operator = 'exists' implies (answer is boolean)",
  // ras-2: `as` on a Range probability errors instead of passing.
  'probability is decimal implies (probability as decimal) <= 100':
    '(probability.exists() and (probability is decimal)) implies ((probability as decimal) <= 100)',
  'probability is decimal implies probability.as(decimal) <= 100':
    'probability.empty() or (probability is decimal implies probability.as(decimal) <= 100)',
  // ref-1: a reference without `reference`, and `#` (the container) are fine.
  "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))":
    "reference.exists() implies (reference = '#' or (reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))))",
  // bld-8: an entry without fullUrl passes.
  "fullUrl.contains('/_history/').not()": "fullUrl.exists() implies fullUrl.contains('/_history/').not()",
  // Typo in the published DocumentReference/Media-like rule.
  "generated='generated' implies source.empty()": "generation='generated' implies source.empty()",
  'isModifier implies isModifierReason.exists()':
    '(isModifier.exists() and isModifier) implies isModifierReason.exists()',
  "name.matches('[A-Z]([A-Za-z0-9_]){0,254}')":
    "name.exists() implies name.matches('^[A-Z]([A-Za-z0-9_]){0,254}$')",
  "differential.element.all(id) and differential.element.id.trace('ids').isDistinct()":
    "differential.element.all(id.exists()) and differential.element.id.trace('ids').isDistinct()",
  "snapshot.element.all(id) and snapshot.element.id.trace('ids').isDistinct()":
    "snapshot.element.all(id.exists()) and snapshot.element.id.trace('ids').isDistinct()",
};
