/** Transaction Bundles: urn:uuid fullUrls, conditional create on the business identifier. */
import type { Bundle, BundleEntry, Reference, Resource } from '@medplum/fhirtypes';
import { eachReference } from '../shared/references.ts';
import { type FhirKind, MAP, profileUrl } from './config.ts';

const KIND_BY_PROFILE = new Map(
  Object.keys(MAP.kinds).map((k) => [profileUrl(k as FhirKind), k as FhirKind]),
);
const ORDER = new Map(MAP.bundleOrder.map((k, i) => [k, i]));

function businessId(resource: Resource): string {
  const ids = (
    resource as { identifier?: { system?: string; value?: string }[] | { system?: string; value?: string } }
  ).identifier;
  const list = Array.isArray(ids) ? ids : ids ? [ids] : [];
  return list.find((i) => i.system === MAP.identifiers.business)!.value!;
}

/** The Reference objects inside a resource that point into the Bundle (`urn:uuid:`). */
function bundleReferences(resource: unknown): Reference[] {
  const out: Reference[] = [];
  eachReference(resource, (ref, holder) => {
    if (ref.startsWith('urn:uuid:')) out.push(holder as Reference);
  });
  return out;
}

/**
 * A transaction Bundle of `resources`, ordered so referenced kinds come first. References to
 * resources outside the Bundle become conditional references on the business identifier
 * (`Patient?identifier=urn:ietf:rfc:3986|urn:uuid:…`), which the receiving server resolves.
 */
export function transactionBundle(resources: Resource[], opts: { rewriteOutside?: boolean } = {}): Bundle {
  const entries = resources.map((resource) => {
    const kind = KIND_BY_PROFILE.get(resource.meta?.profile?.[0] ?? '');
    const url = businessId(resource);
    const entry: BundleEntry = {
      fullUrl: url,
      resource,
      request: {
        method: 'POST',
        url: resource.resourceType,
        ifNoneExist: `identifier=${MAP.identifiers.business}|${url}`,
      },
    };
    return { order: kind ? ORDER.get(kind)! : ORDER.size, entry };
  });
  entries.sort((a, b) => a.order - b.order);
  if (opts.rewriteOutside !== false) {
    const inside = new Set(entries.map((e) => e.entry.fullUrl));
    for (const { entry } of entries) {
      for (const ref of bundleReferences(entry.resource)) {
        if (!inside.has(ref.reference!))
          ref.reference = `${ref.type}?identifier=${MAP.identifiers.business}|${ref.reference}`;
      }
    }
  }
  return { resourceType: 'Bundle', type: 'transaction', entry: entries.map((e) => e.entry) };
}
