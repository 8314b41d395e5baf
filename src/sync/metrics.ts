import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one sync service, in its own registry (merge it into the facade's). */
export function createSyncMetrics(registry = new Registry()) {
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
      help: 'Outbox rows by state (refreshed on status())',
      labelNames: ['state'] as const,
      registers: [registry],
    }),
    refused: new Gauge({
      name: 'tyokyky_sync_pull_refused',
      help: 'Remote resources the pull refused, listed until a later version is stored (refreshed on status())',
      registers: [registry],
    }),
  };
}

export type SyncMetrics = ReturnType<typeof createSyncMetrics>;
