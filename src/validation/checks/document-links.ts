// A document Bundle is one whole: every entry is reachable from the Composition by following
// references forward or backward (bundle.html, documents.html). The HL7 validator reports an entry
// that is not as an error. References are every `reference` string in an entry's resource, resolved
// as bundle.html says (fullUrl; relative `Type/id` against the referring entry's RESTful base, else
// by type and id); a `stylesheet` link makes its entry reachable.
import { type Json, isObject } from '../util.ts';
import { restfulBase } from './bundle-references.ts';
import type { BundleScope, CheckContext } from './context.ts';

const RELATIVE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

export function checkDocumentLinks(ctx: CheckContext, bundle: Json, scope: BundleScope): void {
  const entries = scope.entries;
  if (entries[0]?.resource.resourceType !== 'Composition') return;
  const targets = entries.map(() => new Set<number>());
  for (let i = 0; i < entries.length; i++) {
    for (const ref of referencesIn(entries[i]!.resource)) {
      const j = resolve(entries, ref, restfulBase(entries[i]!.fullUrl));
      if (j !== undefined && j !== i) targets[i]!.add(j);
    }
  }
  const reached = new Set<number>([0]);
  for (const link of Array.isArray(bundle.link) ? bundle.link : []) {
    if (!isObject(link) || link.relation !== 'stylesheet' || typeof link.url !== 'string') continue;
    const j = resolve(entries, link.url, restfulBase(entries[0]!.fullUrl));
    if (j !== undefined) reached.add(j);
  }
  // Forward and backward until nothing changes: an entry is reached when it links to, or is linked
  // from, a reached one.
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 0; i < entries.length; i++) {
      if (reached.has(i)) continue;
      const linked =
        [...targets[i]!].some((j) => reached.has(j)) || [...reached].some((r) => targets[r]!.has(i));
      if (linked) {
        reached.add(i);
        changed = true;
      }
    }
  }
  for (let i = 0; i < entries.length; i++) {
    if (reached.has(i)) continue;
    const name =
      entries[i]!.fullUrl ??
      `${String(entries[i]!.resource.resourceType)}/${String(entries[i]!.resource.id)}`;
    ctx.report(
      'error',
      'invalid',
      `Entry '${name}' isn't reachable by traversing links (forward or backward) from the Composition`,
      `entry[${entryIndex(bundle, entries[i]!.resource)}]`,
    );
  }
}

/** Every `reference` string in `node`, nested resources included (`#` references are local). */
function referencesIn(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) {
    for (const v of node) referencesIn(v, out);
  } else if (isObject(node)) {
    for (const k in node) {
      const v = node[k];
      if (k === 'reference' && typeof v === 'string') {
        if (!v.startsWith('#')) out.push(v);
      } else if (typeof v === 'object' && v !== null) referencesIn(v, out);
    }
  }
  return out;
}

function resolve(entries: BundleScope['entries'], ref: string, base: string | undefined): number | undefined {
  const byUrl = (url: string) => entries.findIndex((e) => e.fullUrl === url);
  const rel = RELATIVE.exec(ref);
  if (!rel) {
    const i = byUrl(ref.replace(/\/_history\/[^/]+$/, ''));
    return i < 0 ? undefined : i;
  }
  if (base) {
    const i = byUrl(`${base}/${rel[1]}/${rel[2]}`);
    if (i >= 0) return i;
  }
  const i = entries.findIndex((e) => e.resource.resourceType === rel[1] && e.resource.id === rel[2]);
  return i < 0 ? undefined : i;
}

/** The index in `bundle.entry` of the entry holding `resource` (scope.entries skips resource-less ones). */
function entryIndex(bundle: Json, resource: Json): number {
  const list = Array.isArray(bundle.entry) ? bundle.entry : [];
  return list.findIndex((e) => isObject(e) && e.resource === resource);
}
