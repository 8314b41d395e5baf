/** Reference strings of the form Type/id found anywhere in a resource (contained ones excluded). */
export function collectReferences(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) collectReferences(v, out);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string' && RELATIVE.test(v)) out.add(v);
      else if (k !== 'contained') collectReferences(v, out);
    }
  }
  return out;
}

/** A copy with every `reference: "Type/id"` replaced through `map` (unmapped ones kept). */
export function rewriteReferences<T>(value: T, map: (ref: string) => string | undefined): T {
  if (Array.isArray(value)) return value.map((v) => rewriteReferences(v, map)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        k === 'reference' && typeof v === 'string' && RELATIVE.test(v)
          ? (map(v) ?? v)
          : rewriteReferences(v, map);
    }
    return out as T;
  }
  return value;
}

const RELATIVE = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/;
