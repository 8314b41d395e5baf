/**
 * A pulled local copy names a remote resource the id map did not know by the remote's absolute URL
 * (remote-apply.ts). Once that target is mapped — pulled later in the same page, in a later pull type,
 * in a later pull, or mapped by a push — the reference is rewritten here to the local copy: a pulled
 * write (not queued for the remote), over the version the sync last wrote or sent only.
 */
import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from '../shared/outcome.ts';
import { eachReference, underBaseUrl } from '../shared/references.ts';
import type { SyncContext, SyncStore } from './context.ts';
import { relativeParts } from './references.ts';
import {
  type IdMapping,
  forgetLinked,
  leftUnlinked,
  linkable,
  mappingsForLocal,
  mappingsForRemote,
  markPulledWrites,
  undeliveredChanges,
  upsertMappings,
} from './repository.ts';

type Tx = Parameters<Parameters<SyncStore['transaction']>[0]>[0];

/** Local copies looked at in one pass; the rest wait for the next one. */
const PASS = 200;

/**
 * The local reference a remote one maps to through its target's mapping `m`; undefined when the target
 * is not mapped, or for a versioned reference, when the version is not the one the map last synced.
 */
export function mappedReference(m: IdMapping | undefined, version?: string): string | undefined {
  if (!m) return undefined;
  if (version === undefined) return `${m.resource_type}/${m.local_id}`;
  return m.remote_version === version && m.local_version
    ? `${m.resource_type}/${m.local_id}/_history/${m.local_version}`
    : undefined;
}

/**
 * Rewrites the references of the local copies whose unlinked targets are mapped now; how many.
 * `fresh` (a pull page's own transaction): only copies no pass has looked at yet, so copies left
 * waiting (edited here) are not read again with every page.
 */
export async function relinkWaiting(ctx: SyncContext, tx: Tx, fresh = false): Promise<number> {
  markPulledWrites(tx);
  let n = 0;
  for (const { resource_type: type, local_id: id } of await linkable(tx, PASS, fresh))
    if (await relinkOne(ctx, tx, type, id)) n++;
  return n;
}

/**
 * One pass in a transaction of its own (after a pull: targets a push mapped meanwhile, and the copies
 * earlier passes left waiting, longest-waiting first).
 */
export function relinkAfterPull(ctx: SyncContext): Promise<number> {
  return ctx.store.transaction((tx) => relinkWaiting(ctx, tx));
}

async function relinkOne(ctx: SyncContext, tx: Tx, type: string, id: string): Promise<boolean> {
  const current = await tx.read(type, id).catch(() => undefined);
  if (!current) {
    await forgetLinked(tx, type, id, true);
    return false;
  }
  const key = `${type}/${id}`;
  const mapping = (await mappingsForLocal(tx, [key])).get(key);
  const undelivered = await undeliveredChanges(tx, type, id);
  // Edited here since the sync wrote it: that edit's push carries the URLs (they name the remote's own
  // resources); relinked once it has gone.
  if (mapping?.local_version !== current.meta?.versionId || undelivered.queued || undelivered.stuck) {
    await leftUnlinked(tx, type, id);
    return false;
  }
  const relinked = await withLocalReferences(ctx, tx, current);
  if (relinked) {
    const written = await tx.update(relinked, { ifMatch: current.meta?.versionId }).catch((err) => {
      if (err instanceof FhirError && err.status === 412) return undefined;
      throw err;
    });
    if (!written) {
      await leftUnlinked(tx, type, id);
      return false;
    }
    await upsertMappings(tx, [
      { ...mapping, local_version: written.resource.meta?.versionId ?? null } as IdMapping,
    ]);
  }
  await forgetLinked(tx, type, id);
  return relinked !== undefined;
}

/**
 * `local` with each reference under the remote's base whose target is mapped to a resource current
 * here named by its local reference; undefined when none is.
 */
async function withLocalReferences(ctx: SyncContext, tx: Tx, local: Resource): Promise<Resource | undefined> {
  const remoteParts = (ref: string) => {
    const rest = underBaseUrl(ref, ctx.remote.baseUrl);
    return rest ? relativeParts(rest) : undefined;
  };
  const targets = new Set<string>();
  eachReference(local, (ref) => {
    const parts = remoteParts(ref);
    if (parts) targets.add(parts.target);
  });
  if (!targets.size) return undefined;
  const byRemote = await mappingsForRemote(tx, targets);
  const to = new Map<string, string>();
  eachReference(local, (ref) => {
    const parts = remoteParts(ref);
    const mapped = parts && mappedReference(byRemote.get(parts.target), parts.version);
    if (mapped) to.set(ref, mapped);
  });
  // A target deleted here keeps the remote's URL (a local reference to it would dangle: store-ref-1).
  const gone = new Set(await tx.absent([...new Set([...to.values()].map(unversioned))]));
  for (const [ref, mapped] of to) if (gone.has(unversioned(mapped))) to.delete(ref);
  if (!to.size) return undefined;
  const copy = structuredClone(local);
  eachReference(copy, (ref, holder) => {
    const mapped = to.get(ref);
    if (mapped) holder.reference = mapped;
  });
  return copy;
}

const unversioned = (ref: string) => ref.replace(/\/_history\/.*$/, '');
