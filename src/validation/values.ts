/** Exact equality of JSON values (fixed[x]). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  for (const k of ka)
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

/**
 * pattern[x] semantics: every property of the pattern is present in the value with a matching value;
 * each item of a pattern array must match some item of the value's array.
 */
export function matchesPattern(value: unknown, pattern: unknown): boolean {
  if (pattern === value) return true;
  if (typeof pattern !== 'object' || pattern === null) return false;
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(pattern)) {
    if (!Array.isArray(value)) return false;
    return pattern.every((p) => value.some((v) => matchesPattern(v, p)));
  }
  if (Array.isArray(value)) return false;
  for (const k in pattern as Record<string, unknown>) {
    if (!matchesPattern((value as Record<string, unknown>)[k], (pattern as Record<string, unknown>)[k]))
      return false;
  }
  return true;
}
