/**
 * Remote deletes (docs/sync.md, pull). A search does not return a deleted resource, so after its
 * searches a pull reads each pulled type's history on the remote since it last looked
 * (`GET <Type>/_history?_since=…`, every page) and deletes here the local copies whose newest entry
 * there is a delete — only what the remote says: a resource deleted and brought back under its id is
 * not deleted. The delete is a pulled write (never queued back for the remote) and an audited import.
 * A pull never overwrites a local edit: a copy with changes not on the remote is left (`skipped`; their
 * push creates it there again), as is one that resources here still refer to. A remote that answers no
 * type history leaves its deletes unpulled, as before: the pull says so, and the log once.
 */
import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from '../shared/outcome.ts';
import { patientReferenceOf } from '../shared/references.ts';
import { assertUnreferenced, parseInstant } from '../store/index.ts';
import { auditTransfers } from './audit.ts';
import { type SyncContext, businessIdentifier, readHere, timeSpent } from './context.ts';
import { CLOCK_SKEW_MS, laterStamp, windowStart } from './pull-pages.ts';
import type { PullResult } from './pull.ts';
import { type HistoryItem, nextOnce } from './remote-client.ts';
import {
  type IdMapping,
  forgetDeletedCopy,
  mappingsForRemote,
  mapsAnyOf,
  markPulledWrites,
  readDeletesCursor,
  syncStartedAt,
  unblockConsentPatients,
  undeliveredChanges,
  writeDeletesCursor,
} from './repository.ts';
import { RemoteHttpError, issueSummary } from './resilience.ts';

/**
 * The business identifiers (`Type|system|value`, `heldKey`) of what a pull's searches fetched: the
 * remote holds each now, whatever id it holds it under.
 */
export type HeldByRemote = Set<string>;

/** A resource's key in `HeldByRemote`; undefined when it has no business identifier. */
export function heldKey(r: Resource): string | undefined {
  const ident = businessIdentifier(r);
  return ident && `${r.resourceType}|${ident.system}|${ident.value}`;
}

/**
 * What a remote answers a type history it does not serve with: not understood (400), not there (404),
 * not allowed (405), not implemented (501), or not to this client (403: our facade to a receiving party).
 */
const NO_TYPE_HISTORY = new Set([400, 403, 404, 405, 501]);

/** Why a remote delete was not applied here, in `PullResult.skippedDeletes`. */
const LOCAL_CHANGES = 'it has local changes not on the remote; their push creates it there again';

/** Types whose remote answered no type history, logged once per service. */
const noted = new WeakMap<SyncContext, Set<string>>();

/** What the remote's history of one type says. */
interface TypeDeletes {
  type: string;
  /** The local copies (id map entries) of resources whose newest entry there is a delete. */
  copies: IdMapping[];
  /** Where the next look starts, when this one saw a stamp. */
  cursor?: string;
}

/**
 * Looks for the remote deletes of each pulled type the id map holds copies of, and applies them.
 * `held`: what the searches of this pull fetched (the remote holds those, under whatever id).
 */
export async function pullDeletes(
  ctx: SyncContext,
  result: PullResult,
  held: HeldByRemote,
  signal: AbortSignal,
  progress: { step: string },
): Promise<void> {
  const found: TypeDeletes[] = [];
  for (const type of ctx.pullTypes) {
    const window = await timeSpent(ctx, 'database', () => lookFrom(ctx, type));
    if (!window) continue;
    progress.step = `pull: remote history ${type}/_history`;
    const read = await deletedSince(ctx, type, window, signal, progress.step);
    if ('refused' in read) {
      notChecked(ctx, result, type, read.refused);
      continue;
    }
    const refs = read.deleted.map((id) => `${type}/${id}`);
    const mapped = await timeSpent(ctx, 'database', () => mappingsForRemote(ctx.store, refs));
    found.push({ type, copies: [...mapped.values()], cursor: read.cursor });
  }
  await applyDeletes(
    ctx,
    result,
    found.flatMap((f) => f.copies),
    held,
  );
  // Only once every delete it showed is applied (or left with its reason): a pull that fails before
  // reads the same window again.
  for (const { type, cursor } of found) {
    if (cursor) await timeSpent(ctx, 'database', () => writeDeletesCursor(ctx.store, type, cursor));
  }
}

/** Where a look at a type's history starts (`since`), and where the last one ended (`cursor`). */
interface HistoryWindow {
  since: string;
  cursor?: string;
}

/**
 * Where the look at `type`'s history starts: a little before where the last one ended, or — the first
 * time — before this store began to sync (nothing was mapped before; less our allowance for the
 * remote's clock). Undefined when the id map holds no copy of the type: no delete there concerns us.
 */
async function lookFrom(ctx: SyncContext, type: string): Promise<HistoryWindow | undefined> {
  if (!(await mapsAnyOf(ctx.store, type))) return undefined;
  const cursor = await readDeletesCursor(ctx.store, type);
  if (cursor) return { since: windowStart(cursor, ctx.pullOverlapMs), cursor };
  const started = await syncStartedAt(ctx.store);
  return started && { since: windowStart(started.toISOString(), CLOCK_SKEW_MS + ctx.pullOverlapMs) };
}

/**
 * The remote ids of `type` whose newest entry in its history since the window's start is a delete,
 * and the newest stamp seen (from the cursor before: a window that shows nothing newer leaves it); or
 * why the remote answered no type history.
 */
async function deletedSince(
  ctx: SyncContext,
  type: string,
  { since, cursor: before }: HistoryWindow,
  signal: AbortSignal,
  step: string,
): Promise<{ deleted: string[]; cursor?: string } | { refused: string }> {
  const newest = new Map<string, HistoryItem>();
  let cursor = before;
  const followed = new Set<string>();
  const remote = ctx.remote;
  try {
    let page = await timeSpent(
      ctx,
      'network',
      () => remote.historyPage(type, { _since: since, _count: String(ctx.pullPageSize) }, signal),
      step,
    );
    while (true) {
      for (const item of page.items) {
        cursor = laterStamp(cursor, item.at);
        const seen = newest.get(item.id);
        if (!seen || writtenAfter(item, seen)) newest.set(item.id, item);
      }
      if (!page.next) break;
      const next = nextOnce(followed, page.next);
      page = await timeSpent(ctx, 'network', () => remote.nextHistoryPage(next, type, signal), step);
    }
  } catch (err) {
    if (err instanceof RemoteHttpError && NO_TYPE_HISTORY.has(err.status))
      return { refused: `the remote answered ${err.status} to ${type}/_history (no type history)` };
    throw err;
  }
  const deleted = [...newest.values()].filter((i) => i.deleted).map((i) => i.id);
  return { deleted, ...(cursor ? { cursor } : {}) };
}

/**
 * Whether history entry `a` was written after `b` by their stamps. A history lists the newest first,
 * so where the stamps do not tell (missing, equal), the entry seen first stands.
 */
function writtenAfter(a: HistoryItem, b: HistoryItem): boolean {
  const x = a.at === undefined ? undefined : parseInstant(a.at);
  const y = b.at === undefined ? undefined : parseInstant(b.at);
  return x !== undefined && y !== undefined && x > y;
}

/** A type whose deletes this pull could not look for: in the result each time, in the log once. */
function notChecked(ctx: SyncContext, result: PullResult, type: string, reason: string): void {
  result.deletesNotChecked.push({ type, reason });
  const types = noted.get(ctx) ?? new Set<string>();
  noted.set(ctx, types);
  if (types.has(type)) return;
  types.add(type);
  ctx.log.warn(
    { type, reason },
    'sync: the remote answers no type history; its deletes of this type are not pulled',
  );
}

type DeleteOutcome = { outcome: 'deleted' | 'none' } | { outcome: 'skipped' | 'referenced'; reason: string };

/**
 * Deletes the copies, counting each. One that resources here still refer to waits while others are
 * deleted (its referrer may be among them: a remote deletes a referrer first), and is left with the
 * reason once a pass deletes none.
 */
async function applyDeletes(
  ctx: SyncContext,
  result: PullResult,
  copies: IdMapping[],
  held: HeldByRemote,
): Promise<void> {
  let todo = copies;
  while (todo.length) {
    const waiting: { copy: IdMapping; reason: string }[] = [];
    for (const copy of todo) {
      const done = await deleteCopy(ctx, copy, held);
      if (done.outcome === 'referenced') waiting.push({ copy, reason: done.reason });
      else count(ctx, result, copy, done);
    }
    if (waiting.length === todo.length) {
      for (const { copy, reason } of waiting) count(ctx, result, copy, { outcome: 'skipped', reason });
      return;
    }
    todo = waiting.map((w) => w.copy);
  }
}

function count(ctx: SyncContext, result: PullResult, copy: IdMapping, done: DeleteOutcome): void {
  const type = copy.resource_type;
  const ids = { resource: `${type}/${copy.local_id}`, remote: `${type}/${copy.remote_id}` };
  if (done.outcome === 'deleted') {
    result.deleted++;
    ctx.metrics.pulled.inc({ type, result: 'deleted' });
    ctx.log.info(ids, 'sync: pull deleted a local copy the remote deleted');
  } else if (done.outcome === 'skipped' || done.outcome === 'referenced') {
    result.skipped++;
    result.skippedDeletes.push({ resource: ids.resource, reason: done.reason });
    ctx.metrics.pulled.inc({ type, result: 'skipped' });
    ctx.log.info({ ...ids, reason: done.reason }, 'sync: pull left a local copy the remote deleted');
  }
}

/**
 * One copy deleted here, in a transaction of its own (a refusal rolls back nothing else): `none` when
 * it is gone here already (a local delete, the push's to send) or the remote holds it again under
 * another id (`held`: entered again there under its business identifier); `skipped` with local changes
 * not on the remote — undelivered rows, or a version other than the one the sync last synced (an edit
 * committing meanwhile fails the delete's If-Match the same way); `referenced` while resources here
 * refer to it (the facade's rule for a delete, `assertUnreferenced`).
 */
async function deleteCopy(ctx: SyncContext, copy: IdMapping, held: HeldByRemote): Promise<DeleteOutcome> {
  const { resource_type: type, local_id: localId } = copy;
  return timeSpent(ctx, 'database', () =>
    ctx.store.transaction(async (tx): Promise<DeleteOutcome> => {
      const current = await readHere(tx, type, localId);
      if (!current) return { outcome: 'none' };
      const key = heldKey(current);
      if (key && held.has(key)) return { outcome: 'none' };
      const version = current.meta?.versionId as string;
      const undelivered = await undeliveredChanges(tx, type, localId);
      if (undelivered.queued || undelivered.stuck || copy.local_version !== version)
        return { outcome: 'skipped', reason: LOCAL_CHANGES };
      try {
        await assertUnreferenced(tx, type, localId);
      } catch (err) {
        if (!(err instanceof FhirError && err.status === 409)) throw err;
        const said = err.outcome.issue?.[0]?.diagnostics ?? issueSummary(err.outcome);
        return { outcome: 'referenced', reason: `not deleted here: ${said}` };
      }
      markPulledWrites(tx);
      try {
        await tx.delete(type, localId, { ifMatch: version });
      } catch (err) {
        if (err instanceof FhirError && err.status === 412)
          return { outcome: 'skipped', reason: LOCAL_CHANGES };
        throw err;
      }
      await forgetDeletedCopy(tx, type, localId);
      // A Consent gone: its client's rows in flight were judged on it (see unblockConsentPatients).
      await unblockConsentPatients(tx, [current]);
      const patientId = patientReferenceOf(current)?.slice('Patient/'.length);
      await auditTransfers(tx, ctx, 'import', [{ type, localId, action: 'delete', patientId }]);
      return { outcome: 'deleted' };
    }),
  );
}
