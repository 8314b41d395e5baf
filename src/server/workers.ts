// Several facade processes on one port (node:cluster), for PostgreSQL deployments: each worker is a
// whole facade with its own pool and event loop; the store's locks already make processes on one
// database safe (conditional creates, If-Match updates, sync claims).
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';

/** Set in each worker's environment: 1…count. Worker 1 runs the process-wide jobs (the sync loops). */
export const WORKER_INDEX_ENV = 'TYOKYKY_WORKER_INDEX';

/** This process's worker number, or undefined outside a worker pool. */
export function workerIndex(): number | undefined {
  return cluster.isWorker ? Number(process.env[WORKER_INDEX_ENV]) : undefined;
}

/**
 * Runs in the primary: forks `count` workers (each re-runs this command), replaces a worker that
 * crashes under load, and stops them all on SIGTERM/SIGINT, exiting once every worker has finished
 * its in-flight requests. A worker that fails while starting stops the pool with exit code 1.
 */
export function superviseWorkers(count: number, logger: Logger): void {
  /** Each running worker, and whether it got as far as listening. */
  const started = new Map<Worker, { listening: boolean }>();
  let stopping = false;
  let exitCode = 0;

  const stopAll = (code: number) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    for (const worker of started.keys()) worker.process.kill('SIGTERM');
  };
  const fork = (index: number) => {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index) });
    const state = { listening: false };
    started.set(worker, state);
    worker.once('listening', () => {
      state.listening = true;
    });
    worker.once('exit', (code, signal) => {
      started.delete(worker);
      if (stopping) {
        if (!started.size) {
          logger.info({ workers: count }, 'all facade workers stopped; bye');
          process.exit(exitCode);
        }
        return;
      }
      logger.error({ worker: index, pid: worker.process.pid, code, signal }, 'facade worker exited');
      // Judged by whether it ever listened, not by how long it lived: on a loaded machine a start
      // that fails can take longer than any grace period, and replacing it would loop forever.
      if (!state.listening) {
        logger.error({ worker: index }, 'facade worker failed while starting; stopping the others');
        stopAll(1);
        if (!started.size) process.exit(1);
        return;
      }
      fork(index);
    });
  };

  for (let i = 1; i <= count; i++) fork(i);
  logger.info({ workers: count, pid: process.pid }, `started ${count} facade workers`);
  process.on('SIGTERM', () => stopAll(0));
  process.on('SIGINT', () => stopAll(0));
}
