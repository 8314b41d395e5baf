// The one walk over a resource's references: every `reference` string in plain FHIR JSON, at any
// depth (contained resources and extensions included), with the object that holds it.

/** Called with a reference string, the Reference object holding it and, when asked for, its FHIRPath. */
export type ReferenceVisit = (ref: string, holder: Record<string, unknown>, path: string) => void;

/**
 * Visits every `reference` string inside `value`. With `path` (e.g. `Observation`), each visit gets
 * the FHIRPath of its Reference (`Observation.subject`, `CarePlan.goal[0]`); without it, '' (and no
 * path strings are built).
 */
export function eachReference(value: unknown, visit: ReferenceVisit, path?: string): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++)
      eachReference(value[i], visit, path === undefined ? undefined : `${path}[${i}]`);
  } else if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    for (const k in obj) {
      const v = obj[k];
      if (k === 'reference' && typeof v === 'string') visit(v, obj, path ?? '');
      else if (v !== null && typeof v === 'object')
        eachReference(v, visit, path === undefined ? undefined : `${path}.${k}`);
    }
  }
}

const RELATIVE = /^([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

/** A relative literal reference `Type/id` or `Type/id/_history/v`, parsed; undefined for any other text. */
export function relativeReference(ref: string): { type: string; id: string; version?: string } | undefined {
  const m = RELATIVE.exec(ref);
  if (!m) return undefined;
  const [, type, id, version] = m as unknown as [string, string, string, string | undefined];
  return version === undefined ? { type, id } : { type, id, version };
}
