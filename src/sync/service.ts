import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { FhirError } from '../shared/outcome.ts';
import { DEFAULT_FAMILIES, DEFAULT_PULL_TYPES, type FamilyRule, type RemoteConfig } from './config.ts';
import { type DisclosureRule, sdkDisclosureRule } from './consent-gate.ts';
import type { SyncContext, Timings } from './context.ts';
import type { RemoteAdapter } from './kanta/index.ts';
import { createSyncMetrics } from './metrics.ts';
import {
  type OutboxRow,
  type OutboxState,
  enqueueMany,
  listByState,
  requeue,
  unblockConsentPatients,
} from './outbox.ts';
import { type PullResult, pullOnce } from './pull.ts';
import { type PushRoundResult, emptyPushResult, pushRound } from './push.ts';
import { RemoteClient } from './remote-client.ts';
import { SYNC_MIGRATIONS, SYNC_MIGRATIONS_2, SYNC_MIGRATIONS_3 } from './schema.ts';
import type { SyncStore, SyncStoreTx, WriteChange } from './store-port.ts';

export type SyncableStore = SyncStore;

export interface CreateSyncOptions {
  store: SyncableStore;
  remote: RemoteConfig;
  /** Types whose local writes go to the remote (default: every family in DEFAULT_FAMILIES). */
  pushTypes?: string[];
  /** Types polled from the remote for followed clients (default Consent, QuestionnaireResponse). */
  pullTypes?: string[];
  /** Per-family overrides of consent data class and 412 policy. */
  families?: Record<string, Partial<FamilyRule>>;
  batchSize?: number;
  /**
   * Push rounds in flight at once (default 2): while the remote stores one batch, the next is
   * claimed, checked and sent. Rounds claim disjoint rows, as separate workers do.
   */
  pushConcurrency?: number;
  /** How long a claimed row stays with its worker before others may take it over. */
  leaseMs?: number;
  /** Transient failures tolerated per row before it becomes a dead letter. */
  maxAttempts?: number;
  /** First between-round delay for a row whose transient failure outlived the client's retries (doubles). */
  retryBaseMs?: number;
  /** How far back each pull re-reads before its cursor (idempotent; covers late commits). */
  pullOverlapMs?: number;
  /** `_count` of each pull search page. */
  pullPageSize?: number;
  /** Idle wait of the push loop and interval of the pull loop in start(). */
  pushIdleMs?: number;
  pullIntervalMs?: number;
  workerId?: string;
  disclosure?: DisclosureRule;
  logger?: Logger;
  metricsRegistry?: Registry;
  today?: () => string;
  /** Another kind of remote (`createKantaAdapter` for Kanta PHR); default: a FHIR store. */
  adapter?: RemoteAdapter;
  /** Install the outbox hook (default true; a pure worker process that writes nothing may skip it). */
  installHook?: boolean;
}

export interface SyncStatus {
  remote: string;
  party: string;
  queueDepth: number;
  states: Record<OutboxState, number>;
  lastPushSuccess: string | null;
  lastPullSuccess: string | null;
  failures: { retrying: number; deadLetters: number; lastError: string | null };
  blockedByConsent: number;
  conflicts: number;
  followedClients: number;
  breaker: string;
}

export interface SyncService {
  readonly ready: Promise<void>;
  readonly metrics: Registry;
  readonly timings: Timings;
  readonly remote: RemoteClient;
  pushRound(): Promise<PushRoundResult>;
  /** Push until nothing is ready; `onProgress` after each round. */
  pushOnce(onProgress?: (done: PushRoundResult, remaining: number) => void): Promise<PushRoundResult>;
  pullOnce(): Promise<PullResult>;
  /** Background loops (both by default). */
  start(which?: { push?: boolean; pull?: boolean }): void;
  stop(): Promise<void>;
  status(): Promise<SyncStatus>;
  deadLetters(limit?: number): Promise<OutboxRow[]>;
  blocked(limit?: number): Promise<OutboxRow[]>;
  parked(limit?: number): Promise<OutboxRow[]>;
  /** Dead, parked and blocked rows (or one of them) back to the queue. */
  retry(id?: string): Promise<number>;
  /** Pull this client's data from the remote (pushing any of their data follows them too). */
  follow(patientId: string): Promise<void>;
  /** Remove the outbox hook. */
  detach(): void;
}

const hooked = new WeakSet<object>();

export function createSync(opts: CreateSyncOptions): SyncService {
  const store = opts.store;
  const families = { ...DEFAULT_FAMILIES };
  for (const [type, rule] of Object.entries(opts.families ?? {})) {
    families[type] = Object.assign({ dataClass: null, conflict: 'park' }, families[type], rule);
  }
  const pushTypes = new Set(opts.pushTypes ?? Object.keys(families));
  const log =
    opts.logger ??
    pino({ name: 'tyokyky-sync', level: process.env.TYOKYKY_LOG_LEVEL ?? 'warn' }, pino.destination(2));
  const metrics = createSyncMetrics(opts.metricsRegistry);
  const timings = {
    network: 0,
    database: 0,
    consent: 0,
    remoteValidation: 0,
    remoteDatabase: 0,
    requests: 0,
  };
  const remote = new RemoteClient(opts.remote, {
    onRequest: (method, status, ms) => {
      timings.requests += ms;
      metrics.requests.observe({ method, status: String(status) }, ms / 1000);
    },
    onServerTiming: (timing) => {
      timings.remoteValidation += timing.get('validate') ?? 0;
      timings.remoteDatabase += timing.get('db') ?? 0;
    },
  });
  const ctx: SyncContext = {
    store,
    remote,
    party: opts.remote.party,
    families,
    pushTypes,
    pullTypes: opts.pullTypes ?? DEFAULT_PULL_TYPES,
    workerId: opts.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    batchSize: opts.batchSize ?? 100,
    leaseMs: opts.leaseMs ?? 120_000,
    maxAttempts: opts.maxAttempts ?? 25,
    retryBaseMs: opts.retryBaseMs ?? 1_000,
    pullOverlapMs: opts.pullOverlapMs ?? 1_000,
    pullPageSize: opts.pullPageSize ?? 100,
    disclosure: opts.disclosure ?? sdkDisclosureRule,
    today: opts.today ?? (() => new Date().toISOString().slice(0, 10)),
    log,
    metrics,
    timings,
  };
  if (opts.installHook !== false) {
    // One outbox per database: a second hook-installing service would enqueue every write twice and
    // its workers would deliver each other's rows to the wrong remote.
    if (hooked.has(store)) {
      throw FhirError.conflict(
        'sync-config-1: this store already has a sync service with the outbox hook; one remote per store (pass installHook: false for extra workers of the same remote)',
      );
    }
    hooked.add(store);
  }
  const ready = store
    .migrate('sync', SYNC_MIGRATIONS)
    .then(() => store.migrate('sync-2', SYNC_MIGRATIONS_2))
    .then(() => store.migrate('sync-3', SYNC_MIGRATIONS_3))
    .then(() => opts.adapter?.migrate(store));
  const adapter = opts.adapter ?? { pushRound, pullOnce };
  // Callers await `ready` (hooks and every operation do); this only keeps a failure seen before anyone
  // awaits it (e.g. the store closed during start-up) from becoming an unhandled rejection.
  ready.catch((err) => log.error({ err }, 'sync: schema migration failed'));

  const removeHook =
    opts.installHook === false
      ? () => {}
      : store.addHooks({
          async afterWriteMany(tx, changes) {
            await ready;
            await enqueueMany(
              tx,
              changes.filter((c) => pushTypes.has(c.resource.resourceType)),
            );
            await unblockConsentPatients(
              tx,
              changes.map((c) => c.resource),
            );
          },
        });

  const detach = () => {
    removeHook();
    if (opts.installHook !== false) hooked.delete(store);
  };
  const abort = new AbortController();
  // Every request and backoff in flight listens for stop(); with several push rounds and unbatched
  // delivery that is more than Node's default of 10 listeners, without any leak.
  setMaxListeners(100, abort.signal);
  let loops: Promise<void>[] = [];
  const pushConcurrency = Math.max(1, Math.trunc(opts.pushConcurrency ?? 2));

  async function recordError(err: unknown): Promise<void> {
    log.error({ err }, 'sync: round failed');
    await store
      .query(
        `INSERT INTO sync_state (key, value) VALUES ('last_error', $1)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
        [`${new Date().toISOString()} ${(err as Error)?.message ?? String(err)}`],
      )
      .catch(() => {});
  }

  const service: SyncService = {
    ready,
    metrics: metrics.registry,
    timings: ctx.timings,
    remote,
    async pushRound() {
      await ready;
      return adapter.pushRound(ctx, abort.signal);
    },
    async pushOnce(onProgress) {
      await ready;
      const total = emptyPushResult();
      let lastReport = Promise.resolve();
      const lane = async () => {
        while (!abort.signal.aborted) {
          const r = await adapter.pushRound(ctx, abort.signal);
          for (const k of Object.keys(total) as (keyof PushRoundResult)[]) total[k] += r[k];
          if (onProgress) {
            lastReport = lastReport.then(async () => {
              const [{ n }] = await store.query<{ n: number }>(
                `SELECT count(*)::int AS n FROM sync_outbox WHERE state IN ('pending', 'inflight')`,
              );
              onProgress(total, n);
            });
            await lastReport;
          }
          if (r.claimed === 0) break;
          // Only rows that must wait came back: give them their moment instead of spinning.
          if (r.claimed === r.waiting) await sleep(250);
        }
      };
      await Promise.all(Array.from({ length: pushConcurrency }, lane));
      return total;
    },
    async pullOnce() {
      await ready;
      return adapter.pullOnce(ctx, abort.signal);
    },
    start(which = {}) {
      if (loops.length) return;
      const pushLoop = async () => {
        while (!abort.signal.aborted) {
          try {
            const r = await adapter.pushRound(ctx, abort.signal);
            if (r.claimed === 0 || r.claimed === r.waiting)
              await sleep(opts.pushIdleMs ?? 500, undefined, { signal: abort.signal });
          } catch (err) {
            if (abort.signal.aborted) break;
            await recordError(err);
            await sleep(1_000, undefined, { signal: abort.signal }).catch(() => {});
          }
        }
      };
      const pullLoop = async () => {
        while (!abort.signal.aborted) {
          try {
            await adapter.pullOnce(ctx, abort.signal);
          } catch (err) {
            if (abort.signal.aborted) break;
            await recordError(err);
          }
          await sleep(opts.pullIntervalMs ?? 30_000, undefined, { signal: abort.signal }).catch(() => {});
        }
      };
      if (which.push !== false) {
        for (let i = 0; i < pushConcurrency; i++) loops.push(ready.then(pushLoop).catch(() => {}));
      }
      if (which.pull !== false) loops.push(ready.then(pullLoop).catch(() => {}));
    },
    async stop() {
      abort.abort();
      await Promise.all(loops);
      loops = [];
    },
    async status() {
      await ready;
      const rows = await store.query<{ state: OutboxState; n: number; retrying: number }>(
        `SELECT state, count(*)::int AS n, count(*) FILTER (WHERE attempts > 0 AND reason IS NOT NULL)::int AS retrying
           FROM sync_outbox GROUP BY state`,
      );
      const states: Record<OutboxState, number> = {
        pending: 0,
        inflight: 0,
        done: 0,
        dead: 0,
        blocked: 0,
        parked: 0,
      };
      let retrying = 0;
      for (const r of rows) {
        states[r.state] = r.n;
        metrics.queue.set({ state: r.state }, r.n);
        if (r.state === 'pending') retrying = r.retrying;
      }
      const kv = new Map(
        (await store.query<{ key: string; value: string }>('SELECT key, value FROM sync_state')).map((r) => [
          r.key,
          r.value,
        ]),
      );
      const [{ followed, conflicts }] = await store.query<{ followed: number; conflicts: number }>(
        'SELECT (SELECT count(*)::int FROM sync_followed) AS followed, (SELECT count(*)::int FROM sync_conflict) AS conflicts',
      );
      return {
        remote: remote.baseUrl,
        party: ctx.party,
        queueDepth: states.pending + states.inflight,
        states,
        lastPushSuccess: kv.get('last_push_success') ?? null,
        lastPullSuccess: kv.get('last_pull_success') ?? null,
        failures: { retrying, deadLetters: states.dead, lastError: kv.get('last_error') ?? null },
        blockedByConsent: states.blocked,
        conflicts,
        followedClients: followed,
        breaker: remote.breakerState,
      };
    },
    async deadLetters(limit) {
      await ready;
      return listByState(store, ['dead'], limit);
    },
    async blocked(limit) {
      await ready;
      return listByState(store, ['blocked'], limit);
    },
    async parked(limit) {
      await ready;
      return listByState(store, ['parked'], limit);
    },
    async retry(id) {
      await ready;
      return requeue(store, id);
    },
    async follow(patientId) {
      await ready;
      await store.query(
        'INSERT INTO sync_followed (patient_id) VALUES ($1) ON CONFLICT (patient_id) DO NOTHING',
        [patientId],
      );
    },
    detach,
  };
  return service;
}
