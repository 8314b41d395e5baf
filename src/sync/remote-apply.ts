/**
 * Applying remote resources to the local store (pull, and push's remote-wins resolution of a 412).
 * The writes are marked as pulled, so the outbox hook does not send them back.
 */
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { changeRefusal, identifiersHeldAlone } from '../mapping/index.ts';
import { FhirError, ruleOf } from '../shared/outcome.ts';
import { eachReference, isFhirId, relativeReference } from '../shared/references.ts';
import { patientReferenceOf } from '../shared/references.ts';
import { type ReferenceTarget, identifierCriteria, missingTargets } from '../store/index.ts';
import { type Transfer, auditTransfers } from './audit.ts';
import type { ConflictPolicy } from './config.ts';
import { type SyncContext, type SyncStore, businessIdentifier, contentKey, timeSpent } from './context.ts';
import { collectReferences, relativeParts, translateReferences } from './references.ts';
import { mappedReference, relinkWaiting } from './relink.ts';
import {
  type IdMapping,
  type Undelivered,
  type Unlinked,
  contentDigest,
  forgetSent,
  mappingsForRemote,
  markPulledWrites,
  noteUnlinked,
  supersedeQueued,
  unblockConsentPatients,
  undeliveredChanges,
  upsertMappings,
  wasSentByUs,
} from './repository.ts';
import { issueSummary } from './resilience.ts';

type Tx = Parameters<Parameters<SyncStore['transaction']>[0]>[0];

/**
 * Whether a pull leaves a local resource as it is: a change of it is queued (its push meets any
 * remote edit and settles it by the 412 policy), or a delete of it waits (a delete is the last word
 * whatever the family), or a change of it is stuck here (blocked by consent, dead-lettered) and its
 * family does not let the remote win. On a remote-wins family the remote version comes down over a
 * stuck change (it would win the push's 412 anyway), and the stuck row, older than the local version
 * then on the remote, is settled without being sent (`isOlderThanSent`).
 */
export function pullLeavesLocal(undelivered: Undelivered, policy: ConflictPolicy | undefined): boolean {
  return undelivered.queued || undelivered.deletes || (undelivered.stuck && policy !== 'remote-wins');
}

/**
 * `applied`: stored locally; `unchanged`: the version we already have, or our own write coming back
 * (echo); `skipped`: the local copy has changes not yet on the remote — the push of those meets the
 * remote change as a 412 and resolves it by the family's conflict policy (recorded as a conflict);
 * `refused`: not stored — without a FHIR id to map it by, judged (`judged`) and found failing what a
 * write here must pass, referring to a resource deleted here (store-ref-1), or new to the id map with a
 * business identifier more than one local resource holds.
 */
export type ApplyOutcome = 'applied' | 'unchanged' | 'skipped' | 'refused';

export interface ApplyOptions {
  /**
   * Push's remote-wins resolution: queued local changes of the resource are marked superseded, except
   * the outbox row `keepRow` being settled by the caller; `skipped` when a local delete of it is queued,
   * or (`newerLocal` in applyRemote's answer) when a local edit committed after the version judged.
   */
  supersede?: { keepRow?: string };
  /** Judge each resource that would be stored with `ctx.checkPulled` first (the pull does). */
  judged?: boolean;
}

/** A remote resource in local shape, with the remote `Type/id`s it names that the id map does not know. */
interface LocalCopy {
  resource: Resource;
  /** Named by the remote's absolute URL until they are mapped (relink.ts). */
  unlinked: string[];
}

/**
 * Remote copy → local shape: no remote id or server meta, references through the id map. A reference
 * points at the mapped local resource, or — for a resource the id map does not know (not pulled yet,
 * or never: the pull does not fetch its type) — at the remote's own absolute URL, never the bare
 * remote id, which here would dangle or name some unrelated local resource; relink.ts rewrites it once
 * the target is mapped. A versioned reference names the local copy of that version when it is the one
 * the id map last synced, else the remote's URL.
 */
function toLocal(remote: Resource, byRemote: Map<string, IdMapping>, remoteBase: string): LocalCopy {
  const { id: _id, meta, ...rest } = remote;
  const keptMeta = meta && { profile: meta.profile, security: meta.security, tag: meta.tag };
  const clean = {
    ...rest,
    ...(keptMeta && (keptMeta.profile || keptMeta.security || keptMeta.tag) ? { meta: keptMeta } : {}),
  } as Resource;
  const unlinked = new Set<string>();
  const resource = translateReferences(clean, (ref) => {
    const { target, version } = relativeParts(ref) as { target: string; version?: string };
    const m = byRemote.get(target);
    if (!m) unlinked.add(target);
    return { reference: mappedReference(m, version) ?? `${remoteBase}/${ref}` };
  }).value;
  return { resource, unlinked: [...unlinked] };
}

function mappingOf(local: Resource, remote: Resource): IdMapping {
  return {
    resource_type: local.resourceType,
    local_id: local.id as string,
    remote_id: remote.id as string,
    local_version: local.meta?.versionId ?? null,
    remote_version: remote.meta?.versionId ?? null,
  };
}

/**
 * One remote resource (see applyRemoteBatch), with the outcome of a refusal that names the rule (a
 * reference to a resource deleted here).
 */
export async function applyRemote(
  ctx: SyncContext,
  remote: Resource,
  opts: ApplyOptions = {},
): Promise<{ outcome: ApplyOutcome; refusal?: OperationOutcome; newerLocal?: boolean }> {
  const { outcomes, refusals, newer } = await applyBatch(ctx, [remote], opts);
  return { outcome: outcomes[0], refusal: refusals.get(0), ...(newer.has(0) ? { newerLocal: true } : {}) };
}

/** What a pulled write did locally, for its audit row. */
function imported(resource: Resource, action: 'create' | 'update'): Transfer {
  return {
    type: resource.resourceType,
    localId: resource.id as string,
    action,
    patientId: patientReferenceOf(resource)?.slice('Patient/'.length),
  };
}

/** Why each remote resource of a batch (by its index) was refused: a rule and issue codes, never content. */
export type RefusalReasons = Map<number, string>;

/**
 * Marks `refused` each resource about to be stored (`applied`) that fails what a write here must pass,
 * logged by its issue codes only. A version we already hold (`unchanged`) is not judged again.
 */
async function refuseFailing(
  ctx: SyncContext,
  remotes: Resource[],
  outcomes: ApplyOutcome[],
  why: RefusalReasons,
) {
  for (const [i, r] of remotes.entries()) {
    if (outcomes[i] !== 'applied') continue;
    const refusal = await ctx.checkPulled(r);
    if (!refusal) continue;
    outcomes[i] = 'refused';
    const issues = issueSummary(refusal);
    why.set(i, `fails what a write here must pass: ${issues}`);
    ctx.log.warn(
      { remote: `${r.resourceType}/${r.id}`, issues },
      'sync: pulled resource refused (it fails what a write here must pass)',
    );
  }
}

/**
 * Whether the id map can hold `remote`: a FHIR id, and a versionId that is one too when given. Any
 * other text (none, a control character a database refuses) could not be mapped, nor asked about.
 */
function mappable(remote: Resource): boolean {
  const version = remote.meta?.versionId;
  return isFhirId(remote.id) && (version === undefined || isFhirId(version));
}

/**
 * The relative references of a local copy (all of them mapped through the id map) with their FHIRPath
 * (`Observation.derivedFrom[0]`): each must name a current resource here (store-ref-1).
 */
function localTargets(local: Resource): ReferenceTarget[] {
  const out: ReferenceTarget[] = [];
  eachReference(
    local,
    (ref, _holder, path) => relativeReference(ref) && out.push({ ref, path }),
    local.resourceType,
  );
  return out;
}

/**
 * store-ref-1 for what the sync is about to store, as for a write to the facade: the local copies whose
 * references name a resource that is not current here — one deleted here, whose id the map still
 * holds — each with its 422 outcome. One query for all of them, in the writing transaction.
 */
async function danglingCopies(tx: Tx, locals: Map<number, Resource>): Promise<Map<number, OperationOutcome>> {
  const targets = [...locals].map(([i, local]) => [i, localTargets(local)] as const);
  const refs = [...new Set(targets.flatMap(([, t]) => t.map((x) => x.ref)))];
  const refusals = new Map<number, OperationOutcome>();
  if (!refs.length) return refusals;
  const absent = new Set(await tx.absent(refs));
  for (const [i, t] of targets) {
    const missing = t.filter((x) => absent.has(x.ref));
    if (missing.length) refusals.set(i, missingTargets(missing).outcome);
  }
  return refusals;
}

/** Many remote resources (a search page) in one local transaction, audited as imports in it. */
export async function applyRemoteBatch(
  ctx: SyncContext,
  remotes: Resource[],
  opts: ApplyOptions = {},
): Promise<{ outcomes: ApplyOutcome[]; why: RefusalReasons }> {
  const { outcomes, why } = await applyBatch(ctx, remotes, opts);
  return { outcomes, why };
}

async function applyBatch(
  ctx: SyncContext,
  remotes: Resource[],
  opts: ApplyOptions,
): Promise<{
  outcomes: ApplyOutcome[];
  refusals: Map<number, OperationOutcome>;
  why: RefusalReasons;
  /** Skipped under `supersede`: a local edit committed after the version judged (see applyOne). */
  newer: Set<number>;
}> {
  const keys = remotes.map((r) => `${r.resourceType}/${r.id}`);
  const usable = remotes.map(mappable);
  const why: RefusalReasons = new Map();
  const newer = new Set<number>();
  for (const [i, r] of remotes.entries())
    if (!usable[i]) {
      why.set(i, 'no FHIR id to map it by');
      ctx.log.warn({ type: r.resourceType }, 'sync: remote resource refused (no FHIR id to map it by)');
    }
  const refs = remotes.flatMap((r, i) => (usable[i] ? [...collectReferences(r)] : []));
  const asked = keys.filter((_k, i) => usable[i]);
  const byRemote = await timeSpent(ctx, 'database', () => mappingsForRemote(ctx.store, [...asked, ...refs]));
  const outcomes: ApplyOutcome[] = remotes.map((r, i) => {
    if (!usable[i]) return 'refused';
    const version = byRemote.get(keys[i])?.remote_version;
    return version && version === r.meta?.versionId ? 'unchanged' : 'applied';
  });
  if (opts.judged) await refuseFailing(ctx, remotes, outcomes, why);
  let refusals = new Map<number, OperationOutcome>();
  const candidates = remotes.flatMap((_r, i) => (outcomes[i] === 'applied' ? [i] : []));
  if (!candidates.length) return { outcomes, refusals, why, newer };
  const copies = new Map(candidates.map((i) => [i, toLocal(remotes[i], byRemote, ctx.remote.baseUrl)]));
  const locals = new Map([...copies].map(([i, c]) => [i, c.resource]));
  await timeSpent(ctx, 'database', () =>
    ctx.store.transaction(async (tx) => {
      refusals = await danglingCopies(tx, locals);
      for (const [i, refusal] of refusals) {
        outcomes[i] = 'refused';
        const issues = issueSummary(refusal);
        why.set(i, `refers to a resource deleted here: ${issues}`);
        ctx.log.warn(
          { remote: keys[i], issues },
          'sync: remote resource refused (it refers to a resource deleted here)',
        );
      }
      const todo = candidates.filter((i) => !refusals.has(i));
      if (!todo.length) return;
      markPulledWrites(tx);
      const written: Written = { transfers: [], unlinked: [] };
      const existing = await createFresh(tx, todo, remotes, copies, keys, byRemote, written);
      for (const [i, localId] of existing) {
        const refused = freshRefusal(localId);
        if (refused) {
          outcomes[i] = 'refused';
          why.set(i, refused);
          ctx.log.warn({ remote: keys[i] }, `sync: pulled resource refused (${refused})`);
          continue;
        }
        const applied = await applyOne(
          ctx,
          tx,
          remotes[i],
          copies.get(i) as LocalCopy,
          localId as string | undefined, // not refused: a local id, or none
          opts,
          written,
        );
        if (applied === NEWER_LOCAL) newer.add(i);
        outcomes[i] = applied === NEWER_LOCAL ? 'skipped' : applied;
      }
      await auditTransfers(tx, ctx, 'import', written.transfers);
      // References within the page, and to targets this page mapped, name the local copies now.
      await noteUnlinked(tx, written.unlinked);
      await relinkWaiting(ctx, tx, true);
    }),
  );
  return { outcomes, refusals, why, newer };
}

/**
 * Why a resource createFresh answered for is not applied: its identifier matches more than one local
 * resource (AMBIGUOUS), or another local resource holds one of its identifiers (its 409, whose rule
 * is named; no value is). Undefined for a local id to apply onto, or none.
 */
function freshRefusal(found: string | typeof AMBIGUOUS | FhirError | undefined): string | undefined {
  if (found === AMBIGUOUS) return 'its business identifier matches more than one local resource';
  if (found instanceof FhirError)
    return `another local resource carries one of its identifiers (${ruleOf(found.outcome.issue?.[0] ?? {}) ?? 'duplicate'})`;
  return undefined;
}

/** In createFresh's answer: the business identifier matches more than one local resource. */
const AMBIGUOUS = Symbol('ambiguous');

/**
 * Resources new to the id map are created together, conditionally on their business identifier;
 * returns the others (mapped, or found locally by identifier) with their local id, to update one by
 * one, AMBIGUOUS where the identifier matches more than one local resource, or the 409 of one that
 * carries an identifier another local resource holds (a HETU, a second global identifier:
 * `identifiersHeldAlone`), which would make one person two clients or one resource two.
 */
async function createFresh(
  tx: Tx,
  todo: number[],
  remotes: Resource[],
  copies: Map<number, LocalCopy>,
  keys: string[],
  byRemote: Map<string, IdMapping>,
  written: Written,
): Promise<Map<number, string | typeof AMBIGUOUS | FhirError | undefined>> {
  const fresh = todo.flatMap((i) => {
    const ident = byRemote.get(keys[i])?.local_id ? undefined : businessIdentifier(remotes[i]);
    return ident ? [{ i, ifNoneExist: identifierCriteria(ident.system, ident.value) }] : [];
  });
  const made = await tx.createMany(
    fresh.map(({ i, ifNoneExist }) => {
      const resource = copies.get(i)?.resource as Resource;
      const unique = identifiersHeldAlone(resource);
      return { resource, opts: { ifNoneExist, ...(unique ? { unique } : {}) } };
    }),
  );
  const existing = new Map<number, string | typeof AMBIGUOUS | FhirError | undefined>(
    todo.map((i) => [i, byRemote.get(keys[i])?.local_id]),
  );
  const mappings: IdMapping[] = [];
  const created: Resource[] = [];
  for (const [k, { i }] of fresh.entries()) {
    const w = made[k];
    // 412: more than one local resource holds the identifier — which one it is cannot be told.
    if (w instanceof FhirError && w.status === 412) {
      existing.set(i, AMBIGUOUS);
      continue;
    }
    if (w instanceof FhirError && w.status === 409 && w.outcome.issue?.[0]?.code === 'duplicate') {
      existing.set(i, w);
      continue;
    }
    if (w instanceof Error) throw w;
    if (!w.created) {
      existing.set(i, w.resource.id);
      continue;
    }
    existing.delete(i);
    created.push(w.resource);
    written.transfers.push(imported(w.resource, 'create'));
    written.unlinked.push(unlinkedOf(w.resource, copies.get(i) as LocalCopy));
    mappings.push(mappingOf(w.resource, remotes[i]));
  }
  await upsertMappings(tx, mappings);
  // Consents changed remotely re-check their clients' blocked rows (also where no hook runs).
  await unblockConsentPatients(tx, created);
  return existing;
}

/** The local resource a remote one new to the id map is, found by its business identifier. */
async function byIdentifier(tx: Tx, remote: Resource): Promise<string | undefined> {
  const ident = businessIdentifier(remote);
  if (!ident) return undefined;
  return (await tx.search(remote.resourceType, { identifier: `${ident.system}|${ident.value}` })).resources[0]
    ?.id;
}

/**
 * In applyOne's answer under `supersede`: not written, a local edit committed after the version judged
 * (its row, queued after the supersede was decided, is left to meet the remote by the 412 policy).
 */
const NEWER_LOCAL = Symbol('newer local edit');

async function applyOne(
  ctx: SyncContext,
  tx: Tx,
  remote: Resource,
  copy: LocalCopy,
  mappedLocalId: string | undefined,
  opts: ApplyOptions,
  out: Written,
): Promise<ApplyOutcome | typeof NEWER_LOCAL> {
  const type = remote.resourceType;
  const local = copy.resource;
  const localId = mappedLocalId ?? (await byIdentifier(tx, remote));
  // Our own write coming back (its answer may still be on its way): not a remote change.
  if (localId && !opts.supersede && (await wasSentByUs(tx, type, localId, contentDigest(contentKey(remote)))))
    return 'unchanged';
  // The version the checks below judge: the pull and a remote-wins resolution write over that version
  // only, so a local edit that commits meanwhile is not overwritten (412: its push meets the remote
  // change by the 412 policy).
  const current = localId ? await tx.read(type, localId).catch(() => undefined) : undefined;
  if (current && keptHere(ctx, current, local)) return 'skipped';
  if (localId && !opts.supersede) {
    const undelivered = await undeliveredChanges(tx, type, localId);
    if (pullLeavesLocal(undelivered, ctx.families[type]?.conflict))
      return leftLocal(ctx, type, localId, remote);
  }
  // A local delete is the last word on a resource: the remote version does not bring it back here
  // (and the delete, still queued, goes without If-Match).
  if (localId && opts.supersede && (await undeliveredChanges(tx, type, localId)).deletes) return 'skipped';
  if (current && contentKey(current) === contentKey(local)) {
    if (localId && opts.supersede) {
      // Nothing to write, but the version judged is held (written back unchanged: a no-op) before
      // queued rows are superseded, so a local edit committed since is not among them.
      if (!(await writeLocal(tx, current, localId, current))) return NEWER_LOCAL;
      await supersedeQueued(tx, type, localId, opts.supersede.keepRow);
    }
    await upsertMappings(tx, [mappingOf(current, remote)]);
    return 'unchanged';
  }
  const written = await writeLocal(tx, local, localId, current);
  if (!written) return opts.supersede ? NEWER_LOCAL : leftLocal(ctx, type, localId as string, remote);
  // After the write, which holds the resource: a local edit queued since the version judged cannot be
  // among the rows superseded (it made the write fail instead).
  if (localId && opts.supersede) await supersedeQueued(tx, type, localId, opts.supersede.keepRow);
  out.unlinked.push(unlinkedOf(written.resource, copy));
  // What we sent of it before is no longer the remote's: the same content again is a remote edit.
  await forgetSent(tx, type, written.resource.id as string);
  await unblockConsentPatients(tx, [written.resource]);
  await upsertMappings(tx, [mappingOf(written.resource, remote)]);
  out.transfers.push(imported(written.resource, localId ? 'update' : 'create'));
  return 'applied';
}

/** What a batch wrote: its audit rows, and the references its local copies left unlinked. */
interface Written {
  transfers: Transfer[];
  unlinked: Unlinked[];
}

const unlinkedOf = (local: Resource, copy: LocalCopy): Unlinked => ({
  type: local.resourceType,
  localId: local.id as string,
  targets: copy.unlinked,
});

/**
 * Whether the local version stays because the remote one would undo what a change rule keeps here (a
 * withdrawn consent stays withdrawn, consent-withdrawal-final), as a write here would be refused.
 * Logged by rule, never content; the local version's own push settles the remote by the 412 policy.
 */
function keptHere(ctx: SyncContext, current: Resource, local: Resource): boolean {
  const refused = changeRefusal(current, local);
  if (!refused) return false;
  ctx.log.warn(
    { resource: `${current.resourceType}/${current.id}`, rule: ruleOf(refused) },
    'sync: pull kept the local version: the remote one would undo what a change rule keeps here',
  );
  return true;
}

function leftLocal(ctx: SyncContext, type: string, localId: string, remote: Resource): 'skipped' {
  ctx.log.info(
    { resource: `${type}/${localId}`, remote: `${type}/${remote.id}` },
    'sync: pull left a resource with local changes queued; their push resolves any conflict (412 policy)',
  );
  return 'skipped';
}

/**
 * The local copy stored: created, or written over `current`, conditional on its version (the pull's
 * and a remote-wins resolution's alike); undefined when a local edit committed since.
 */
async function writeLocal(
  tx: Tx,
  local: Resource,
  localId: string | undefined,
  current: Resource | undefined,
): Promise<{ resource: Resource } | undefined> {
  if (!localId) return tx.create(local);
  const version = current?.meta?.versionId;
  const conditional = version !== undefined;
  try {
    return await tx.update(
      { ...local, id: localId } as Resource,
      conditional ? { ifMatch: version } : { ifMatchOptional: true },
    );
  } catch (err) {
    if (conditional && err instanceof FhirError && err.status === 412) return undefined;
    throw err;
  }
}
