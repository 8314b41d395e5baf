import type { Bundle, Resource } from '@medplum/fhirtypes';
import { GLOBAL_IDENTIFIER_SYSTEM } from '../../domain/index.ts';
import { kindOf, transactionBundle } from '../../mapping/index.ts';
import { weakEtag } from '../../shared/etag.ts';
import { FhirError } from '../../shared/outcome.ts';
import { rewriteReferences } from '../fhir/bundle-links.ts';
import { type WriteBundleContext, processBundle } from '../fhir/bundle.ts';
import { assertSameClient } from '../fhir/interactions.ts';
import type { FacadeStore, StoreWrites } from '../ports.ts';
import { type PlanAt, assertClientActivities } from './client-activities.ts';
import { businessIdOf, clientLockKey } from './client-data.ts';
import { type BasedOn, type DomainSource, inDomainTerms } from './fields.ts';
import { assertHeldWhole } from './held-whole.ts';
import { type TeamAt, assertOneActiveTeam } from './one-team.ts';
import { withOriginatorIds } from './originator-ids.ts';
import { ReadBack } from './read-back.ts';
import { assertSameClientOf } from './same-client.ts';
import { isRedactedCopy, sameContent } from './same-content.ts';
import { changedMeanwhile, staleVersion } from './same-version.ts';

/** What a write is besides its resources. */
export interface WriteOptions {
  /** The one domain object sent alone (its refusals are told as its fields; `basedOn`: see same-version). */
  source?: DomainSource;
  /** The teams it writes, for `one-active-team`. */
  teams?: readonly TeamAt[];
  /** The plans it writes, for `tyk-rwa-3` across the client's plans, the stored ones too. */
  plans?: readonly PlanAt[];
}

/** The locks of the clients whose stored objects a rule of this write reads (`clientLockKey`). */
function clientLocks(opts: WriteOptions): string[] {
  const clients = [
    ...(opts.teams ?? []).filter((t) => t.team.ended === undefined).map((t) => t.team.clientId),
    ...(opts.plans ?? []).filter((p) => p.plan.status === 'active').map((p) => p.plan.clientId),
  ];
  return [...new Set(clients.map(clientLockKey))];
}

/**
 * Stores SDK resources as one transaction: new ones as conditional creates, existing ones (found by
 * business identifier) as versioned updates, so a changed plan or team keeps its history; an
 * unchanged one (`sameContent`) is left out and answered as stored. What the stored version holds of
 * the local ids of the sender that wrote it is kept (`withOriginatorIds`). A new version stays its client's
 * (`same-client`) and is written over the version it was made from (`same-version`: the source's
 * `basedOn`, else the one found here), a stale one refused as `changedMeanwhile`, and never over a
 * stored version holding what the domain object cannot hold (`unheld-element`); a client keeps one
 * active team (`one-active-team`) and its rehabilitative work activity within `tyk-rwa-3` across its
 * plans, stored ones too (`assertClientActivities`), each checked against the client's stored objects
 * in the transaction of the write, under the client's lock. With `source`, the one domain object sent
 * alone, a refusal about a reference is told as the field that made it (`inDomainTerms`).
 */
export async function writeAll(
  store: FacadeStore,
  ctx: WriteBundleContext,
  resources: Resource[],
  opts: WriteOptions = {},
): Promise<Written> {
  const locks = clientLocks(opts);
  if (!locks.length) return writeResources(store, ctx, resources, opts);
  // A rule over the client's stored objects is checked and its write made in one transaction, under
  // the client's lock: two writes for one client cannot both pass the check (processBundle joins it).
  return store.transaction(async (tx) => {
    await tx.lock(locks);
    await assertOneActiveTeam(tx, opts.teams ?? []);
    await assertClientActivities(tx, opts.plans ?? []);
    return writeResources(tx, ctx, resources, opts);
  });
}

type Written = { resources: Resource[]; created: boolean };

/** `writeAll`'s write, on the store or the transaction the checks ran in. */
async function writeResources(
  store: StoreWrites,
  ctx: WriteBundleContext,
  resources: Resource[],
  opts: WriteOptions,
): Promise<Written> {
  const { source } = opts;
  const bundle: Bundle = transactionBundle(resources);
  const unchanged: Resource[] = [];
  // An unchanged object leaves the transaction; what referred to its fullUrl now names the stored one.
  const leftOut = new Map<string, string>();
  const readBack = new ReadBack(store);
  for (const entry of [...(bundle.entry ?? [])]) {
    const sent = entry.resource as Resource;
    const business = businessIdOf(sent);
    if (!business) continue;
    const [[existing]] = await store.findByIdentifiers(sent.resourceType, [
      { system: GLOBAL_IDENTIFIER_SYSTEM, value: business },
    ]);
    const basedOn = basedOnOf(source, sent);
    if (basedOn) assertBasedOn(basedOn, existing, source, sent);
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
      // Nor erase what the domain object cannot hold. A copy redacted for this caller lacks what it may
      // not see: the guard answers that write (403 sec-tk-1), not a rule about the redaction's label.
      if (!isRedactedCopy(existing)) await assertHeldWhole(readBack, existing);
      entry.resource = { ...resource, id: existing.id };
      entry.request = {
        method: 'PUT',
        url: `${resource.resourceType}/${existing.id}`,
        // Compare-and-set on the version the change was made from: a write in between is refused.
        ifMatch: weakEtag(basedOn?.versionId ?? existing.meta?.versionId ?? ''),
      };
    }
  }
  if (leftOut.size) bundle.entry = bundle.entry?.map((e) => rewriteReferences(e, leftOut));
  const response = await processBundle(store, ctx, bundle, 'representation').catch((err: unknown) => {
    if (!(err instanceof FhirError)) throw err;
    const stale = staleVersion(err, bundle.entry ?? [], source);
    if (stale) throw stale;
    if (!source) throw err;
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

/** The version `sent` was made from: the source's `basedOn`, when `sent` is the object's own resource. */
function basedOnOf(source: DomainSource | undefined, sent: Resource): BasedOn | undefined {
  if (!source?.basedOn) return undefined;
  try {
    return kindOf(sent) === source.kind ? source.basedOn : undefined;
  } catch {
    return undefined; // not of our profiles: no domain object's own resource
  }
}

/**
 * `same-version` before anything is written: what the change was made from is gone (deleted
 * meanwhile, or never stored: not a new object to create in its place), another resource, or no
 * longer the current version — even when the change would leave it unchanged.
 */
function assertBasedOn(
  basedOn: BasedOn,
  existing: Resource | undefined,
  source: DomainSource | undefined,
  sent: Resource,
): void {
  const gone = !existing || (basedOn.id !== undefined && existing.id !== basedOn.id);
  if (gone || existing.meta?.versionId !== basedOn.versionId) throw changedMeanwhile(source, sent);
}
