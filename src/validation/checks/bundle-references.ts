// Resolving references inside a Bundle (bundle.html "Resolving references in Bundles"): absolute
// references match a fullUrl; relative ones resolve against the base of the referring entry's
// RESTful fullUrl (else match `Type/id` among the entries); a versioned reference must match the
// target's meta.versionId; a reference that matches entries with different fullUrls is ambiguous.
import { type Json, isObject } from '../util.ts';
import { quoted } from '../walk/report.ts';
import type { BundleScope, CheckContext, EntryIndex } from './context.ts';

/** `base/Type/id` (optionally `/_history/v`) with a resource type: a RESTful URL. */
const RESTFUL =
  /^(https?:\/\/.+)\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;
/** `Type/id` (optionally `/_history/v`): a relative reference. */
const RELATIVE_REFERENCE =
  /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

export interface BundleEntryRef {
  fullUrl: string | undefined;
  resource: Json;
}

/** The RESTful base (`http://x/fhir`) of a fullUrl, when it is one. */
export function restfulBase(fullUrl: string | undefined): string | undefined {
  return fullUrl ? RESTFUL.exec(fullUrl)?.[1] : undefined;
}

function typeAndId(r: Json): string | undefined {
  return typeof r.resourceType === 'string' && typeof r.id === 'string'
    ? `${r.resourceType}/${r.id}`
    : undefined;
}

/** `scope.entries` indexed by fullUrl and by `Type/id` (made once per Bundle, on its first reference). */
function entryIndex(scope: BundleScope): EntryIndex {
  if (scope.index) return scope.index;
  const byFullUrl = new Map<string, number[]>();
  const byTypeId = new Map<string, number[]>();
  const add = (map: Map<string, number[]>, key: string, i: number) => {
    const list = map.get(key);
    if (list) list.push(i);
    else map.set(key, [i]);
  };
  scope.entries.forEach((e, i) => {
    if (e.fullUrl !== undefined) add(byFullUrl, e.fullUrl, i);
    const key = typeAndId(e.resource);
    if (key) add(byTypeId, key, i);
  });
  scope.index = { byFullUrl, byTypeId };
  return scope.index;
}

/**
 * The entries (positions in `scope.entries`, in order) that `ref` names when it is made from an entry
 * whose RESTful base is `base`, and the version it asks for: an absolute reference matches a fullUrl
 * (without its `/_history/v`); a relative one matches `base/Type/id`, else `Type/id` among the entries.
 */
export function bundleCandidates(
  scope: BundleScope,
  ref: string,
  base: string | undefined,
): { found: readonly number[]; version?: string } {
  const index = entryIndex(scope);
  const rel = RELATIVE_REFERENCE.exec(ref);
  if (rel) {
    const viaBase = base ? index.byFullUrl.get(`${base}/${rel[1]}/${rel[2]}`) : undefined;
    const found = viaBase ?? index.byTypeId.get(`${rel[1]}/${rel[2]}`) ?? [];
    return rel[3] === undefined ? { found } : { found, version: rel[3] };
  }
  const version = RESTFUL.exec(ref)?.[4];
  if (version === undefined) return { found: index.byFullUrl.get(ref) ?? [] };
  return { found: index.byFullUrl.get(ref.slice(0, ref.indexOf('/_history/'))) ?? [], version };
}

/**
 * Resolves `ref` among the Bundle's entries for a reference made from `from` (the referring entry's
 * resource). Reports ambiguity and version mismatches; returns the target when exactly one matches.
 */
export function resolveInBundle(
  ctx: CheckContext,
  bundle: BundleScope,
  ref: string,
  from: unknown,
): Json | undefined {
  const base = restfulBase(isObject(from) ? bundle.fullUrlOf.get(from) : undefined);
  const { found, version } = bundleCandidates(bundle, ref, base);
  let candidates = found.map((i) => bundle.entries[i]!);
  if (!candidates.length) return undefined;
  if (version !== undefined) {
    const exact = candidates.filter((e) => versionOf(e.resource) === version);
    if (!exact.length) {
      ctx.report(
        'error',
        'invalid',
        `The reference ${quoted(ref)} asks for version ${version}, but the Bundle entry it resolves to has meta.versionId ${versionOf(candidates[0]!.resource) ?? '(none)'}`,
        'reference',
      );
      return candidates[0]!.resource;
    }
    candidates = exact;
  }
  const urls = new Set(candidates.map((e) => e.fullUrl ?? typeAndId(e.resource)));
  // A warning: the HL7 validator resolves such a reference to one of them and only warns. (The facade
  // stores no Bundle resources; its transactions resolve references by fullUrl themselves.)
  if (urls.size > 1) {
    ctx.report(
      'warning',
      'invalid',
      `The reference ${quoted(ref)} matches more than one entry in the Bundle (${[...urls].map((u) => quoted(String(u))).join(', ')})`,
      'reference',
    );
  }
  return candidates[candidates.length - 1]!.resource;
}

function versionOf(r: Json): string | undefined {
  return isObject(r.meta) && typeof r.meta.versionId === 'string' ? r.meta.versionId : undefined;
}
