import type { Bundle, Identifier, Resource } from '@medplum/fhirtypes';
import { GLOBAL_IDENTIFIER_SYSTEM } from '../../domain/index.ts';
import { transactionBundle } from '../../mapping/index.ts';
import { weakEtag } from '../../shared/etag.ts';
import { FhirError } from '../../shared/outcome.ts';
import { rewriteReferences } from '../fhir/bundle-links.ts';
import { type WriteBundleContext, processBundle } from '../fhir/bundle.ts';
import { assertSameClient } from '../fhir/interactions.ts';
import type { FacadeStore } from '../ports.ts';
import { type DomainSource, inDomainTerms } from './fields.ts';
import { withOriginatorIds } from './originator-ids.ts';
import { assertSameClientOf } from './same-client.ts';
import { sameContent } from './same-content.ts';

/**
 * Stores SDK resources as one transaction: new ones as conditional creates, existing ones (found by
 * business identifier) as versioned updates, so a changed plan or team keeps its history; an
 * unchanged one (`sameContent`) is left out and answered as stored. What the stored version holds of
 * the local ids of the sender that wrote it is kept (`withOriginatorIds`). A new version stays its client's
 * (`same-client`). With `source`, the one domain object sent alone, a refusal about a reference is
 * told as the field that made it (`inDomainTerms`).
 */
export async function writeAll(
  store: FacadeStore,
  ctx: WriteBundleContext,
  resources: Resource[],
  source?: DomainSource,
): Promise<{ resources: Resource[]; created: boolean }> {
  const bundle: Bundle = transactionBundle(resources);
  const unchanged: Resource[] = [];
  // An unchanged object leaves the transaction; what referred to its fullUrl now names the stored one.
  const leftOut = new Map<string, string>();
  for (const entry of [...(bundle.entry ?? [])]) {
    const sent = entry.resource as Resource & { identifier?: Identifier[] | Identifier };
    const ids = Array.isArray(sent.identifier) ? sent.identifier : sent.identifier ? [sent.identifier] : [];
    const business = ids.find((i) => i.system === GLOBAL_IDENTIFIER_SYSTEM)?.value;
    if (!business) continue;
    const [[existing]] = await store.findByIdentifiers(sent.resourceType, [
      { system: GLOBAL_IDENTIFIER_SYSTEM, value: business },
    ]);
    const resource = existing ? withOriginatorIds(sent, existing) : sent;
    if (existing) {
      assertSameClient(resource, existing); // a new version may not swap the person
      await assertSameClientOf(store, resource, existing, source); // nor move to another person
    }
    if (existing && sameContent(existing, resource)) {
      unchanged.push(existing);
      if (entry.fullUrl) leftOut.set(entry.fullUrl, `${existing.resourceType}/${existing.id}`);
      bundle.entry = bundle.entry?.filter((e) => e !== entry);
    } else if (existing) {
      entry.resource = { ...resource, id: existing.id };
      entry.request = {
        method: 'PUT',
        url: `${resource.resourceType}/${existing.id}`,
        ifMatch: weakEtag(existing.meta?.versionId ?? ''),
      };
    }
  }
  if (leftOut.size) bundle.entry = bundle.entry?.map((e) => rewriteReferences(e, leftOut));
  const response = await processBundle(store, ctx, bundle, 'representation').catch((err: unknown) => {
    if (!source || !(err instanceof FhirError)) throw err;
    const issues = err.outcome.issue ?? [];
    const told = inDomainTerms(issues, bundle.entry ?? [], source);
    if (told.every((i, at) => i === issues[at])) throw err;
    throw new FhirError(err.status, told, { ...err.headers });
  });
  const entries = response.entry ?? [];
  return {
    resources: [...unchanged, ...entries.map((e) => e.resource as Resource)],
    created: entries.some((e) => e.response?.status.startsWith('201')),
  };
}
