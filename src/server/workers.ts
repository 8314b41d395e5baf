// Several facade processes on one port (node:cluster), for PostgreSQL deployments: each worker is a
// whole facade with its own pool and event loop; the store's locks already make processes on one
// database safe (conditional creates, If-Match updates, sync claims).
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';

/** Set in each worker's environment: 1…count. Worker 1 runs the process-wide jobs (the sync loops). */
export const WORKER_INDEX_ENV = 'TYOKYKY_WORKER_INDEX';

/** A worker that dies sooner than this after its start is failing to start, not crashing under load. */
const START_GRACE_MS = 10_000;

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
  const started = new Map<Worker, number>();
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
    started.set(worker, Date.now());
    worker.once('exit', (code, signal) => {
      const lived = Date.now() - (started.get(worker) ?? 0);
      started.delete(worker);
      if (stopping) {
        if (!started.size) {
          logger.info({ workers: count }, 'all facade workers stopped; bye');
          process.exit(exitCode);
        }
        return;
      }
      logger.error({ worker: index, pid: worker.process.pid, code, signal }, 'facade worker exited');
      if (lived < START_GRACE_MS) {
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
