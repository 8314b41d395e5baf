// Several facade processes on one port (node:cluster), for PostgreSQL deployments: each worker is a
// whole facade with its own pool and event loop; the store's locks already make processes on one
// database safe (conditional creates, If-Match updates, sync claims).
import cluster, { type Worker } from 'node:cluster';
import { ClusterMemoryStorePrimary } from '@express-rate-limit/cluster-memory-store';
import type { Logger } from 'pino';
import { aggregateWorkerMetrics } from './ops.ts';

/** Set in each worker's environment: 1…count. Worker 1 runs the process-wide jobs (the sync loops). */
export const WORKER_INDEX_ENV = 'TYOKYKY_WORKER_INDEX';

/** The first wait before a replacement that failed to start is forked again; doubled each time. */
export const RESTART_FIRST_MS = 1000;
/** The longest wait between a slot's failed starts. */
export const RESTART_MAX_MS = 30_000;

/**
 * This process's worker number in a pool of ours (`superviseWorkers`), or undefined outside one: also
 * in a cluster worker some other primary forked (pm2's cluster mode, an application's own), which
 * sets no number and answers none of our primary's messages.
 */
export function workerIndex(): number | undefined {
  if (!cluster.isWorker) return undefined;
  const n = Number(process.env[WORKER_INDEX_ENV]);
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}

/** One place in the pool (worker number), across the processes that fill it in turn. */
interface Slot {
  index: number;
  /** Whether any process of this slot ever listened: then a failed start is the moment's, not the configuration's. */
  everListened: boolean;
  /** Failed starts in a row since the slot's last listening process (the backoff's exponent). */
  failedStarts: number;
  /** The pending re-fork after a failed start. */
  timer?: NodeJS.Timeout;
}

/**
 * Runs in the primary: forks `count` workers (each re-runs this command), replaces a worker that
 * crashes under load, and stops them all on SIGTERM/SIGINT, exiting once every worker has finished
 * its in-flight requests. A first-generation worker that fails while starting stops the pool with
 * exit code 1 (a configuration error); a replacement that fails while starting (the database down
 * for a moment) is forked again after 1 s, 2 s, 4 s … at most 30 s, while the others keep serving.
 */
export function superviseWorkers(count: number, logger: Logger): void {
  // The pool's rate-limit counts (security/front.ts): workers ask the primary, so a limit is per pool.
  new ClusterMemoryStorePrimary().init();
  /** Each running worker, and whether it got as far as listening. */
  const started = new Map<Worker, { listening: boolean }>();
  const slots: Slot[] = [];
  let stopping = false;
  let exitCode = 0;

  const stopAll = (code: number) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    for (const slot of slots) clearTimeout(slot.timer);
    for (const worker of started.keys()) worker.process.kill('SIGTERM');
    if (!started.size) {
      logger.info({ workers: count }, 'all facade workers stopped; bye');
      process.exit(exitCode);
    }
  };
  const onExit = (
    slot: Slot,
    worker: Worker,
    listened: boolean,
    code: number | null,
    signal: string | null,
  ) => {
    started.delete(worker);
    if (stopping) {
      if (!started.size) {
        logger.info({ workers: count }, 'all facade workers stopped; bye');
        process.exit(exitCode);
      }
      return;
    }
    logger.error({ worker: slot.index, pid: worker.process.pid, code, signal }, 'facade worker exited');
    if (listened) {
      fork(slot);
      return;
    }
    // Judged by whether the slot ever listened, not by how long the process lived: on a loaded
    // machine a start that fails can take longer than any grace period.
    if (!slot.everListened) {
      logger.error({ worker: slot.index }, 'facade worker failed while starting; stopping the others');
      stopAll(1);
      return;
    }
    const retryInMs = Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** slot.failedStarts);
    slot.failedStarts++;
    logger.error({ worker: slot.index, retryInMs }, 'facade worker failed while starting; starting it again');
    slot.timer = setTimeout(() => fork(slot), retryInMs);
  };
  const fork = (slot: Slot) => {
    slot.timer = undefined;
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(slot.index) });
    const state = { listening: false };
    started.set(worker, state);
    worker.once('listening', () => {
      state.listening = true;
      slot.everListened = true;
      slot.failedStarts = 0;
    });
    worker.once('exit', (code, signal) => onExit(slot, worker, state.listening, code, signal));
  };

  aggregateWorkerMetrics(logger);
  for (let i = 1; i <= count; i++) {
    const slot: Slot = { index: i, everListened: false, failedStarts: 0 };
    slots.push(slot);
    fork(slot);
  }
  logger.info({ workers: count, pid: process.pid }, `started ${count} facade workers`);
  process.on('SIGTERM', () => stopAll(0));
  process.on('SIGINT', () => stopAll(0));
}
