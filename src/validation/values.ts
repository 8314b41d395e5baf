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

const ZONED = /T.*(Z|[+-]\d\d:\d\d)$/;

/**
 * Orders two FHIR date, dateTime, instant or time values: -1, 0, 1, or undefined when they cannot be
 * ordered for sure (different precision and equal at the shared one, or unparsable). Zoned date-times
 * are compared as instants; other values by their shared precision.
 */
export function compareTemporal(a: string, b: string): -1 | 0 | 1 | undefined {
  if (a === b) return 0;
  if (ZONED.test(a) && ZONED.test(b)) {
    const ta = Date.parse(a);
    const tb = Date.parse(b);
    if (Number.isNaN(ta) || Number.isNaN(tb)) return undefined;
    return ta < tb ? -1 : ta > tb ? 1 : 0;
  }
  const isTime = (s: string) => s.length >= 5 && s[2] === ':';
  if (isTime(a) !== isTime(b)) return undefined;
  // Dates and unzoned or mixed date-times: compare the date part (and time of day for time values).
  const pa = isTime(a) ? a : a.slice(0, 10);
  const pb = isTime(b) ? b : b.slice(0, 10);
  const n = Math.min(pa.length, pb.length);
  const x = pa.slice(0, n);
  const y = pb.slice(0, n);
  if (x < y) return -1;
  if (x > y) return 1;
  return undefined;
}
