/**
 * One round of a push worker: claim a batch, let consent through what it permits (per client), order
 * the rest by dependencies, then deliver — the whole round in one transaction Bundle when the remote
 * takes them (entries refer to each other by `urn:uuid`), else wave by wave; every claimed row ends
 * settled or released.
 */
import { randomUUID } from 'node:crypto';
import { type SyncContext, businessIdentifier, timeSpent } from '../context.ts';
import { collectReferences } from '../references.ts';
import {
  DELETE_WENT,
  type IdMapping,
  type OutboxRow,
  SUPERSEDED_BY_SENT,
  claim,
  isOlderThanSent,
  keepLastError,
  laterRowsOf,
  mappingsForLocal,
  release,
  roundClaimId,
  settle,
  vanishedVersion,
} from '../repository.ts';
import { reclaimAbandonedEvery } from '../workers.ts';
import { gateByConsent } from './consent.ts';
import { type Recreate, deliverTransaction, deliverWave } from './delivery.ts';
import { type Ordered, WAIT_FOR_DEPENDENCY_MS, orderByDependencies } from './dependencies.ts';
import { keepLease } from './lease.ts';
import { deleteUnmappedCopies } from './orphans.ts';
import { deadFor, failed } from './outcomes.ts';
import {
  CircuitOpen,
  CredentialsRefused,
  LeaseLost,
  type PushRoundResult,
  type Round,
  accountedRows,
  emptyPushResult,
  stoppedRoundDelay,
} from './state.ts';
import {
  type LogicalTargets,
  type RemoteWrite,
  asCreate,
  labelledNow,
  remoteWrite,
  writeTarget,
} from './writes.ts';

/** How often a worker looks for rows abandoned by dead workers or run-out leases. */
const RECLAIM_EVERY_MS = 1_000;

/** Round numbers per worker context, for the rounds' claim ids. */
const roundsOf = new WeakMap<SyncContext, number>();

export async function pushRound(ctx: SyncContext, signal?: AbortSignal): Promise<PushRoundResult> {
  const result = emptyPushResult();
  await timeSpent(ctx, 'database', () => reclaimAbandonedEvery(ctx.store, ctx, RECLAIM_EVERY_MS));
  const n = (roundsOf.get(ctx) ?? 0) + 1;
  roundsOf.set(ctx, n);
  const claimId = roundClaimId(ctx.workerId, n);
  const rows = await inTurn(ctx, () =>
    timeSpent(ctx, 'database', () => claim(ctx.store, claimId, ctx.batchSize, ctx.leaseMs)),
  );
  result.claimed = rows.length;
  if (!rows.length) return result;
  // A full batch may have left more behind: an idle loop claims it while this round delivers.
  if (rows.length >= ctx.batchSize) ctx.doorbell.ring();
  const round: Round = { ctx, result, signal, claim: claimId, leasedAt: performance.now() };
  try {
    await run(round, rows);
  } catch (err) {
    // Whatever was not settled goes back to the queue; the claim guard keeps settled rows as they are
    // (and rows this round no longer holds with the round that does).
    const refused = err instanceof CredentialsRefused;
    const delay =
      err instanceof CircuitOpen || refused
        ? stoppedRoundDelay(ctx.remote.config.breaker)
        : err instanceof LeaseLost
          ? 0
          : 1_000;
    await timeSpent(ctx, 'database', () =>
      release(
        ctx.store,
        claimId,
        rows.map((r) => r.id),
        delay,
        (err as Error).message,
      ),
    );
    if (err instanceof LeaseLost || refused) result.waiting += rows.length - accountedRows(result);
    // Refused credentials are the operator's to fix: the caller keeps the error as the status's last.
    if (refused) err.result = result;
    // An open circuit (the remote down) ends the round quietly, but it is a failed round all the same:
    // the status's last error until a later push delivers.
    if (err instanceof CircuitOpen) await keepLastError(ctx.store, 'push', err);
    if (!(err instanceof LeaseLost || err instanceof CircuitOpen)) throw err;
  }
  return result;
}

const claiming = new WeakMap<SyncContext, Promise<unknown>>();

/**
 * The rounds of one service claim one after another: each claim then sees the rows the previous one
 * took as in flight and passes over their clients, instead of racing it for the same window.
 */
function inTurn<T>(ctx: SyncContext, fn: () => Promise<T>): Promise<T> {
  const turn = (claiming.get(ctx) ?? Promise.resolve()).then(fn, fn);
  claiming.set(
    ctx,
    turn.catch(() => {}),
  );
  return turn;
}

async function run(round: Round, rows: OutboxRow[]): Promise<void> {
  const permitted = await gateByConsent(round, rows);
  const identified = await requireIdentifiers(round, await dropVanished(round, permitted));
  round.labelled = await timeSpent(round.ctx, 'database', () => labelledNow(round.ctx.store, identified));
  const ordered = await orderByDependencies(round, identified);
  ordered.waves = await dropStale(round, ordered);
  ordered.waves = await dropDeletedBeforeSent(round, ordered);
  if (await asOneTransaction(round, ordered)) return;
  await waveByWave(round, ordered);
}

const keyOf = (row: OutboxRow) => `${row.resource_type}/${row.resource_id}`;

function refsOf(row: OutboxRow): string[] {
  return row.action === 'delete' ? [] : [...collectReferences(row.payload)];
}

/**
 * A row older than the local version already on the remote (a write queued twice, e.g. by the hook
 * and a backfill running at the same moment) is settled without sending: it would put older content
 * over newer.
 */
function dropStale(round: Round, { waves, mappings }: Ordered): Promise<OutboxRow[][]> {
  const stale = waves.flat().filter((row) => isOlderThanSent(row, mappings.get(keyOf(row))?.local_version));
  return settledUnsent(round, waves, stale, SUPERSEDED_BY_SENT);
}

/**
 * A create or update of a resource not yet on the remote that a delete of it follows — queued, or
 * settled already (a create blocked by consent comes back when consent returns, after its delete went)
 * — is settled without sending (the delete finds, or found, nothing there to delete). Sent, it would
 * put on the remote a resource gone here, and a newer local resource that carries its business
 * identifier — a record entered again — would be matched to that copy by its conditional create,
 * clash with it and be lost. An edit of a resource on the remote whose delete has gone already (an
 * edit blocked by consent, released when consent returns) is settled without sending too: it would
 * only find gone the copy the delete removed. (One whose delete is still queued goes first, and a
 * remote edit it meets is a conflict recorded as such; the delete follows it.)
 */
async function dropDeletedBeforeSent(round: Round, { waves, mappings }: Ordered): Promise<OutboxRow[][]> {
  const { ctx } = round;
  const writes = waves.flat().filter((r) => r.action !== 'delete');
  if (!writes.length) return waves;
  const later = await timeSpent(ctx, 'database', () => laterRowsOf(ctx.store, writes));
  const onRemote = (r: OutboxRow) => mappings.has(keyOf(r));
  const never = writes.filter((r) => !onRemote(r) && later.get(r.id)?.deleted);
  const after = writes.filter((r) => onRemote(r) && later.get(r.id)?.deleteDone);
  // Its delete has gone already, though a write of it may have reached the remote (an earlier attempt
  // of this row without a definite answer, retried): the copy that left goes now.
  const retried = await deleteLeftCopies(
    round,
    never.filter((r) => later.get(r.id)?.deleteDone),
  );
  const rest = await settledUnsent(
    round,
    waves.map((w) => w.filter((r) => !retried.has(r.id))),
    never.filter((r) => !retried.has(r.id)),
    'not sent: deleted here before it reached the remote',
  );
  return settledUnsent(round, rest, after, DELETE_WENT);
}

/**
 * Deletes the remote copies nothing maps to that `rows` may have left there (orphans.ts); returns the
 * ids of the rows whose look-up failed, settled as failures (retried).
 */
async function deleteLeftCopies(round: Round, rows: OutboxRow[]): Promise<Set<string>> {
  const failing = new Set<string>();
  for (const row of rows) {
    try {
      await deleteUnmappedCopies(round, row);
    } catch (err) {
      await failed(round, row, err);
      failing.add(row.id);
    }
  }
  return failing;
}

/** Settles `rows` done without sending them, saying why; `waves` less those rows. */
async function settledUnsent(
  round: Round,
  waves: OutboxRow[][],
  rows: OutboxRow[],
  reason: string,
): Promise<OutboxRow[][]> {
  if (!rows.length) return waves;
  const { ctx } = round;
  const ids = rows.map((r) => r.id);
  await timeSpent(ctx, 'database', () => settle(ctx.store, round.claim, ids, 'done', { reason }));
  round.result.done += rows.length;
  const unsent = new Set(ids);
  return waves.map((w) => w.filter((r) => !unsent.has(r.id))).filter((w) => w.length);
}

/**
 * Writes for `rows` with the mappings known now (and `inBundle` urn:uuids); rows with a reference that
 * cannot be translated are released to wait — a local id is never sent.
 */
async function writesFor(
  round: Round,
  rows: OutboxRow[],
  mappings: Map<string, IdMapping>,
  logical: LogicalTargets,
  inBundle?: Map<string, string>,
): Promise<RemoteWrite[]> {
  const { ctx } = round;
  const writes: RemoteWrite[] = [];
  const notYet: OutboxRow[] = [];
  const untranslated = new Set<string>();
  for (const row of rows) {
    const w = remoteWrite(row, mappings, writeTarget(ctx, round.labelled), logical, inBundle);
    if ('untranslated' in w) {
      notYet.push(row);
      for (const r of w.untranslated) untranslated.add(r);
    } else writes.push(w);
  }
  if (notYet.length) {
    round.result.waiting += notYet.length;
    const reason = `waiting for ${[...untranslated].slice(0, 3).join(', ')} to reach the remote`;
    await timeSpent(ctx, 'database', () =>
      release(
        ctx.store,
        round.claim,
        notYet.map((r) => r.id),
        WAIT_FOR_DEPENDENCY_MS,
        reason,
      ),
    );
  }
  return writes;
}

/** Rebuilds a write as a create (its remote copy is gone), with the latest mappings in `known`. */
function recreator(round: Round, logical: LogicalTargets, known: { mappings: Map<string, IdMapping> }) {
  const recreate: Recreate = (w) => {
    const again = asCreate(w, writeTarget(round.ctx, round.labelled), logical, known.mappings);
    return 'untranslated' in again ? undefined : again;
  };
  return recreate;
}

/**
 * The whole round in one transaction Bundle: rows not yet on the remote get a `urn:uuid` that the
 * others refer to them by, so dependent resources need one round trip, not one per level. False when
 * the remote takes no transactions or refused this one as a whole (nothing of it was stored): the
 * caller goes wave by wave. Deletes go by themselves afterwards.
 */
async function asOneTransaction(round: Round, ordered: Ordered): Promise<boolean> {
  const { ctx } = round;
  const rows = ordered.waves.flat();
  const live = rows.filter((r) => r.action !== 'delete');
  if (live.length < 2 || ordered.waves.length < 2) return false;
  const mode = await timeSpent(
    ctx,
    'network',
    () => ctx.remote.bundleMode(round.signal),
    'remote capabilities',
  );
  if (mode !== 'transaction') return false;
  const inBundle = new Map(
    live.filter((r) => !ordered.mappings.has(keyOf(r))).map((r) => [keyOf(r), `urn:uuid:${randomUUID()}`]),
  );
  const writes: RemoteWrite[] = [];
  for (const row of live) {
    const w = remoteWrite(row, ordered.mappings, writeTarget(ctx, round.labelled), ordered.logical, inBundle);
    if ('untranslated' in w) return false; // ordering let it through: go the careful way
    writes.push(w);
  }
  const known = { mappings: ordered.mappings };
  const recreate = recreator(round, ordered.logical, known);
  // An entry that needs a follow-up by itself is rebuilt with the mappings its Bundle just produced.
  const rebuild = async (followUps: RemoteWrite[]) => {
    const keys = followUps.flatMap((w) => [w.key, ...refsOf(w.row)]);
    known.mappings = await timeSpent(ctx, 'database', () => mappingsForLocal(ctx.store, keys));
    return writesFor(
      round,
      followUps.map((w) => w.row),
      known.mappings,
      ordered.logical,
    );
  };
  if (!(await deliverTransaction(round, writes, recreate, rebuild))) return false;
  const deletes = rows.filter((r) => r.action === 'delete');
  if (deletes.length)
    await deliverWave(round, await writesFor(round, deletes, known.mappings, ordered.logical), recreate);
  return true;
}

/** Wave by wave: each wave's references are on the remote once the waves before it are settled. */
async function waveByWave(round: Round, { waves, logical, mappings }: Ordered): Promise<void> {
  const { ctx } = round;
  const known = { mappings };
  for (const [i, wave] of waves.entries()) {
    await keepLease(round, wave);
    // Later waves reference what earlier ones created: read the mappings again.
    if (i > 0) {
      const keys = wave.flatMap((r) => [keyOf(r), ...refsOf(r)]);
      known.mappings = await timeSpent(ctx, 'database', () => mappingsForLocal(ctx.store, keys));
    }
    const writes = await writesFor(round, wave, known.mappings, logical);
    await deliverWave(round, writes, recreator(round, logical, known));
  }
}

/** A row whose version the store no longer holds (its payload is read from the history) has nothing to send. */
async function dropVanished(round: Round, rows: OutboxRow[]): Promise<OutboxRow[]> {
  const present: OutboxRow[] = [];
  for (const row of rows) {
    const why = vanishedVersion(row);
    if (why) await deadFor(round, row, 'not-found', why);
    else present.push(row);
  }
  return present;
}

/** Kanta-style stores take only conditional creates keyed by business identifier. */
async function requireIdentifiers(round: Round, rows: OutboxRow[]): Promise<OutboxRow[]> {
  const passing: OutboxRow[] = [];
  for (const row of rows) {
    if (row.action === 'delete' || businessIdentifier(row.payload)) {
      passing.push(row);
      continue;
    }
    await deadFor(
      round,
      row,
      'required',
      `sync-id-1: ${row.resource_type} has no business identifier; Kanta-style stores take only conditional creates keyed by identifier`,
      `${row.resource_type}.identifier`,
    );
  }
  return passing;
}
