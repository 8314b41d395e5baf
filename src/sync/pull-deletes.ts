/**
 * Remote deletes (docs/sync.md, pull). A search does not return a deleted resource, so after its
 * searches a pull reads each pulled type's history on the remote since it last looked
 * (`GET <Type>/_history?_since=…`, every page) and deletes here the local copies whose newest entry
 * there is a delete — only what the remote says: a resource deleted and brought back under its id is
 * not deleted. The delete is a pulled write (never queued back for the remote) and an audited import.
 * A pull never overwrites a local edit: a copy with changes not on the remote is left (`skipped`; their
 * push creates it there again), as is one that resources here still refer to (listed, and tried again
 * by every later pull while the remote answers it gone). The look never fails a
 * pull whose searches succeeded: a type history the remote refuses (not asked again for an hour), fails,
 * or does not finish within the pull's bound leaves that type's deletes unpulled this time — the pull
 * says so in `deletesNotChecked`, the log too.
 */
import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from '../shared/outcome.ts';
import { patientReferenceOf } from '../shared/references.ts';
import { parseInstant } from '../store/index.ts';
import { auditTransfers } from './audit.ts';
import { type SyncContext, businessIdentifier, readHere, timeSpent } from './context.ts';
import { CLOCK_SKEW_MS, laterStamp, windowStart } from './pull-pages.ts';
import type { PullResult } from './pull-result.ts';
import { type HistoryItem, type HistoryPage, nextOnce } from './remote-client.ts';
import {
  type DeleteLeft,
  type IdMapping,
  deletesLeftToTry,
  forgetDeleteLeft,
  forgetDeletedCopy,
  mappingsForLocal,
  mappingsForRemote,
  mapsAnyOf,
  markPulledWrites,
  readDeletesCursor,
  recordDeletesLeft,
  unblockConsentPatients,
  undeliveredChanges,
  writeDeletesCursor,
} from './repository.ts';
import {
  RemoteHttpError,
  credentialsRefused,
  isGoneRemotely,
  isRetryableStatus,
  issueSummary,
  unanswered,
} from './resilience.ts';

/**
 * The business identifiers (`Type|system|value`, `heldKey`) of what a pull's searches fetched, each
 * with the remote ids it was fetched under: the remote holds each now under those ids.
 */
export type HeldByRemote = Map<string, Set<string>>;

/** Notes a fetched resource in `held`. */
export function noteHeld(held: HeldByRemote, r: Resource): void {
  const key = heldKey(r);
  if (!key || typeof r.id !== 'string') return;
  const ids = held.get(key) ?? new Set<string>();
  ids.add(r.id);
  held.set(key, ids);
}

/**
 * Whether the remote holds `current` again under an id other than `remoteId` (entered again there
 * under its business identifier). One fetched under the deleted id itself was deleted after the search.
 */
function heldElsewhere(held: HeldByRemote, current: Resource, remoteId: string): boolean {
  const key = heldKey(current);
  const ids = key === undefined ? undefined : held.get(key);
  return !!ids && [...ids].some((id) => id !== remoteId);
}

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

/**
 * How long a type history the remote refused (NO_TYPE_HISTORY) is not asked again: a remote's answer
 * changes with its configuration, not from one pull to the next, and our facade records each refusal
 * of a receiving party in its audit log (at the pull loop's default interval, 2,880 a day per type).
 * Meanwhile each pull reports the type with the remembered reason; a new service asks at once.
 */
const NO_TYPE_HISTORY_QUIET_MS = 60 * 60_000;

/** Why a remote delete was not applied here, in `PullResult.skippedDeletes`. */
const LOCAL_CHANGES = 'it has local changes not on the remote; their push creates it there again';

/** A type history the remote refused: why, and when to ask again. */
interface Refusal {
  reason: string;
  askAgainAt: number;
}

/** Type histories the remote refused, per service (logged when first refused). */
const refusals = new WeakMap<SyncContext, Map<string, Refusal>>();

/** A remote delete the id map holds a copy of: that copy, by the entry that says so. */
interface Found {
  item: HistoryItem;
  copy: IdMapping;
}

/** A copy resources here still refer to, waiting for the other deletes of the pull. */
interface Waiting {
  copy: IdMapping;
  reason: string;
}

/** The signals a look for deletes runs under: the pull's bound (with the caller's), and the caller's. */
export interface DeleteSignals {
  /** Aborted at the pull's bound (`pullTimeoutMs`) or by the caller: the remote reads stop. */
  bounded: AbortSignal;
  /** The caller's own (shutdown): its abort fails the pull, as it would the searches. */
  caller?: AbortSignal;
}

/**
 * Looks for the remote deletes of each pulled type the id map holds copies of, and applies them, type
 * by type: a type's cursor moves on once its deletes are applied (or left with their reasons), so a
 * pull stopped later reads none of its window again. The look never fails the pull: a type history
 * the remote refuses, fails (no answer, an error after every retry) or does not finish within what is
 * left of the pull's bound (`pullTimeoutMs`) is reported in `deletesNotChecked` with the reason, that
 * type's cursor left where it was; only the caller's abort (shutdown) fails it.
 * `held`: what the searches of this pull fetched (the remote holds those, under whatever id).
 */
export async function pullDeletes(
  ctx: SyncContext,
  result: PullResult,
  held: HeldByRemote,
  signals: DeleteSignals,
  progress: { step: string },
): Promise<void> {
  // Copies still referred to wait for the later types' deletes (a remote deletes a referrer first),
  // and their type's cursor with them.
  const waiting: Waiting[] = [];
  const cursors = new Map<string, string>();
  for (const type of ctx.pullTypes) {
    signals.caller?.throwIfAborted();
    const lookAt = Date.now();
    const window = await timeSpent(ctx, 'database', () => lookFrom(ctx, type, lookAt));
    if (!window) continue;
    const refused = refusals.get(ctx)?.get(type);
    if (refused && refused.askAgainAt > lookAt) {
      result.deletesNotChecked.push({ type, reason: refused.reason });
      continue;
    }
    if (signals.bounded.aborted) {
      notChecked(ctx, result, type, outOfTime(ctx, type));
      continue;
    }
    progress.step = `pull: remote history ${type}/_history`;
    const read = await deletedSince(ctx, type, window, signals, progress.step);
    if ('refused' in read) {
      refusedHistory(ctx, result, type, read.refused, lookAt);
      // Deletes are not pulled while it refuses: the next look, when it answers, starts from here.
      await timeSpent(ctx, 'database', () => writeDeletesCursor(ctx.store, type, lookedFrom(lookAt)));
      continue;
    }
    if ('failed' in read) {
      notChecked(ctx, result, type, read.failed);
      continue;
    }
    const left = await applyDeletes(ctx, result, read.copies, held);
    if (left.length) {
      waiting.push(...left);
      cursors.set(type, read.cursor);
    } else {
      await timeSpent(ctx, 'database', () => writeDeletesCursor(ctx.store, type, read.cursor));
    }
  }
  const now = new Set(waiting.map((w) => keyOf(w.copy)));
  const earlier = await leftEarlier(ctx, signals, progress, now);
  const tried = [...waiting.map((w) => w.copy), ...earlier];
  if (tried.length) await keepLeft(ctx, result, tried, await applyDeletes(ctx, result, tried, held));
  for (const [type, cursor] of cursors)
    await timeSpent(ctx, 'database', () => writeDeletesCursor(ctx.store, type, cursor));
}

const keyOf = (copy: IdMapping) => `${copy.resource_type}/${copy.local_id}`;

/**
 * Lists the copies still referred to here (`sync_delete_left`), counting as skipped those not listed
 * before, and takes the rest of `tried` off the list (deleted, gone here, or left for local changes).
 */
async function keepLeft(ctx: SyncContext, result: PullResult, tried: IdMapping[], still: Waiting[]) {
  const kept = new Set(still.map((w) => keyOf(w.copy)));
  for (const copy of tried)
    if (!kept.has(keyOf(copy)))
      await timeSpent(ctx, 'database', () => forgetDeleteLeft(ctx.store, copy.resource_type, copy.local_id));
  const left = still.map(({ copy, reason }) => ({
    type: copy.resource_type,
    localId: copy.local_id,
    remoteId: copy.remote_id,
    reason,
  }));
  const listed = await timeSpent(ctx, 'database', () => recordDeletesLeft(ctx.store, left));
  for (const { copy, reason } of still)
    if (listed.has(keyOf(copy))) count(ctx, result, copy, { outcome: 'skipped', reason });
}

/**
 * The copies an earlier pull left while resources here referred to them (`sync_delete_left`, those
 * tried longest ago, a page of them) that the remote still holds deleted, asked by id (404 or 410):
 * their deletes are no longer in the history window, so each pull tries them again. One the remote
 * holds again (the read answers it), or that the id map no longer maps to that remote resource, is
 * taken off the list; one whose read fails waits for the next pull. `now`: those this pull left already.
 */
async function leftEarlier(
  ctx: SyncContext,
  signals: DeleteSignals,
  progress: { step: string },
  now: Set<string>,
): Promise<IdMapping[]> {
  const left = await timeSpent(ctx, 'database', () => deletesLeftToTry(ctx.store, ctx.pullPageSize));
  if (!left.length) return [];
  const refs = left.map((l) => `${l.type}/${l.localId}`);
  const mapped = await timeSpent(ctx, 'database', () => mappingsForLocal(ctx.store, refs));
  const copies: IdMapping[] = [];
  const unread: DeleteLeft[] = [];
  for (const l of left) {
    const copy = mapped.get(`${l.type}/${l.localId}`);
    if (copy && now.has(keyOf(copy))) continue;
    const forget = () => timeSpent(ctx, 'database', () => forgetDeleteLeft(ctx.store, l.type, l.localId));
    if (copy?.remote_id !== l.remoteId) {
      await forget();
      continue;
    }
    progress.step = `pull: remote deletes left, ${l.type}`;
    const gone = signals.bounded.aborted ? undefined : await deletedThere(ctx, l, signals, progress.step);
    if (gone) copies.push(copy);
    else if (gone === undefined) unread.push(l);
    else await forget();
  }
  // Tried, not settled: behind the others next time.
  await timeSpent(ctx, 'database', () => recordDeletesLeft(ctx.store, unread));
  return copies;
}

/** Whether the remote still answers `l`'s remote resource as gone (404, 410); undefined: no answer. */
async function deletedThere(
  ctx: SyncContext,
  l: DeleteLeft,
  signals: DeleteSignals,
  step: string,
): Promise<boolean | undefined> {
  try {
    await timeSpent(ctx, 'network', () => ctx.remote.read(l.type, l.remoteId, signals.bounded), step);
    return false;
  } catch (err) {
    if (signals.caller?.aborted) throw err;
    return isGoneRemotely(err) ? true : undefined;
  }
}

/** Where a look at a type's history starts (`since`), and where the last one ended (`cursor`). */
interface HistoryWindow {
  since: string;
  cursor: string;
}

/**
 * The cursor of a type whose deletes are looked for from `lookAt` (our clock) on: less our allowance
 * for the remote's clock (`CLOCK_SKEW_MS`), as the window takes the overlap off it too.
 */
function lookedFrom(lookAt: number): string {
  return new Date(lookAt - CLOCK_SKEW_MS).toISOString();
}

/**
 * Where the look at `type`'s history starts: a little before where the last one ended (`pullOverlapMs`).
 * The first look starts from its own time (`lookedFrom`), kept at once as the cursor: a first look that
 * fails is tried again from there. Undefined when the id map holds no copy of the type (no delete there
 * concerns us); the cursor then follows our clock the same way, so a type mapped again months after its
 * last copy went is not read back to then.
 */
async function lookFrom(ctx: SyncContext, type: string, lookAt: number): Promise<HistoryWindow | undefined> {
  const mapped = await mapsAnyOf(ctx.store, type);
  let cursor = await readDeletesCursor(ctx.store, type);
  if (!cursor || !mapped) {
    const from = lookedFrom(lookAt);
    // Never back: a cursor a remote's clock ahead of ours moved past it stays.
    if (!cursor || Date.parse(cursor) < Date.parse(from)) {
      cursor = from;
      await writeDeletesCursor(ctx.store, type, from);
    }
  }
  return mapped ? { since: windowStart(cursor, ctx.pullOverlapMs), cursor } : undefined;
}

/** Marks an error of a remote read of a type history, to tell it from the pull's own (the database). */
class HistoryUnread {
  constructor(readonly cause: unknown) {}
}

/**
 * The copies (id map entries) of `type` whose newest entry in the remote's history since the window's
 * start is a delete, and the newest stamp seen (from the cursor before: a window that shows nothing
 * newer leaves it); or why the remote answered no type history (`refused`), or why it could not be
 * read (`failed`). Only entries the id map holds are kept (it is asked page by page): the rest of the
 * history — every client's changes of the type — is read for its stamps and dropped.
 */
async function deletedSince(
  ctx: SyncContext,
  type: string,
  { since, cursor: before }: HistoryWindow,
  signals: DeleteSignals,
  step: string,
): Promise<{ copies: IdMapping[]; cursor: string } | { refused: string } | { failed: string }> {
  const newest = new Map<string, Found>();
  let cursor = before;
  const followed = new Set<string>();
  const remote = ctx.remote;
  const { bounded } = signals;
  const read = (get: () => Promise<HistoryPage>) =>
    timeSpent(ctx, 'network', get, step).catch((err: unknown) => {
      throw new HistoryUnread(err);
    });
  try {
    let page = await read(() =>
      remote.historyPage(type, { _since: since, _count: String(ctx.pullPageSize) }, bounded),
    );
    while (true) {
      const refs = page.items.map((i) => `${type}/${i.id}`);
      const mapped = await timeSpent(ctx, 'database', () => mappingsForRemote(ctx.store, refs));
      for (const item of page.items) {
        cursor = laterStamp(cursor, item.at) ?? cursor;
        const copy = mapped.get(`${type}/${item.id}`);
        if (!copy) continue;
        const seen = newest.get(item.id);
        if (!seen || writtenAfter(item, seen.item)) newest.set(item.id, { item, copy });
      }
      const next = page.next;
      if (!next) break;
      page = await read(() => remote.nextHistoryPage(nextOnce(followed, next), type, bounded));
    }
  } catch (err) {
    if (!(err instanceof HistoryUnread) || signals.caller?.aborted) throw unwrap(err);
    const cause = err.cause;
    if (cause instanceof RemoteHttpError && NO_TYPE_HISTORY.has(cause.status))
      return { refused: `the remote answered ${cause.status} to ${type}/_history (no type history)` };
    return { failed: bounded.aborted ? outOfTime(ctx, type) : whyUnread(ctx, type, cause) };
  }
  const copies = [...newest.values()].filter((f) => f.item.deleted).map((f) => f.copy);
  return { copies, cursor };
}

const unwrap = (err: unknown) => (err instanceof HistoryUnread ? err.cause : err);

/** Why the look at `type` stopped at the pull's bound. */
function outOfTime(ctx: SyncContext, type: string): string {
  return `the pull's bound of ${ctx.pullTimeoutMs} ms ran out before ${type}/_history was read`;
}

/**
 * Why the remote's history of `type` could not be read, in words a status or log may show: the
 * status it answered, or why there was no answer, or our own refusal of its answer (`sync-…`); never
 * the remote's text.
 */
function whyUnread(ctx: SyncContext, type: string, err: unknown): string {
  const what = `${type}/_history`;
  if (err instanceof RemoteHttpError)
    return `the remote answered ${err.status} to ${what}${isRetryableStatus(err.status) ? ', after every retry' : ''}`;
  const why = unanswered(err, ctx.remote.config.timeoutMs) ?? credentialsRefused(err);
  if (why) return `${why}, reading ${what}`;
  if (err instanceof Error && /^sync-[a-z]+-\d+:/.test(err.message)) return `${err.message}, reading ${what}`;
  return `${what} could not be read (${err instanceof Error ? err.name : typeof err})`;
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

/**
 * A type whose remote refused its history: in the result each time, in the log when first refused;
 * not asked again for `NO_TYPE_HISTORY_QUIET_MS`.
 */
function refusedHistory(
  ctx: SyncContext,
  result: PullResult,
  type: string,
  reason: string,
  at: number,
): void {
  result.deletesNotChecked.push({ type, reason });
  const types = refusals.get(ctx) ?? new Map<string, Refusal>();
  refusals.set(ctx, types);
  const known = types.has(type);
  types.set(type, { reason, askAgainAt: at + NO_TYPE_HISTORY_QUIET_MS });
  if (known) return;
  ctx.log.warn(
    { type, reason },
    'sync: the remote answers no type history; its deletes of this type are not pulled',
  );
}

/** A type whose history this pull could not read: in the result and the log; looked at again next pull. */
function notChecked(ctx: SyncContext, result: PullResult, type: string, reason: string): void {
  result.deletesNotChecked.push({ type, reason });
  ctx.log.warn(
    { type, reason },
    'sync: the pull could not look for remote deletes of this type; the next pull looks from the same point',
  );
}

type DeleteOutcome = { outcome: 'deleted' | 'none' } | { outcome: 'skipped' | 'referenced'; reason: string };

/**
 * Deletes the copies, counting each. One that resources here still refer to waits while others are
 * deleted (its referrer may be among them: a remote deletes a referrer first); those still referred to
 * once a pass deletes none are returned with the reason, not counted yet.
 */
async function applyDeletes(
  ctx: SyncContext,
  result: PullResult,
  copies: IdMapping[],
  held: HeldByRemote,
): Promise<Waiting[]> {
  let todo = copies;
  while (true) {
    const waiting: Waiting[] = [];
    for (const copy of todo) {
      const done = await deleteCopy(ctx, copy, held);
      if (done.outcome === 'referenced') waiting.push({ copy, reason: done.reason });
      else count(ctx, result, copy, done);
    }
    if (waiting.length === todo.length) return waiting;
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
 * refer to it (the facade's rule for a delete, `assertUnreferenced`, checked by the store's delete under
 * the row's lock).
 */
async function deleteCopy(ctx: SyncContext, copy: IdMapping, held: HeldByRemote): Promise<DeleteOutcome> {
  const { resource_type: type, local_id: localId } = copy;
  return timeSpent(ctx, 'database', () =>
    ctx.store.transaction(async (tx): Promise<DeleteOutcome> => {
      const current = await readHere(tx, type, localId);
      if (!current) return { outcome: 'none' };
      if (heldElsewhere(held, current, copy.remote_id)) return { outcome: 'none' };
      const version = current.meta?.versionId as string;
      const undelivered = await undeliveredChanges(tx, type, localId);
      if (undelivered.queued || undelivered.stuck || copy.local_version !== version)
        return { outcome: 'skipped', reason: LOCAL_CHANGES };
      markPulledWrites(tx);
      try {
        // Another pull may have deleted it since it was read: then that pull counts and audits it.
        // `unreferenced`: the delete policy, checked under the row's lock (assertUnreferenced).
        if (!(await tx.delete(type, localId, { ifMatch: version, unreferenced: true })).deleted)
          return { outcome: 'none' };
      } catch (err) {
        if (err instanceof FhirError && err.status === 412)
          return { outcome: 'skipped', reason: LOCAL_CHANGES };
        if (!(err instanceof FhirError && err.status === 409)) throw err;
        const said = err.outcome.issue?.[0]?.diagnostics ?? issueSummary(err.outcome);
        return { outcome: 'referenced', reason: `not deleted here: ${said}` };
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
