// The local references (`#id`, `#` for the container) dom-3 counts: Reference.reference and the
// canonical/uri/url-typed values, found by the R4 element types, not by the text alone: a name, an
// identifier or a string extension that starts with '#' refers to nothing.
import { isJsonObject } from '../../shared/json-object.ts';
import { coreChildType } from '../core-elements.ts';

const URI_TYPES = new Set(['canonical', 'uri', 'url']);

/**
 * Calls `found` with the id of every local reference anywhere in `value` (`#` gives ''). Narrative
 * is skipped, and so are the `contained` resources of `value` itself when `skipContained`.
 */
export function collectLocalRefs(value: unknown, skipContained: boolean, found: (id: string) => void): void {
  visit(value, undefined, skipContained, found);
}

function visit(
  value: unknown,
  type: string | undefined,
  skipContained: boolean,
  found: (id: string) => void,
): void {
  if (Array.isArray(value)) {
    for (const v of value) visit(v, type, false, found);
    return;
  }
  if (!isJsonObject(value)) return;
  // A resource (contained, a Bundle entry's, a Parameters value) is typed by itself.
  const own = typeof value.resourceType === 'string' ? value.resourceType : type;
  for (const [k, v] of Object.entries(value)) {
    if (k === 'div' || k === 'resourceType' || (skipContained && k === 'contained')) continue;
    const child = own ? coreChildType(own, k) : undefined;
    if (refersLocally(own, k, child)) eachString(v, (s) => s.startsWith('#') && found(s.slice(1)));
    else if (v !== null && typeof v === 'object') visit(v, child, false, found);
  }
}

/** Whether element `key` of a `parent` value holds references: by its type, or, untyped, by its name. */
function refersLocally(parent: string | undefined, key: string, type: string | undefined): boolean {
  if (type !== undefined && URI_TYPES.has(type)) return true;
  if (parent === 'Reference' && key === 'reference') return true;
  return type === undefined && key === 'reference';
}

function eachString(value: unknown, fn: (s: string) => void): void {
  if (typeof value === 'string') fn(value);
  else if (Array.isArray(value)) for (const v of value) if (typeof v === 'string') fn(v);
}
