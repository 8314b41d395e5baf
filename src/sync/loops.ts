/** The push and pull loops a sync service runs (once, or in the background until stopped). */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SyncContext } from './context.ts';
import { type PullResult, pullOnce } from './pull.ts';
import { pushRound } from './push/round.ts';
import { CredentialsRefused, type PushRoundResult, emptyPushResult } from './push/state.ts';
import { ERROR_KEY, type WorkKind, queueDepth, setState } from './repository.ts';

/** How one push round and one pull run against the remote (the FHIR-store default, or an adapter's). */
export interface Rounds {
  pushRound(ctx: SyncContext, signal?: AbortSignal): Promise<PushRoundResult>;
  pullOnce(ctx: SyncContext, signal?: AbortSignal): Promise<PullResult>;
  /**
   * Push rounds in flight per request the remote gets at once (default 1). The FHIR-store rounds send
   * their Bundles in the service's send slots (`ctx.sending`) and do their local work — claim, consent,
   * order, settle — outside them, so one round per slot is prepared or settled while another's Bundle
   * is at the remote: the remote never waits for our database, nor gets more at once.
   */
  roundsPerSlot?: number;
}
export const FHIR_STORE_ROUNDS: Rounds = { pushRound, pullOnce, roundsPerSlot: 2 };

/** Push rounds a service keeps in flight for `lanes` requests at the remote at once. */
export function roundsInFlight(rounds: Rounds, lanes: number): number {
  return lanes * Math.max(1, Math.trunc(rounds.roundsPerSlot ?? 1));
}

/** Whether a round only gave rows back (all waiting or held): the next round should not spin. */
const onlyGaveBack = (r: PushRoundResult) => r.claimed === r.waiting + r.held;

/** Push until a round finds nothing ready, `lanes` rounds in flight; `onProgress` after each round. */
export async function drainOutbox(
  ctx: SyncContext,
  signal: AbortSignal,
  lanes: number,
  onProgress?: (done: PushRoundResult, remaining: number) => void,
  rounds: Rounds = FHIR_STORE_ROUNDS,
): Promise<PushRoundResult> {
  // Stopped before it began: AbortError, as a pull gives, not a round that pushed nothing.
  signal.throwIfAborted();
  const total = emptyPushResult();
  let lastReport = Promise.resolve();
  const lane = async () => {
    while (!signal.aborted) {
      let r: PushRoundResult;
      let refused = false;
      try {
        r = await rounds.pushRound(ctx, signal);
      } catch (err) {
        // Its rows went back unsent, and every further round would meet the same refusal.
        if (!(err instanceof CredentialsRefused)) throw err;
        await keepLastError(ctx, 'push', err);
        r = err.result ?? emptyPushResult();
        refused = true;
      }
      for (const k of Object.keys(total) as (keyof PushRoundResult)[]) total[k] += r[k];
      if (onProgress) {
        lastReport = lastReport.then(async () => onProgress(total, await queueDepth(ctx.store)));
        await lastReport;
      }
      if (refused || r.claimed === 0) break;
      // Only rows that must wait came back: give them their moment instead of spinning.
      if (onlyGaveBack(r)) await sleep(250);
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return total;
}

/** A failed round is logged and kept as the status's last error of its kind; the loop goes on. */
export async function recordError(ctx: SyncContext, kind: WorkKind, err: unknown): Promise<void> {
  ctx.log.error({ err }, 'sync: round failed');
  await keepLastError(ctx, kind, err);
}

/**
 * Keeps `err` as the last error of a push round or a pull, stamped (its message: names and codes,
 * never what was sent). Status shows it until a later success of the same kind (status.ts).
 */
export async function keepLastError(
  ctx: Pick<SyncContext, 'store'>,
  kind: WorkKind,
  err: unknown,
): Promise<void> {
  const message = `${new Date().toISOString()} ${(err as Error)?.message ?? String(err)}`;
  await setState(ctx.store, ERROR_KEY[kind], message).catch(() => {});
}

export async function pushLoop(
  ctx: SyncContext,
  signal: AbortSignal,
  idleMs: number,
  rounds: Rounds = FHIR_STORE_ROUNDS,
): Promise<void> {
  while (!signal.aborted) {
    try {
      // Idle until a local commit queues rows (or idleMs, for other processes' rows and delays).
      const ticket = ctx.doorbell.ticket();
      const r = await rounds.pushRound(ctx, signal);
      if (r.claimed === 0 || onlyGaveBack(r)) await ctx.doorbell.sleep(idleMs, ticket, signal);
    } catch (err) {
      if (signal.aborted) break;
      await recordError(ctx, 'push', err);
      await sleep(1_000, undefined, { signal }).catch(() => {});
    }
  }
}

export async function pullLoop(
  ctx: SyncContext,
  signal: AbortSignal,
  intervalMs: number,
  rounds: Rounds = FHIR_STORE_ROUNDS,
): Promise<void> {
  while (!signal.aborted) {
    try {
      await rounds.pullOnce(ctx, signal);
    } catch (err) {
      if (signal.aborted) break;
      await recordError(ctx, 'pull', err);
    }
    await sleep(intervalMs, undefined, { signal }).catch(() => {});
  }
}
