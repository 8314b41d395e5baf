// What names another entry of a transaction Bundle (references, uri and url elements, narrative links),
// rewritten to the `Type/id` that entry became here (R4 http.html, transaction processing rules).
import { keepWrittenNumbers } from '../../shared/json-text.ts';
import { relativeReference } from '../../shared/references.ts';
import { coreChildType } from '../../validation/index.ts';

/**
 * The element types whose values a transaction points at the `Type/id` an entry became, as it does
 * references (R4 http.html, transaction processing rules, lists uri, url, oid and uuid). An `oid` or
 * `uuid` element cannot hold `Type/id` (the validator would refuse it), so those keep their value.
 */
const LINK_TYPES = new Set(['uri', 'url']);

/** A RESTful fullUrl's `Type/id` (or `Type/id/_history/v`) at its end, after its base. */
const RESTFUL_TAIL = /\/[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** `http://example.org/fhir` for an entry's fullUrl `http://example.org/fhir/Patient/1`; undefined for any other. */
function restfulBase(fullUrl: string | undefined): string | undefined {
  if (!fullUrl || !/^https?:\/\//i.test(fullUrl)) return undefined;
  const tail = RESTFUL_TAIL.exec(fullUrl);
  return tail ? fullUrl.slice(0, tail.index) : undefined;
}

interface Rewrite {
  /** Each fullUrl (and conditional reference) resolved, to the `Type/id` it names here. */
  refs: Map<string, string>;
  /** The base a relative reference in this entry resolves against (its fullUrl's, when RESTful). */
  base?: string;
}

/**
 * A copy of `value` in which what names another entry of the Bundle (a key of `refs`) names the
 * `Type/id` it became: every Reference.reference — exactly, or as a relative `Type/id` that the
 * entry's RESTful `fullUrl` resolves to one (R4 bundle.html, "Resolving references in Bundles") —,
 * every element of a type in LINK_TYPES holding exactly one (the same relative form as a
 * reference), and narrative links. Other values, free text included, are left as written, and so are
 * numbers (for the validator).
 */
export function rewriteReferences<T>(value: T, refs: Map<string, string>, fullUrl?: string): T {
  if (refs.size === 0) return value;
  return rewriteValue(value, () => undefined, { refs, base: restfulBase(fullUrl) }) as T;
}

/**
 * The element type of a value where the walk can tell (an object naming its resourceType says),
 * asked for only when a string equals a fullUrl: looking types up for every element would cost the
 * transaction path more than all its rewriting.
 */
type LazyType = () => string | undefined;

function rewriteValue(value: unknown, typeOf: LazyType, rw: Rewrite): unknown {
  if (typeof value === 'string') {
    const target = rw.refs.get(value);
    if (target === undefined) return value;
    const type = typeOf();
    return type && LINK_TYPES.has(type) ? target : value;
  }
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const items = value.map((v) => rewriteValue(v, typeOf, rw));
    keepWrittenNumbers(value, items);
    return items;
  }
  const own = (value as { resourceType?: unknown }).resourceType;
  const parentType: LazyType = typeof own === 'string' ? () => own : typeOf;
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'reference' && typeof v === 'string') copy[k] = referenceTarget(v, rw) ?? v;
    else if (k === 'div' && typeof v === 'string') copy[k] = rewriteNarrative(v, rw.refs);
    else if (v !== null && (typeof v === 'object' || typeof v === 'string'))
      copy[k] = rewriteValue(v, () => elementType(parentType(), k), rw);
    else copy[k] = v;
  }
  keepWrittenNumbers(value, copy);
  return copy;
}

/**
 * The type of element `key` of a value of type `parent` (a type, or an inline element's path), the
 * validator's reading of the R4 definitions; undefined when not known, below which only references
 * and narrative are rewritten.
 */
function elementType(parent: string | undefined, key: string): string | undefined {
  return parent ? coreChildType(parent, key) : undefined;
}

/** What a reference in the entry being rewritten becomes, if it names another entry. */
function referenceTarget(ref: string, rw: Rewrite): string | undefined {
  return rw.refs.get(rw.base !== undefined && relativeReference(ref) ? `${rw.base}/${ref}` : ref);
}

/**
 * The narrative's links to other entries (`<a href="urn:uuid:…">`, `<img src="…">`, exactly a
 * fullUrl): a transaction SHALL rewrite them as it rewrites references (R4 http.html, transaction
 * processing).
 */
function rewriteNarrative(div: string, refs: Map<string, string>): string {
  return div.replace(
    /(\s(?:href|src)=)(["'])([^"']+)\2/g,
    (whole, attr: string, quote: string, url: string) => {
      const target = refs.get(url);
      return target ? `${attr}${quote}${target}${quote}` : whole;
    },
  );
}
