import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { OUTBOX_STATES, type OutboxState } from './outbox-states.ts';

/** What the gauges show, read from the store when they are scraped (every process reads the same rows). */
export interface SyncGaugeReadings {
  outbox(): Promise<{ state: OutboxState; n: number }[]>;
  refusedPulls(): Promise<number>;
}

/**
 * Prometheus metrics of one sync service, in its own registry (merge it into the facade's). In a
 * `--workers` pool the pool's scrape sums each worker's counters; the gauges are read from the one
 * database each worker shares, so the pool shows their largest reading instead of their sum.
 */
export function createSyncMetrics(registry = new Registry(), readings?: SyncGaugeReadings) {
  return {
    registry,
    pushed: new Counter({
      name: 'tyokyky_sync_pushed_total',
      help: 'Outbox rows settled by the push worker, by resource type and result',
      labelNames: ['type', 'result'] as const,
      registers: [registry],
    }),
    pulled: new Counter({
      name: 'tyokyky_sync_pulled_total',
      help: 'Remote resources applied locally by pull, by resource type and result',
      labelNames: ['type', 'result'] as const,
      registers: [registry],
    }),
    conflicts: new Counter({
      name: 'tyokyky_sync_conflicts_total',
      help: '412 conflicts, by resource type and policy',
      labelNames: ['type', 'policy'] as const,
      registers: [registry],
    }),
    requests: new Histogram({
      name: 'tyokyky_sync_remote_request_seconds',
      help: 'Remote FHIR requests, by method and status',
      labelNames: ['method', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queue: new Gauge({
      name: 'tyokyky_sync_outbox_rows',
      help: 'Outbox rows by state (read when scraped)',
      labelNames: ['state'] as const,
      registers: [registry],
      aggregator: 'max',
      async collect() {
        // A store that cannot answer leaves the last reading rather than failing the whole scrape.
        const rows = await readings?.outbox().catch(() => undefined);
        if (!rows) return;
        const counts = new Map(rows.map((r) => [r.state, r.n]));
        for (const state of OUTBOX_STATES) this.set({ state }, counts.get(state) ?? 0);
      },
    }),
    refused: new Gauge({
      name: 'tyokyky_sync_pull_refused',
      help: 'Remote resources the pull refused, listed until a later version is stored (read when scraped)',
      registers: [registry],
      aggregator: 'max',
      async collect() {
        const n = await readings?.refusedPulls().catch(() => undefined);
        if (n !== undefined) this.set(n);
      },
    }),
  };
}

export type SyncMetrics = ReturnType<typeof createSyncMetrics>;
