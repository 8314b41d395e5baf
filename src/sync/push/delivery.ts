/**
 * Sending writes: one Bundle per wave when the remote takes them, else one by one. Every write path
 * recognises our own earlier write (an answer lost on the way back) by content, and a real concurrent
 * remote edit (412 on a version we did not write) is resolved by the family's conflict policy and
 * recorded in sync_conflict.
 */
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { changeRefusal } from '../../mapping/index.ts';
import { weakEtag } from '../../shared/etag.ts';
import { isJsonObject } from '../../shared/json-object.ts';
import { isErrorIssue, issue, outcome } from '../../shared/outcome.ts';
import { ruleOf } from '../../shared/outcome.ts';
import type { ConflictPolicy, FamilyRule } from '../config.ts';
import { contentKey, timeSpent } from '../context.ts';
import { sendAs } from '../party.ts';
import { applyRemote } from '../remote-apply.ts';
import { type RemoteRef, entryAnswer, entryStatus, refFromAnswer } from '../remote-client.ts';
import {
  type OutboxRow,
  type ResolveChoice,
  contentDigest,
  laterRowsOf,
  markLeaving,
  recordConflict,
  recordSent,
  settle,
  wasSentByUs,
} from '../repository.ts';
import { RemoteHttpError, UnreadableAnswer, isGoneRemotely, isTransient } from '../resilience.ts';
import { isEarlierVersionOfOurs } from './earlier.ts';
import { inSendSlot } from './lease.ts';
import { ORPHAN_DELETED, deleteUnmappedCopies } from './orphans.ts';
import { type Delivered, failed, roundStop, succeed, waitForDeletion, withoutClashes } from './outcomes.ts';
import { RecheckFailed, consentGuard } from './recheck.ts';
import { ConsentChangedInFlight, type Round } from './state.ts';
import type { RemoteWrite } from './writes.ts';

/** How many times a 412 is re-read and retried before the row is retried in a later round. */
const CONFLICT_ROUNDS = 3;

/** A write whose remote copy vanished, rebuilt as a create (see writes.asCreate). */
export type Recreate = (write: RemoteWrite) => RemoteWrite | undefined;

/** Deliver one wave and settle every row of it. */
export async function deliverWave(round: Round, writes: RemoteWrite[], recreate: Recreate): Promise<void> {
  const { ctx } = round;
  await remember(round, writes);
  const mode = await timeSpent(
    ctx,
    'network',
    () => ctx.remote.bundleMode(round.signal),
    'remote capabilities',
  );
  const bundled = writes.filter((w) => w.method !== 'DELETE');
  const singles = writes.filter((w) => w.method === 'DELETE');
  if (mode === 'none' || bundled.length < 2) singles.push(...bundled);
  else await deliverBundle(round, bundled, mode, recreate);
  // A delete that may look its copy up by identifier (deleteUnmappedCopies) goes in queue order, one
  // at a time: the local deletes came referrers first, and a remote may refuse deleting a referenced copy.
  const unmapped = singles.some((w) => w.method === 'DELETE' && !w.mapping);
  await deliverSingly(round, singles, unmapped ? 1 : 8, recreate);
}

/**
 * One request per write, `lanes` at once. Each write's consent is checked right before it leaves (and
 * before each retry: `guarded`), not once for the wave: a write waits for a lane behind slow answers.
 */
async function deliverSingly(round: Round, writes: RemoteWrite[], lanes: number, recreate: Recreate) {
  const delivered: Delivered[] = [];
  try {
    await mapLimit(writes, lanes, async (w) => {
      const d = await deliverOne(round, w, recreate);
      if (d) delivered.push(d);
    });
  } finally {
    // What went before the round stopped (a circuit open, credentials refused) is settled all the same.
    await succeed(round, delivered);
  }
}

/**
 * Rebuilds writes for rows whose Bundle entry needs a follow-up by itself, with the mappings known now
 * (an entry that referred to another by urn:uuid gets its remote id); rows that cannot go yet are
 * released to wait.
 */
export type Rebuild = (writes: RemoteWrite[]) => Promise<RemoteWrite[]>;

/**
 * A whole round in one transaction Bundle: entries refer to each other by `urn:uuid`, so a client's
 * dependent resources travel together. Returns false when the remote refused the transaction as a
 * whole (non-transient): the caller then delivers wave by wave, which isolates the culprit.
 */
export async function deliverTransaction(
  round: Round,
  writes: RemoteWrite[],
  recreate: Recreate,
  rebuild: Rebuild,
): Promise<boolean> {
  await remember(round, writes);
  try {
    await deliverBundle(round, writes, 'transaction', recreate, rebuild, true);
  } catch (err) {
    if (err instanceof RefusedTransaction) return false;
    throw err;
  }
  return true;
}

class RefusedTransaction extends Error {}

/**
 * Before a write leaves: the digest of its content, so its echo is recognised later. An entry that
 * refers to another of its Bundle by `urn:uuid` is left out: the remote stores that reference resolved
 * to an id not known yet, so no digest of ours could match its copy. Such a write is recognised by
 * content instead — a retry meets it as an existing resource (conditional create) or a 412 and
 * re-reads it; a pull leaves it alone while its row is queued and then finds the same content locally.
 */
async function remember(round: Round, writes: RemoteWrite[]): Promise<void> {
  const { ctx } = round;
  const leaving = writes.filter((w) => w.resource);
  if (!leaving.length) return;
  // Sent as the store's party only; the first to leave records it (party.ts).
  await timeSpent(ctx, 'database', () => sendAs(ctx));
  // Whatever answer comes, or none, each may reach the remote from now on (see orphans.ts).
  await timeSpent(ctx, 'database', () =>
    markLeaving(
      ctx.store,
      leaving.map((w) => w.row.id),
    ),
  );
  const known = leaving.filter((w) => !w.viaBundle);
  if (!known.length) return;
  await timeSpent(ctx, 'database', () =>
    recordSent(
      ctx.store,
      known.map((w) => ({
        type: w.row.resource_type,
        localId: w.row.resource_id,
        digest: contentDigest(contentKey(w.resource!)),
        outboxId: w.row.id,
      })),
    ),
  );
}

async function deliverBundle(
  round: Round,
  writes: RemoteWrite[],
  mode: 'transaction' | 'batch',
  recreate: Recreate,
  rebuild: Rebuild = async (w) => w,
  refuseWhole = false,
): Promise<void> {
  const { ctx } = round;
  // The send slot's own checks throw (LeaseLost, or the database); nothing sent, nothing to settle here.
  const slot = await inSendSlot(round, writes, (going, beforeAttempt) =>
    timeSpent(
      ctx,
      'network',
      () => ctx.remote.bundle(bundleOf(going, mode), round.signal, { minimal: true, beforeAttempt }),
      `push: ${mode} Bundle of ${going.length}`,
    ),
  );
  // Nothing went: a consent change stopped every write.
  if (!slot) return;
  // The writes that went: those a consent change stopped stay behind.
  const sent = slot.going;
  if ('error' in slot) {
    const err = slot.error;
    const stop = roundStop(err);
    if (stop) throw stop;
    // A rejected transaction names no single culprit: deliver one by one to isolate it.
    if (!isTransient(err) && err instanceof RemoteHttpError) {
      if (refuseWhole) throw new RefusedTransaction(err.message);
      return deliverSingly(round, sent, 8, recreate);
    }
    for (const w of sent) await failed(round, w.row, err);
    return;
  }
  const response = slot.answer;
  // No readable answer: the remote may have stored any of them. Sent again one by one, each write is
  // recognised there (conditional on its identifier, our own content) or written.
  const entries = answerEntries(response);
  if (!entries) return deliverSingly(round, await rebuild(sent), 4, recreate);
  const delivered: Delivered[] = [];
  const followUps: RemoteWrite[] = [];
  const refused: [RemoteWrite, RemoteHttpError][] = [];
  for (const [i, w] of sent.entries()) {
    const entry = entries[i];
    // No status is 0, as an unreadable one.
    const status = Number.parseInt(entryStatus(entry?.response) ?? '0', 10);
    if (status === 201 || (status === 200 && w.method === 'PUT')) {
      try {
        delivered.push({
          row: w.row,
          remote: refFromAnswer(entryAnswer(entry, status), w.row.resource_type, w.mapping?.remote_id),
        });
      } catch {
        followUps.push(w);
      }
    } else if (
      status === 200 ||
      status === 412 ||
      (w.method === 'PUT' && (status === 404 || status === 410))
    ) {
      // 200 on a conditional create: it already exists (compare content); 412: see resolveConflict;
      // an update of a copy gone from the remote is created again (put).
      followUps.push(w);
    } else {
      const oo = entry?.response?.outcome as OperationOutcome | undefined;
      refused.push([w, new RemoteHttpError(status || 500, w.method, w.url, oo, undefined)]);
    }
  }
  await succeed(round, delivered);
  // After the delivered are settled: a refusal of our credentials stops the round here.
  for (const [w, err] of refused) await failed(round, w.row, err);
  await deliverSingly(round, followUps.length ? await rebuild(followUps) : [], 4, recreate);
}

/** The Bundle of `writes`. */
function bundleOf(writes: RemoteWrite[], mode: 'transaction' | 'batch'): Bundle {
  return {
    resourceType: 'Bundle',
    type: mode,
    entry: writes.map((w) => ({
      ...(w.fullUrl ? { fullUrl: w.fullUrl } : {}),
      resource: w.resource,
      request: {
        method: w.method as 'POST' | 'PUT',
        url: w.url,
        ...(w.ifNoneExist ? { ifNoneExist: w.ifNoneExist } : {}),
        ...(w.ifMatch ? { ifMatch: weakEtag(w.ifMatch) } : {}),
      },
    })),
  };
}

/** A batch or transaction answer's entries, or undefined when the answer is no Bundle holding a list. */
function answerEntries(answer: unknown): Bundle['entry'] | undefined {
  if (!isJsonObject(answer) || answer.resourceType !== 'Bundle') return undefined;
  if (answer.entry === undefined) return [];
  return Array.isArray(answer.entry) ? (answer.entry as Bundle['entry']) : undefined;
}

/** One write by itself; returns the delivery to settle, or undefined when the row was settled otherwise. */
async function deliverOne(round: Round, w: RemoteWrite, recreate: Recreate): Promise<Delivered | undefined> {
  try {
    if (w.method === 'DELETE') return await deleteOne(round, w);
    if (w.method === 'PUT') return await put(round, w, recreate);
    const created = await conditionalCreate(round, w);
    if (created.created) return { row: w.row, remote: created };
    // Already there: our earlier create whose answer was lost, or another writer's copy — or the copy of
    // another local resource, which is not written over (withoutClashes: the row waits for that one's
    // deletion, or is a dead letter naming the clash).
    const [matched] = await withoutClashes(round, [{ row: w.row, remote: created }]);
    if (!matched) return undefined;
    return await overMatchedCopy(round, w, created.id);
  } catch (err) {
    // Its client's consent changed before it left: back in the queue unsent, counted (consentGuard).
    if (err instanceof ConsentChangedInFlight) return undefined;
    // The check could not be made: the round stops, its rows go back to the queue (pushRound).
    if (err instanceof RecheckFailed) throw err.error;
    await failed(round, w.row, err);
    return undefined;
  }
}

/**
 * The remote client's options for a request carrying `w`'s content: every attempt, the first too,
 * leaves only while its client's consent has not changed since the round's gate (recheck.ts).
 */
const guarded = (round: Round, w: RemoteWrite) => ({ beforeAttempt: consentGuard(round, [w.row]) });

/**
 * A single write's answer, the one rule: a 2xx whose answer names no usable id (an empty body, `{}`, an
 * OperationOutcome, a portal's page; for an update, no version either) leaves the outcome unknown — the
 * remote may have stored the write — and is handled as a lost answer. A create goes again as the
 * conditional create on its identifier (stored, the remote now names its copy, which is recognised as
 * ours by content); an update's copy is re-read (resolveConflict). When that answer is no better, the
 * `UnreadableAnswer` is a transient failure: retried in a later round, never a dead letter.
 */
async function conditionalCreate(round: Round, w: RemoteWrite) {
  const { ctx } = round;
  const send = () =>
    timeSpent(
      ctx,
      'network',
      () => ctx.remote.conditionalCreate(w.resource!, w.ifNoneExist!, round.signal, guarded(round, w)),
      `push: create ${w.row.resource_type}`,
    );
  try {
    return await send();
  } catch (err) {
    if (!(err instanceof UnreadableAnswer)) throw err;
    return await send();
  }
}

/** Whether an update's answer names the copy written and its version (see conditionalCreate). */
const answered = (ref: RemoteRef, remoteId: string): boolean => ref.id === remoteId && !!ref.versionId;

/** Why a delete settles without having deleted anything: the remote no longer held the copy. */
const ALREADY_GONE = 'already gone from the remote';

/**
 * A delete. A copy the remote no longer holds (404, 410: deleted there meanwhile, or by our own DELETE
 * whose answer was lost before a retry) is what the delete was for: done, not a failure.
 */
async function deleteOne(round: Round, w: RemoteWrite): Promise<Delivered> {
  if (!w.mapping) {
    // Nothing maps to a copy; one may be there all the same (a write of it had no definite answer).
    if (await deleteUnmappedCopies(round, w.row))
      return { row: w.row, remote: { id: '' }, reason: ORPHAN_DELETED };
    return { row: w.row, remote: { id: '' }, reason: 'never reached the remote', notSent: true };
  }
  const { ctx } = round;
  const id = w.mapping.remote_id;
  try {
    await timeSpent(
      ctx,
      'network',
      () => ctx.remote.delete(w.row.resource_type, id, round.signal),
      `push: delete ${w.row.resource_type}`,
    );
  } catch (err) {
    if (!isGoneRemotely(err)) throw err;
    return { row: w.row, remote: { id }, reason: ALREADY_GONE, notSent: true };
  }
  return { row: w.row, remote: { id } };
}

/**
 * A conditional create the remote matched to `remoteId`: resolved as a version mismatch on that copy. A
 * copy gone meanwhile (another writer deleted it on the remote) is no failure — the row waits briefly,
 * and its conditional create then makes a copy of its own.
 */
async function overMatchedCopy(
  round: Round,
  w: RemoteWrite,
  remoteId: string,
): Promise<Delivered | undefined> {
  const type = w.row.resource_type;
  try {
    return await resolveConflict(
      round,
      { ...w, method: 'PUT', url: `${type}/${remoteId}`, resource: { ...w.resource!, id: remoteId } },
      remoteId,
      false,
    );
  } catch (err) {
    if (!isGoneRemotely(err)) throw err;
    await waitForDeletion(
      round,
      w.row,
      `the remote copy ${type}/${remoteId} its business identifier matched was deleted meanwhile; created anew next`,
    );
    return undefined;
  }
}

/** Why an update settles as a create: its remote copy was gone. */
const CREATED_AGAIN = 'created again: the remote copy was gone';

/** Why an update of a copy gone from the remote settles unsent: the resource is deleted here too. */
const GONE_AND_DELETED = 'not sent: the remote copy is gone and a local delete of the resource follows';

/**
 * An update. A copy gone from the remote (404, 410 — on the PUT, or on the re-read of a 412: a server
 * may answer a stale If-Match on a deleted copy so, as this project's facade does) is created again
 * under its business identifier, and the id map then names the new copy — unless a local delete of
 * the resource follows the row: then nothing is sent (the delete finds the copy gone).
 */
async function put(round: Round, w: RemoteWrite, recreate: Recreate): Promise<Delivered | undefined> {
  try {
    return await updateOrResolve(round, w);
  } catch (err) {
    if (!isGoneRemotely(err)) throw err;
    const { ctx } = round;
    const later = await timeSpent(ctx, 'database', () => laterRowsOf(ctx.store, [w.row]));
    if (later.get(w.row.id)?.deleted)
      return { row: w.row, remote: { id: '' }, reason: GONE_AND_DELETED, notSent: true };
    const again = recreate(w);
    if (!again) throw err;
    const d = await deliverOne(round, again, recreate);
    return d && !d.reason ? { ...d, reason: CREATED_AGAIN } : d;
  }
}

async function updateOrResolve(round: Round, w: RemoteWrite): Promise<Delivered | undefined> {
  const { ctx } = round;
  const remoteId = w.mapping!.remote_id;
  try {
    const ref = await timeSpent(
      ctx,
      'network',
      () =>
        ctx.remote.update(
          w.resource as Resource & { id: string },
          w.ifMatch,
          round.signal,
          guarded(round, w),
        ),
      `push: update ${w.row.resource_type}`,
    );
    // Outcome unknown (see conditionalCreate): the copy is re-read, our content found there is success.
    if (!answered(ref, remoteId)) return await resolveConflict(round, w, remoteId, false);
    return { row: w.row, remote: ref };
  } catch (err) {
    if (!(err instanceof RemoteHttpError && err.status === 412)) throw err;
    return await resolveConflict(round, w, remoteId, true);
  }
}

/**
 * The remote holds a version of the resource we did not expect. Re-read it: our own content (a lost
 * answer, on any write path) is success; a version we wrote earlier is overwritten without a conflict;
 * anything else is a real concurrent edit, resolved by the family's policy and recorded.
 */
async function resolveConflict(
  round: Round,
  w: RemoteWrite,
  remoteId: string,
  afterIfMatch: boolean,
): Promise<Delivered | undefined> {
  const { ctx } = round;
  const type = w.row.resource_type;
  const ours = contentKey(w.resource!);
  let recorded = false;
  for (let attempt = 0; attempt < CONFLICT_ROUNDS; attempt++) {
    const current = await timeSpent(
      ctx,
      'network',
      () => ctx.remote.read(type, remoteId, round.signal),
      `push: re-read ${type} after a version mismatch`,
    );
    const version = current.meta?.versionId;
    const found = contentKey(current);
    if (found === ours) return { row: w.row, remote: { id: remoteId, versionId: version } };
    const echo =
      (await wasSentByUs(ctx.store, type, w.row.resource_id, contentDigest(found))) ||
      (await isEarlierVersionOfOurs(round, w, found));
    if (!echo && !recorded) {
      const chosen = w.row.resolve_with;
      const { policy, keptBy } = policyFor(w, current, ctx.families);
      recorded = true;
      // Remote-wins stores the remote version here, so it must pass what a write here must pass —
      // its own rules, then (as it is stored) references to resources current here.
      const judged = policy === 'remote-wins' ? await ctx.checkPulled(current) : undefined;
      const kept =
        policy === 'remote-wins' && !judged
          ? await applyRemote(ctx, current, { supersede: { keepRow: w.row.id } })
          : undefined;
      const refusal = judged ?? kept?.refusal;
      const notKept =
        kept?.outcome !== 'skipped' ? undefined : kept.newerLocal ? NEWER_FOLLOWS : DELETE_FOLLOWS;
      const resolution = refusal
        ? 'parked: remote version refused'
        : (notKept ??
          `${RESOLUTIONS[policy]}${keptBy ? ` (${keptBy})` : chosen ? ` (an operator chose ${chosen})` : ''}`);
      await noteConflict(round, w, { remoteId, version, policy, resolution, afterIfMatch });
      if (refusal) return park(round, w, remoteId, version, refusal);
      if (policy === 'park') return park(round, w, remoteId, version);
      // A newer local edit follows: the id map stays as it was, so its push meets the remote's version
      // as a 412 too and is settled by the same policy.
      if (notKept === NEWER_FOLLOWS)
        return { row: w.row, remote: { id: '' }, reason: `conflict: ${NEWER_FOLLOWS}`, notSent: true };
      if (kept) {
        return {
          row: w.row,
          remote: { id: remoteId, versionId: version },
          reason: notKept ? `conflict: ${notKept}` : 'conflict: remote version kept (remote-wins)',
          notSent: true,
        };
      }
    }
    // Ours to overwrite: our own earlier version, or local-wins.
    try {
      const ref = await timeSpent(
        ctx,
        'network',
        () =>
          ctx.remote.update(
            { ...w.resource!, id: remoteId } as Resource & { id: string },
            version,
            round.signal,
            guarded(round, w),
          ),
        `push: update ${type} over the version re-read`,
      );
      // An answer naming no version: re-read (our content there is success).
      if (!answered(ref, remoteId)) continue;
      return {
        row: w.row,
        remote: ref,
        reason: recorded ? 'conflict: local version written over the remote one (local-wins)' : undefined,
      };
    } catch (err) {
      // Someone (or our own lost answer) moved the version again: read it again.
      if (!(err instanceof RemoteHttpError && err.status === 412)) throw err;
    }
  }
  // Still moving after several re-reads: a transient failure, retried in a later round.
  throw new RemoteHttpError(503, 'PUT', `${type}/${remoteId}`, undefined, undefined);
}

/**
 * The policy a real concurrent edit is settled by: the family's (or the operator's choice), except
 * that a remote version which would undo what a change rule keeps here (our withdrawal of a consent,
 * consent-withdrawal-final) never wins over it: ours is written over it, and `keptBy` names the rule.
 */
function policyFor(
  w: RemoteWrite,
  current: Resource,
  families: Readonly<Record<string, FamilyRule>>,
): { policy: ConflictPolicy; keptBy?: string } {
  const policy = conflictPolicyOf(w.row, families);
  if (policy !== 'remote-wins') return { policy };
  const refused = changeRefusal(w.resource!, current);
  return refused
    ? { policy: 'local-wins', keptBy: `kept by ${ruleOf(refused) ?? 'a change rule'}` }
    : { policy };
}

/** A remote-wins resolution that keeps nothing: the resource's local delete is queued after the write. */
const DELETE_FOLLOWS = 'remote version not kept: a local delete of the resource follows';

/** A remote-wins resolution that keeps nothing: a local edit committed after the version it judged. */
const NEWER_FOLLOWS = 'remote version not kept: a newer local edit follows';

/** The policy a parked row's conflict is settled by once an operator chose a version (`sync resolve`). */
const CHOSEN: Record<ResolveChoice, ConflictPolicy> = { local: 'local-wins', remote: 'remote-wins' };

/**
 * How a row's conflict with a remote edit is settled: as an operator chose for it (`sync resolve`),
 * else by its family's policy (`park` for a type with no family).
 */
export function conflictPolicyOf(
  row: Pick<OutboxRow, 'resolve_with' | 'resource_type'>,
  families: Readonly<Record<string, FamilyRule>>,
): ConflictPolicy {
  return row.resolve_with ? CHOSEN[row.resolve_with] : (families[row.resource_type]?.conflict ?? 'park');
}

const RESOLUTIONS: Record<ConflictPolicy, string> = {
  park: 'parked',
  'remote-wins': 'remote kept',
  'local-wins': 'local written',
};

interface Conflict {
  remoteId: string;
  version: string | undefined;
  policy: ConflictPolicy;
  resolution: string;
  afterIfMatch: boolean;
}

async function noteConflict(round: Round, w: RemoteWrite, c: Conflict): Promise<void> {
  const { ctx } = round;
  const type = w.row.resource_type;
  ctx.metrics.conflicts.inc({ type, policy: c.policy });
  ctx.log.warn(
    {
      outbox: w.row.id,
      resource: w.key,
      remote: `${type}/${c.remoteId}`,
      expected: w.ifMatch,
      found: c.version,
      policy: c.policy,
      resolution: c.resolution,
    },
    'sync: conflict with a remote edit',
  );
  await timeSpent(ctx, 'database', () =>
    recordConflict(ctx.store, {
      outboxId: w.row.id,
      type,
      localId: w.row.resource_id,
      policy: c.policy,
      resolution: c.resolution,
      detail: {
        remoteId: c.remoteId,
        expectedVersion: c.afterIfMatch ? w.ifMatch : null,
        remoteVersion: c.version,
      },
    }),
  );
}

/** The issue of a parked conflict: the remote's version of `type` moved since the last sync. */
export const remoteChanged = (type: string) =>
  issue('error', 'conflict', 'sync-conflict-1: remote changed since the last sync', `${type}.meta.versionId`);

/** The rules a refusal names (an issue's `key:` prefix, else its code), each once. */
function rulesBroken(refusal: OperationOutcome): string[] {
  const errors = (refusal.issue ?? []).filter(isErrorIssue);
  return [...new Set(errors.map((i) => ruleOf(i) ?? i.code))];
}

/**
 * Parks the row for a person to resolve; with `refusal`, because the remote's version fails what a
 * write here must pass (its issues follow the conflict's in the outcome).
 */
async function park(
  round: Round,
  w: RemoteWrite,
  remoteId: string,
  version: string | undefined,
  refusal?: OperationOutcome,
) {
  const { ctx } = round;
  const type = w.row.resource_type;
  round.result.parked++;
  ctx.metrics.pushed.inc({ type, result: 'parked' });
  const why = refusal
    ? `changed, and its version fails what a write here must pass (${rulesBroken(refusal).join(', ')}); local version kept`
    : `is at version ${version}, we expected ${w.ifMatch}`;
  const conflict = remoteChanged(type);
  await timeSpent(ctx, 'database', () =>
    settle(ctx.store, round.claim, [w.row.id], 'parked', {
      reason: `conflict: remote ${type}/${remoteId} ${why}; parked for manual resolution`,
      outcome: outcome([conflict, ...(refusal?.issue ?? []).filter(isErrorIssue)]),
    }),
  );
  return undefined;
}

/**
 * `fn` over `items`, `limit` at once. After a failure no further item starts (a stopped round sends
 * nothing more), and the first failure is thrown once the items running have ended.
 */
async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !failure) {
      try {
        await fn(items[next++]);
      } catch (err) {
        failure ??= { err };
      }
    }
  });
  await Promise.all(lanes);
  if (failure) throw failure.err;
}
