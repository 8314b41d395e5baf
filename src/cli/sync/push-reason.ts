// Why a one-shot `sync push` left rows in the queue. The push puts such rows back without an error to
// show (a later run sends them), so the reason is put together from what this run's requests met
// (the service's request metrics) and the status after it.
import type { Histogram } from 'prom-client';
import type { SyncService, SyncStatus } from '../../sync/index.ts';

const REQUESTS = 'tyokyky_sync_remote_request_seconds';
/** The breaker's state as the status shows it (cockatiel's CircuitState.Open). */
const BREAKER_OPEN = '1';
/** Answers that mean the remote could not take the request now (as the sync retries them). */
const FAILING_STATUS = /^(5\d\d|429|408)$/;

interface FailedRequests {
  /** Requests that got no answer at all: refused, unreachable or timed out. */
  noAnswer: number;
  /** Failing answers by HTTP status. */
  statuses: Map<string, number>;
}

async function failedRequests(sync: Pick<SyncService, 'metrics'>): Promise<FailedRequests> {
  const metric = sync.metrics.getSingleMetric(REQUESTS) as Histogram | undefined;
  const failed: FailedRequests = { noAnswer: 0, statuses: new Map() };
  for (const v of metric ? (await metric.get()).values : []) {
    if (v.metricName !== `${REQUESTS}_count`) continue;
    const status = String(v.labels.status);
    if (status === 'error') failed.noAnswer += v.value;
    else if (FAILING_STATUS.test(status))
      failed.statuses.set(status, (failed.statuses.get(status) ?? 0) + v.value);
  }
  return failed;
}

/** Why rows are still queued after the push (one line, no client data); undefined when none are. */
export async function notSentReason(
  sync: Pick<SyncService, 'metrics'>,
  status: SyncStatus,
): Promise<string | undefined> {
  if (status.queueDepth === 0) return undefined;
  const { noAnswer, statuses } = await failedRequests(sync);
  const parts: string[] = [];
  if (status.breaker === BREAKER_OPEN) parts.push('remote circuit open');
  if (noAnswer)
    parts.push(
      `${noAnswer} request(s) to ${status.remote} got no answer (refused, unreachable or timed out)`,
    );
  if (statuses.size)
    parts.push(`the remote answered ${[...statuses].map(([s, n]) => `${s} ×${n}`).join(', ')}`);
  if (status.failures.retrying)
    parts.push(`${status.failures.retrying} row(s) wait out a backoff after a failed attempt`);
  if (status.states.inflight) parts.push(`${status.states.inflight} row(s) in flight with another worker`);
  if (!parts.length)
    parts.push(
      `${status.states.pending} row(s) not due yet (put back to wait for a dependency in flight, a backoff or an open circuit)`,
    );
  // The last error, unless it only repeats a reason given (`<instant> remote circuit open`).
  const last = status.failures.lastError;
  if (last && !parts.some((p) => last.endsWith(` ${p}`))) parts.push(`last error recorded: ${last}`);
  return parts.join('; ');
}
