import { type BackfillStatus, readBackfill } from './backfill.ts';
import type { SyncContext } from './context.ts';
import type { KantaStatus } from './kanta/status.ts';
import {
  type Db,
  ERROR_KEY,
  OUTBOX_STATES,
  type OutboxState,
  SUCCESS_KEY,
  conflictCount,
  deletesLeft,
  followedCount,
  outboxCounts,
  readStates,
  refusedPulls,
} from './repository.ts';

export interface SyncStatus {
  /** The remote and party this service is configured with. */
  remote: string;
  party: string;
  /**
   * The remote the store syncs with, recorded by its first push or pull, and the party it sends as,
   * recorded by the first write that left for the remote (party.ts); null before.
   */
  boundTo: { remote: string | null; party: string | null };
  queueDepth: number;
  states: Record<OutboxState, number>;
  lastPushSuccess: string | null;
  lastPullSuccess: string | null;
  /** Clients the last pull could not follow (local Patient id) and why. */
  lastPullSkipped: { patient: string; reason: string }[];
  /** `lastError`: the newest push-round or pull error no later success of its kind made good. */
  failures: { retrying: number; deadLetters: number; lastError: string | null };
  blockedByConsent: number;
  /** Rows held back because a resource they reference is blocked, dead, parked or never queued. */
  heldByDependency: number;
  conflicts: number;
  /**
   * Remote resources the pull did not store, and why (the rule, never the content): how many, and
   * the newest twenty. The pull goes on past each; a later version of one is taken in when it passes.
   */
  pullRefused: Awaited<ReturnType<typeof refusedPulls>>;
  /**
   * Remote deletes the pull left because resources here still refer to the local copy: how many, and
   * the newest twenty (ids and the reason only). Each later pull tries them again.
   */
  deletesLeft: Awaited<ReturnType<typeof deletesLeft>>;
  /** Clients the store holds sync data for (pull follows each of them, or says why not). */
  followedClients: number;
  /** Resources written before the sync was attached, queued once (backfill.ts). */
  backfill: BackfillStatus;
  breaker: string;
  /** What this process's sync is waiting for right now, and for how long (another process's: not known). */
  waiting: { what: string; forMs: number }[];
  /** With a Kanta PHR remote: PHR patients, writes not applicable to it, remote resources not imported. */
  kanta?: KantaStatus;
}

/**
 * The newest error nothing has made good since: a push round's until a later push delivers, a pull's
 * until a later pull completes (an error is `<instant> <message>`, a success its instant).
 */
function lastError(kv: Map<string, string>): string | null {
  const madeGood = (error: string, success: string | undefined) =>
    success !== undefined && success > error.slice(0, error.indexOf(' '));
  const open = WORK_KINDS.flatMap((kind) => {
    const error = kv.get(ERROR_KEY[kind]);
    return error && !madeGood(error, kv.get(SUCCESS_KEY[kind])) ? [error] : [];
  });
  // A store from before the two kinds kept one `last_error`: shown until any later success.
  const legacy = kv.get(LEGACY_ERROR_KEY);
  if (legacy && !WORK_KINDS.some((kind) => madeGood(legacy, kv.get(SUCCESS_KEY[kind])))) open.push(legacy);
  return open.sort().at(-1) ?? null;
}

const LEGACY_ERROR_KEY = 'last_error';

const WORK_KINDS = ['push', 'pull'] as const;

/** What the status is read from: the store, and this process's remote client and waits. */
export type StatusSource = Pick<SyncContext, 'party' | 'waits'> & {
  store: Db;
  remote: Pick<SyncContext['remote'], 'baseUrl' | 'breakerState'>;
};

/**
 * What this process waits for right now and for how long, as of the call (a wait that began while the
 * caller was busy counts from when it began). Only the process doing the work knows: the waits are
 * not stored.
 */
export function waitingNow(waits: SyncContext['waits']): SyncStatus['waiting'] {
  const now = Date.now();
  return [...waits.values()].map((w) => ({ what: w.what, forMs: Math.max(0, now - w.since) }));
}

export async function readStatus(ctx: StatusSource): Promise<SyncStatus> {
  const db = ctx.store;
  const states = Object.fromEntries(OUTBOX_STATES.map((s) => [s, 0])) as Record<OutboxState, number>;
  let retrying = 0;
  for (const r of await outboxCounts(db)) {
    states[r.state] = r.n;
    if (r.state === 'pending') retrying = r.retrying;
  }
  const kv = await readStates(db);
  const pullRefused = await refusedPulls(db);
  return {
    remote: ctx.remote.baseUrl,
    party: ctx.party,
    boundTo: { remote: kv.get('remote') ?? null, party: kv.get('party') ?? null },
    queueDepth: states.pending + states.inflight,
    states,
    lastPushSuccess: kv.get(SUCCESS_KEY.push) ?? null,
    lastPullSuccess: kv.get(SUCCESS_KEY.pull) ?? null,
    lastPullSkipped: JSON.parse(kv.get('last_pull_skipped') ?? '[]'),
    failures: { retrying, deadLetters: states.dead, lastError: lastError(kv) },
    blockedByConsent: states.blocked,
    heldByDependency: states.held,
    conflicts: await conflictCount(db),
    pullRefused,
    deletesLeft: await deletesLeft(db),
    followedClients: await followedCount(db),
    backfill: await readBackfill(db),
    breaker: ctx.remote.breakerState,
    // Last, after every query: as of when the status is handed over.
    waiting: waitingNow(ctx.waits),
  };
}
