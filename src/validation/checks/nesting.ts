// The one depth limit on what the validator walks (rule val-depth-1).
import type { CheckContext } from './context.ts';

/**
 * How deep a resource may nest: in JSON, objects and arrays, the resource itself counting as the first
 * level; in XML, elements, the root counting as the first. Real FHIR content stays far below (a Bundle
 * entry's contained Questionnaire with items nested ten deep is about 30 JSON levels; 256 allows over
 * 120 levels of nested items or extensions). The walk, the checks, the XML readers and the FHIRPath
 * engine recurse over the content, so deeper content is refused before it is walked rather than
 * ending in an internal error.
 */
export const MAX_NESTING = 256;

/** The diagnostics of val-depth-1. */
export const NESTING_MESSAGE = `val-depth-1: the content nests deeper than ${MAX_NESTING} levels (JSON objects and arrays, XML elements); it is not validated further`;

/**
 * val-depth-1: the resource nests no deeper than MAX_NESTING; otherwise one error at the first
 * object or array past the limit and false (the resource is not walked).
 */
export function checkNesting(ctx: CheckContext, resource: unknown): boolean {
  const path = pastLimit(resource, 1);
  if (path === undefined) return true;
  ctx.report('error', 'structure', NESTING_MESSAGE, path || undefined);
  return false;
}

/**
 * The path (from `value`, e.g. `item[0].item`) of the first object or array nested past the limit,
 * `value` being at `level`; undefined when there is none. Recursion stops at the limit.
 */
function pastLimit(value: unknown, level: number): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (level > MAX_NESTING) return '';
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const below = pastLimit(value[i], level + 1);
      if (below !== undefined) return `[${i}]${below && !below.startsWith('[') ? '.' : ''}${below}`;
    }
    return undefined;
  }
  for (const key in value) {
    const below = pastLimit((value as Record<string, unknown>)[key], level + 1);
    if (below === undefined) continue;
    // A primitive's `_name` companion is reported at the primitive, as the walk reports it.
    const seg = key.startsWith('_') ? key.slice(1) : key;
    return below ? `${seg}${below.startsWith('[') ? '' : '.'}${below}` : seg;
  }
  return undefined;
}
