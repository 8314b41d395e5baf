/** The push and pull loops a sync service runs (once, or in the background until stopped). */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SyncContext } from './context.ts';
import { type PullResult, pullOnce } from './pull.ts';
import { WAIT_FOR_DEPENDENCY_MS } from './push/dependencies.ts';
import { pushRound } from './push/round.ts';
import { CredentialsRefused, type PushRoundResult, emptyPushResult } from './push/state.ts';
import { type WorkKind, keepLastError, nextShortWait, queueDepth } from './repository.ts';

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

/** Rows a round delivered or settled for good (not put back to wait, held, nor backing off). */
const settled = (r: PushRoundResult) => r.done + r.dead + r.blocked + r.parked;

/**
 * The longest wait a one-shot push waits out for rows put back in the same run: a dependency or a
 * deletion in flight (WAIT_FOR_DEPENDENCY_MS), a consent re-check. A backoff after a failure or an
 * open circuit waits longer (by default 1 s and 5 s at least): its rows are left for a later run. (One
 * configured shorter is waited out too, but only while rows keep settling.)
 */
const SHORT_WAIT_MS = WAIT_FOR_DEPENDENCY_MS;

/**
 * Push until nothing left can go in this run, `lanes` rounds in flight; `onProgress` after each round.
 * A round that found nothing ready, or only gave rows back, does not end its lane
 * while rows may still go: while another lane's round is in flight, the lane waits for it to end (it
 * may hold the client, or the dependency, the rest waits for); when none is, the lanes wait together
 * until the rows put back for a short wait are due (shortWaitOver). The run ends when the queue
 * holds only rows that wait for a backoff, an open circuit or a person (blocked, held, parked, dead),
 * or rows that went back again without anything settled since the last such wait (their dependency
 * is elsewhere: another worker's, or in a backoff).
 */
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
  let inFlight = 0;
  /** Lanes waiting for a round to end, told whether it had claimed rows. */
  let roundEnded: ((claimedSome: boolean) => void)[] = [];
  let idle: Promise<boolean> | undefined;
  let settledAtLastWait = -1;
  // A round refused (credentials: every further round would meet the same) or failed: no lane goes on.
  let stopped = false;
  const shortWaitOver = async (): Promise<boolean> => {
    // Nothing settled since the last wait: what went back waits for what this run cannot deliver.
    if (settled(total) === settledAtLastWait) return false;
    settledAtLastWait = settled(total);
    const ms = await nextShortWait(ctx.store, SHORT_WAIT_MS);
    if (ms === undefined) return false;
    await sleep(ms, undefined, { signal }).catch(() => {});
    return !signal.aborted;
  };
  /** Whether the lane goes on after a round that found nothing ready or only gave rows back, once it has waited. */
  const mayStillGo = async (): Promise<boolean> => {
    // A round that claimed rows may settle or release what this lane found taken or waiting: once one
    // has ended, look again. (A round that claimed none changed nothing.)
    while (inFlight > 0) {
      if (await new Promise<boolean>((resolve) => roundEnded.push(resolve))) return true;
    }
    idle ??= shortWaitOver().finally(() => {
      idle = undefined;
    });
    return idle;
  };
  const lane = async () => {
    while (!signal.aborted && !stopped) {
      let r: PushRoundResult;
      // A round that failed may have claimed rows: they went back.
      let claimedSome = true;
      inFlight++;
      try {
        r = await rounds.pushRound(ctx, signal);
        claimedSome = r.claimed > 0;
      } catch (err) {
        // Its rows went back unsent.
        stopped = true;
        if (!(err instanceof CredentialsRefused)) throw err;
        await keepLastError(ctx.store, 'push', err);
        r = err.result ?? emptyPushResult();
      } finally {
        inFlight--;
        const waiting = roundEnded;
        roundEnded = [];
        for (const resolve of waiting) resolve(claimedSome);
      }
      for (const k of Object.keys(total) as (keyof PushRoundResult)[]) total[k] += r[k];
      if (onProgress) {
        lastReport = lastReport.then(async () => onProgress(total, await queueDepth(ctx.store)));
        await lastReport;
      }
      if (stopped) break;
      // It sent, or settled, something: the next round at once.
      if (r.claimed > 0 && !onlyGaveBack(r)) continue;
      if (!(await mayStillGo())) break;
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return total;
}

/** A failed round is logged and kept as the status's last error of its kind; the loop goes on. */
export async function recordError(ctx: SyncContext, kind: WorkKind, err: unknown): Promise<void> {
  ctx.log.error({ err }, 'sync: round failed');
  await keepLastError(ctx.store, kind, err);
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
