// Bundle entry rules checked while entering a Bundle (bdl-3, bdl-7, fullUrl present and absolute), and the scope
// the Bundle gives reference resolution.
import { type Json, isAbsoluteUri, isObject, withArticle } from '../util.ts';
import { quoted } from '../walk/report.ts';
import type { BundleScope, CheckContext } from './context.ts';
import { checkDocumentLinks } from './document-links.ts';

/** Bundle types whose entries need no fullUrl (every other type's entries are identified by one). */
const FULL_URL_OPTIONAL = new Set(['transaction', 'transaction-response', 'batch', 'batch-response']);

/** Checks the entries of `bundle` and returns its scope: resources by fullUrl and by `Type/id`. */
export function enterBundle(ctx: CheckContext, bundle: Json): BundleScope {
  const type = typeof bundle.type === 'string' ? bundle.type : '';
  const scope: BundleScope = { type, byUrl: new Map(), entries: [], fullUrlOf: new Map() };
  const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
  const versions = new Map<string, Set<string>>();
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (!isObject(e)) continue;
    const res = isObject(e.resource) ? e.resource : undefined;
    if (res)
      scope.entries.push({ fullUrl: typeof e.fullUrl === 'string' ? e.fullUrl : undefined, resource: res });
    if (typeof e.fullUrl === 'string') {
      if (res) scope.fullUrlOf.set(res, e.fullUrl);
      checkRestfulFullUrl(ctx, e.fullUrl, res, i);
      checkFullUrl(ctx, e.fullUrl, res, i, type, versions);
      if (res) {
        scope.byUrl.set(e.fullUrl, res);
        const rel = relativeTail(e.fullUrl, res);
        if (rel && !scope.byUrl.has(rel)) scope.byUrl.set(rel, res);
      }
    } else if (res && typeof res.resourceType === 'string' && typeof res.id === 'string') {
      scope.byUrl.set(`${res.resourceType}/${res.id}`, res);
    }
    if (!e.fullUrl && !FULL_URL_OPTIONAL.has(type))
      ctx.report(
        'error',
        'invalid',
        'Except for transactions and batches, each entry in a Bundle must have a fullUrl which is the identity of the resource in the entry',
        `entry[${i}]`,
      );
    checkRequest(ctx, e, i, type);
  }
  if (type === 'searchset') checkSearchset(ctx, bundle, entries);
  if (type === 'document') checkDocumentLinks(ctx, bundle, scope);
  return scope;
}

const RESTFUL_TAIL = /^https?:\/\/.+\/([A-Z][A-Za-z]+)\/([^/]+)$/;

/**
 * A RESTful fullUrl (`http(s)://base/Type/id`) should end with its resource's type and id. A warning:
 * the HL7 validator accepts such a Bundle (its test case bundle-with-contained expects no errors).
 */
function checkRestfulFullUrl(ctx: CheckContext, fullUrl: string, res: Json | undefined, i: number): void {
  const m = RESTFUL_TAIL.exec(fullUrl);
  if (!m || !res || !ctx.compiler.resourceTypes.has(m[1]!) || fullUrl.includes('/_history/')) return;
  if (m[1] !== res.resourceType || m[2] !== res.id) {
    ctx.report(
      'warning',
      'invalid',
      `The fullUrl ${quoted(fullUrl)} is a RESTful URL, so it must end with the resource's type and id (${String(res.resourceType)}/${String(res.id ?? '(no id)')})`,
      `entry[${i}].fullUrl`,
    );
  }
}

/**
 * searchset Bundles (search.html, http.html#paging): each link relation at most once; `match`
 * entries carry an id and the searched type (from the `self` link); `outcome` entries are
 * OperationOutcomes.
 */
function checkSearchset(ctx: CheckContext, bundle: Json, entries: unknown[]): void {
  const links = Array.isArray(bundle.link) ? bundle.link : [];
  const seen = new Set<string>();
  let searched: string | undefined;
  for (let i = 0; i < links.length; i++) {
    const l = links[i];
    if (!isObject(l) || typeof l.relation !== 'string') continue;
    if (seen.has(l.relation)) {
      ctx.report(
        'error',
        'invalid',
        `A searchset Bundle has at most one link with relation '${l.relation}'`,
        `link[${i}]`,
      );
    }
    seen.add(l.relation);
    if (l.relation === 'self' && typeof l.url === 'string') searched = searchedType(ctx, l.url);
  }
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (!isObject(e) || !isObject(e.resource)) continue;
    const mode = isObject(e.search) ? e.search.mode : undefined;
    const rt = e.resource.resourceType;
    if (mode === 'outcome' && rt !== 'OperationOutcome') {
      ctx.report(
        'error',
        'invalid',
        `A searchset entry with search.mode 'outcome' must be an OperationOutcome (found ${String(rt)})`,
        `entry[${i}].resource`,
      );
    } else if (mode === 'match') {
      if (typeof e.resource.id !== 'string') {
        ctx.report(
          'error',
          'required',
          "A searchset entry with search.mode 'match' must have an id",
          `entry[${i}].resource`,
        );
      }
      if (searched && rt !== searched) {
        ctx.report(
          'error',
          'invalid',
          `A searchset entry with search.mode 'match' must be ${withArticle(searched)} (the searched type), not ${String(rt)}`,
          `entry[${i}].resource`,
        );
      }
    }
  }
}

/** The resource type a search URL searches (`.../Patient?name=x` or `.../Patient/_search`), if any. */
function searchedType(ctx: CheckContext, url: string): string | undefined {
  const path = url.split('?')[0]!.replace(/\/_search$/, '');
  const last = path.slice(path.lastIndexOf('/') + 1);
  return ctx.compiler.resourceTypes.has(last) ? last : undefined;
}

function checkFullUrl(
  ctx: CheckContext,
  fullUrl: string,
  res: Json | undefined,
  i: number,
  type: string,
  versions: Map<string, Set<string>>,
): void {
  // A warning, as the HL7 validator judges it (its test case bundle-duplicate-id: a collection with
  // fullUrl 'Patient/1' expects no errors).
  if (!isAbsoluteUri(fullUrl)) {
    ctx.report(
      'warning',
      'invalid',
      `Bundle.entry.fullUrl must be an absolute URL (found ${quoted(fullUrl)})`,
      `entry[${i}].fullUrl`,
    );
  }
  // bdl-7 is `select(fullUrl & resource.meta.versionId).isDistinct()`: `&` takes an absent versionId
  // as '', so one entry without a versionId and one with '1' differ, whichever comes first. Reported
  // on the Bundle, which carries the constraint in R4, naming the entry.
  const meta = isObject(res?.meta) ? (res.meta as Json) : undefined;
  const versionId = typeof meta?.versionId === 'string' ? meta.versionId : '';
  const seen = versions.get(fullUrl);
  if (seen && type !== 'history' && seen.has(versionId)) {
    ctx.report(
      'error',
      'invariant',
      `bdl-7: FullUrl must be unique in a bundle, or else entries with the same fullUrl must have different meta.versionId (duplicate ${quoted(fullUrl)} at entry ${i})`,
    );
  }
  if (seen) seen.add(versionId);
  else versions.set(fullUrl, new Set([versionId]));
}

/**
 * bdl-3: entry.request exactly in batch, transaction and history Bundles. Reported on the Bundle,
 * which carries the constraint in R4, naming the entry.
 */
function checkRequest(ctx: CheckContext, e: Json, i: number, type: string): void {
  const needsRequest = type === 'transaction' || type === 'batch' || type === 'history';
  if (needsRequest && e.request === undefined) {
    ctx.report(
      'error',
      'invariant',
      `bdl-3: entry.request mandatory for batch/transaction/history (entry ${i} has none)`,
    );
  } else if (!needsRequest && type && e.request !== undefined) {
    ctx.report(
      'error',
      'invariant',
      `bdl-3: entry.request is not allowed in a ${type} Bundle (entry ${i} has one)`,
    );
  }
}

/** `http://x/fhir/Patient/1` for a Patient with id 1 → `Patient/1` (relative references resolve to it). */
export function relativeTail(fullUrl: string, res: Json): string | undefined {
  if (typeof res.resourceType !== 'string' || typeof res.id !== 'string') return undefined;
  const tail = `${res.resourceType}/${res.id}`;
  return fullUrl.endsWith(`/${tail}`) ? tail : undefined;
}

/**
 * The contained resources of `resource` by id; of several with one id (an error, checks/contained.ts)
 * the first, as the HL7 validator resolves `#id` to the first.
 */
export function indexContained(resource: Json): Map<string, Json> | undefined {
  const list = resource.contained;
  if (!Array.isArray(list) || !list.length) return undefined;
  const map = new Map<string, Json>();
  for (const c of list) if (isObject(c) && typeof c.id === 'string' && !map.has(c.id)) map.set(c.id, c);
  return map;
}
