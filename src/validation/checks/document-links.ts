// A document Bundle is one whole (bundle.html, documents.html): a `stylesheet` link with a relative
// url names a Binary the document carries, and every entry is reachable from the Composition by
// following references forward or backward. The HL7 validator reports each failure as an error.
// References are every `reference` string in an entry's resource, resolved as bundle.html says
// (fullUrl; relative `Type/id` against the referring entry's RESTful base, else by type and id); a
// stylesheet link makes its entry reachable.
import { type Json, isAbsoluteUri, isObject } from '../util.ts';
import { quoted } from '../walk/report.ts';
import { bundleCandidates, restfulBase } from './bundle-references.ts';
import type { BundleScope, CheckContext } from './context.ts';

export function checkDocumentLinks(ctx: CheckContext, bundle: Json, scope: BundleScope): void {
  const entries = scope.entries;
  const styled = stylesheetEntries(ctx, bundle, scope, restfulBase(entries[0]?.fullUrl));
  if (entries[0]?.resource.resourceType !== 'Composition') return;
  // Links in either direction: an entry is reached when it links to, or is linked from, a reached one.
  const linked = entries.map((): number[] => []);
  for (let i = 0; i < entries.length; i++) {
    for (const ref of referencesIn(entries[i]!.resource)) {
      const j = resolve(scope, ref, restfulBase(entries[i]!.fullUrl));
      if (j === undefined || j === i) continue;
      linked[i]!.push(j);
      linked[j]!.push(i);
    }
  }
  const reached = new Set<number>([0, ...styled]);
  const queue = [...reached];
  while (queue.length) {
    for (const j of linked[queue.pop()!]!) {
      if (reached.has(j)) continue;
      reached.add(j);
      queue.push(j);
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
      `Entry ${quoted(name)} isn't reachable by traversing links (forward or backward) from the Composition`,
      `entry[${entryIndex(bundle, entries[i]!.resource)}]`,
    );
  }
}

/** The entries `stylesheet` links name; a relative url that names none is an error (an absolute one may point anywhere). */
function stylesheetEntries(
  ctx: CheckContext,
  bundle: Json,
  scope: BundleScope,
  base: string | undefined,
): number[] {
  const out: number[] = [];
  const links = Array.isArray(bundle.link) ? bundle.link : [];
  for (let i = 0; i < links.length; i++) {
    const link = links[i];
    if (!isObject(link) || link.relation !== 'stylesheet' || typeof link.url !== 'string') continue;
    const j = resolve(scope, link.url, base);
    if (j !== undefined) out.push(j);
    else if (!isAbsoluteUri(link.url))
      ctx.report(
        'error',
        'not-found',
        'The stylesheet reference could not be resolved in this bundle',
        `link[${i}].url`,
      );
  }
  return out;
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

/** The entry `ref` names, as reference resolution picks it (the last of several). */
function resolve(scope: BundleScope, ref: string, base: string | undefined): number | undefined {
  const { found } = bundleCandidates(scope, ref, base);
  return found[found.length - 1];
}

/** The index in `bundle.entry` of the entry holding `resource` (scope.entries skips resource-less ones). */
function entryIndex(bundle: Json, resource: Json): number {
  const list = Array.isArray(bundle.entry) ? bundle.entry : [];
  return list.findIndex((e) => isObject(e) && e.resource === resource);
}
