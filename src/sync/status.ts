import { type BackfillStatus, readBackfill } from './backfill.ts';
import type { SyncContext } from './context.ts';
import type { KantaStatus } from './kanta/status.ts';
import {
  OUTBOX_STATES,
  type OutboxState,
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
  /** The remote and party the store syncs with, recorded by its first push or pull (null before one). */
  boundTo: { remote: string | null; party: string | null };
  queueDepth: number;
  states: Record<OutboxState, number>;
  lastPushSuccess: string | null;
  lastPullSuccess: string | null;
  /** Clients the last pull could not follow (local Patient id) and why. */
  lastPullSkipped: { patient: string; reason: string }[];
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
  /** What the sync is waiting for right now, and for how long. */
  waiting: { what: string; forMs: number }[];
  /** With a Kanta PHR remote: PHR patients, writes not applicable to it, remote resources not imported. */
  kanta?: KantaStatus;
}

export async function readStatus(ctx: SyncContext): Promise<SyncStatus> {
  const db = ctx.store;
  const states = Object.fromEntries(OUTBOX_STATES.map((s) => [s, 0])) as Record<OutboxState, number>;
  let retrying = 0;
  for (const r of await outboxCounts(db)) {
    states[r.state] = r.n;
    if (r.state === 'pending') retrying = r.retrying;
  }
  const kv = await readStates(db);
  const pullRefused = await refusedPulls(db);
  const now = Date.now();
  return {
    remote: ctx.remote.baseUrl,
    party: ctx.party,
    boundTo: { remote: kv.get('remote') ?? null, party: kv.get('party') ?? null },
    queueDepth: states.pending + states.inflight,
    states,
    lastPushSuccess: kv.get('last_push_success') ?? null,
    lastPullSuccess: kv.get('last_pull_success') ?? null,
    lastPullSkipped: JSON.parse(kv.get('last_pull_skipped') ?? '[]'),
    failures: { retrying, deadLetters: states.dead, lastError: kv.get('last_error') ?? null },
    blockedByConsent: states.blocked,
    heldByDependency: states.held,
    conflicts: await conflictCount(db),
    pullRefused,
    deletesLeft: await deletesLeft(db),
    followedClients: await followedCount(db),
    backfill: await readBackfill(db),
    breaker: ctx.remote.breakerState,
    waiting: [...ctx.waits.values()].map((w) => ({ what: w.what, forMs: now - w.since })),
  };
}
