import { setMaxListeners } from 'node:events';
import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { finnishDay } from '../domain/index.ts';
import { FhirError, issue } from '../shared/outcome.ts';
import { migrateAuditLog } from '../store/index.ts';
import { type BackfillStatus, backfill } from './backfill.ts';
import { DEFAULT_FAMILIES, DEFAULT_PULL_TYPES, type FamilyRule, type RemoteConfig } from './config.ts';
import { type DisclosureRule, sdkDisclosureRule } from './consent-gate.ts';
import { type SyncContext, type SyncStore, type Timings, readHere } from './context.ts';
import { doorbellOf } from './doorbell.ts';
import { type RemoteAdapter, createKantaAdapter, kantaStatus } from './kanta/index.ts';
import { FHIR_STORE_ROUNDS, type Rounds, drainOutbox, pullLoop, pushLoop, roundsInFlight } from './loops.ts';
import { createSyncMetrics } from './metrics.ts';
import { checkParty } from './party.ts';
import { type PulledValidator, pulledCheck } from './pull-check.ts';
import { type RefusedAgainResult, pullRefusedAgain } from './pull-refused.ts';
import type { PullResult } from './pull.ts';
import type { PushRoundResult } from './push/state.ts';
import { RemoteClient } from './remote-client.ts';
import {
  type ConflictRow,
  type ListedRow,
  type ListedState,
  type OutboxRow,
  type OutboxState,
  type ResolveChoice,
  type Resolved,
  bindOnce,
  checkListedState,
  checkOutboxId,
  checkResolveChoice,
  enqueueMany,
  follow,
  isPulledWrite,
  keepLastError,
  listByState,
  listConflicts,
  listedByState,
  outboxCounts,
  recentMappings,
  refusedPullCount,
  requeue,
  resolveParked,
  setState,
  unblockConsentPatients,
} from './repository.ts';
import { RemoteHttpError, isGoneRemotely, isTransient, unanswered } from './resilience.ts';
import { SYNC_SCHEMA } from './schema.ts';
import { Slots } from './slots.ts';
import { type SyncStatus, readStatus, waitingNow } from './status.ts';
import { newWorkerId } from './workers.ts';

/** The part of the store's contract (src/store/index.ts) createSync needs. */
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
   * Push Bundles at the remote at once (default 2). Twice as many rounds are in flight: while the
   * remote stores one round's Bundle, another is claimed, checked and ordered, and the one before
   * settles, so the remote does not wait for the local database. Rounds claim disjoint rows, each under
   * its own claim id, as separate workers do.
   */
  pushConcurrency?: number;
  /** How long a claimed row stays with its worker before others may take it over. */
  leaseMs?: number;
  /** Transient failures tolerated per row before it becomes a dead letter. */
  maxAttempts?: number;
  /** First between-round delay for a row whose transient failure outlived the client's retries (doubles). */
  retryBaseMs?: number;
  /** `_count` of each pull search page. */
  pullPageSize?: number;
  /** Upper bound of one pull, all clients and pages (default 120 s); past it the pull stops with an error. */
  pullTimeoutMs?: number;
  /** How long a row held back by a dependency waits before it is checked again (default 5 s). */
  heldRecheckMs?: number;
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
  /** Resources queued per statement by the first-attach backfill (default 500; backfill.ts). */
  backfillPageSize?: number;
  /**
   * Judges each pulled resource before it is stored, as the facade judges a write; one with an error
   * is not stored (`PullResult.refused`). Default: the project's validator, loaded on the first pull.
   */
  validator?: PulledValidator | Promise<PulledValidator>;
  /**
   * strict-profile for pulled resources, as a strict facade judges a write (`serve` passes its own
   * mode). Default false: the validator's checks only.
   */
  strict?: boolean;
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
  /**
   * Reads again, by id, each remote resource the pull refused (`status().pullRefused`) and applies it
   * as the pull would: once its cause is gone here it is stored and leaves the list.
   */
  pullRefusedAgain(): Promise<RefusedAgainResult>;
  /** Background loops (both by default). */
  start(which?: { push?: boolean; pull?: boolean }): void;
  /** Final: afterwards pushRound, pushOnce, pullOnce, pullRefusedAgain and backfill throw AbortError. */
  stop(): Promise<void>;
  status(): Promise<SyncStatus>;
  /** What this service waits for right now and for how long (status's `waiting`, without the store). */
  waiting(): SyncStatus['waiting'];
  deadLetters(limit?: number): Promise<OutboxRow[]>;
  blocked(limit?: number): Promise<OutboxRow[]>;
  parked(limit?: number): Promise<OutboxRow[]>;
  /** Rows held back by a dependency (blocked, dead, parked or never queued), with the reason. */
  held(limit?: number): Promise<OutboxRow[]>;
  /**
   * The rows in one of the listed states, oldest first, as an operator sees them: what each row is
   * and why it stopped, not its content (client data, readable through the API by whoever may).
   */
  rows(state: ListedState, limit?: number): Promise<ListedRow[]>;
  /** The conflicts with remote edits recorded so far, newest first: what each policy decided. */
  conflicts(limit?: number): Promise<ConflictRow[]>;
  /** Dead, parked and blocked rows (or one of them) back to the queue. */
  retry(id?: string): Promise<number>;
  /**
   * A parked row's conflict settled by keeping `keep`: the local version written over the remote one,
   * or the remote one stored here (if a write here may store it). The resource's newest parked row goes
   * back to the queue with that choice, its older parked rows are settled unsent. Undefined when the
   * row is not parked.
   */
  resolve(id: string, keep: ResolveChoice): Promise<Resolved | undefined>;
  /**
   * Queue the resources written before the sync was attached (no outbox row, no mapping) and follow
   * every local Patient. Runs by itself before the first push or pull on a store; `force` runs it again.
   */
  backfill(opts?: { force?: boolean }): Promise<BackfillStatus>;
  /**
   * Pull this client's data from the remote (pushing any of their data follows them too); a Patient
   * id this store does not hold is refused (sync-follow-1).
   */
  follow(patientId: string): Promise<void>;
  /** Remove the outbox hook. */
  detach(): void;
}

const hooked = new WeakSet<object>();

/** The context every push and pull step shares, from the options and their defaults. */
function contextFrom(opts: CreateSyncOptions): SyncContext {
  const families = { ...DEFAULT_FAMILIES };
  for (const [type, rule] of Object.entries(opts.families ?? {})) {
    families[type] = Object.assign({ dataClass: null, conflict: 'park' }, families[type], rule);
  }
  const log =
    opts.logger ??
    pino({ name: 'tyokyky-sync', level: process.env.TYOKYKY_LOG_LEVEL ?? 'warn' }, pino.destination(2));
  const metrics = createSyncMetrics(opts.metricsRegistry, {
    outbox: () => outboxCounts(opts.store),
    refusedPulls: () => refusedPullCount(opts.store),
  });
  const timings: Timings = {
    network: 0,
    database: 0,
    consent: 0,
    remoteValidation: 0,
    remoteDatabase: 0,
    requests: 0,
  };
  const waits = new Map<symbol, { what: string; since: number }>();
  const remote = new RemoteClient(opts.remote, {
    onWait: (what) => {
      const token = Symbol();
      waits.set(token, { what, since: Date.now() });
      return () => waits.delete(token);
    },
    onRequest: (method, status, ms) => {
      timings.requests += ms;
      metrics.requests.observe({ method, status: String(status) }, ms / 1000);
    },
    onServerTiming: (timing) => {
      timings.remoteValidation += timing.get('validate') ?? 0;
      timings.remoteDatabase += timing.get('db') ?? 0;
    },
  });
  return {
    store: opts.store,
    remote,
    party: opts.remote.party,
    families,
    pushTypes: new Set(opts.pushTypes ?? Object.keys(families)),
    pullTypes: opts.pullTypes ?? DEFAULT_PULL_TYPES,
    workerId: opts.workerId ?? newWorkerId(),
    batchSize: opts.batchSize ?? 100,
    leaseMs: opts.leaseMs ?? 120_000,
    maxAttempts: opts.maxAttempts ?? 25,
    retryBaseMs: opts.retryBaseMs ?? 1_000,
    pullOverlapMs: opts.remote.pullOverlapMs ?? 1_000,
    pullPageSize: opts.pullPageSize ?? 100,
    pullTimeoutMs: opts.pullTimeoutMs ?? 120_000,
    heldRecheckMs: opts.heldRecheckMs ?? 5_000,
    disclosure: opts.disclosure ?? sdkDisclosureRule,
    checkPulled: pulledCheck(opts.validator, opts.strict),
    today: opts.today ?? (() => finnishDay()),
    log,
    metrics,
    timings,
    waits,
    sending: new Slots(pushLanes(opts)),
    doorbell: doorbellOf(opts.store),
  };
}

/** Push rounds in flight at once (`pushConcurrency`, default 2). */
function pushLanes(opts: CreateSyncOptions): number {
  return Math.max(1, Math.trunc(opts.pushConcurrency ?? 2));
}

/**
 * The outbox hook: local writes of pushed types are queued in the writes' own transaction; writes
 * of a transaction pull marked are the remote's own content and are not sent back. Returns the remover.
 */
function installOutbox(ctx: SyncContext, ready: Promise<void>): () => void {
  const store = ctx.store;
  // One outbox per database: a second hook-installing service would enqueue every write twice and
  // its workers would deliver each other's rows to the wrong remote.
  if (hooked.has(store)) {
    throw FhirError.conflict(
      'sync-config-1: this store already has a sync service with the outbox hook; one remote per store (pass installHook: false for extra workers of the same remote)',
    );
  }
  hooked.add(store);
  const remove = store.addHooks({
    async afterWriteMany(tx, changes) {
      await ready;
      const queued = isPulledWrite(tx)
        ? []
        : await enqueueMany(
            tx,
            changes.filter((c) => ctx.pushTypes.has(c.resource.resourceType)),
          );
      await unblockConsentPatients(
        tx,
        changes.map((c) => c.resource),
        queued,
      );
    },
    afterCommit() {
      ctx.doorbell.ring();
    },
  });
  return () => {
    remove();
    hooked.delete(store);
  };
}

/** The sync's tables, the audit log's and the adapter's, in order; resolves when all are there. */
function migrateAll(
  store: SyncableStore,
  adapter: Partial<Pick<RemoteAdapter, 'migrate'>>,
  log: Logger,
): Promise<void> {
  const ready = (async () => {
    for (const [name, statements] of SYNC_SCHEMA) await store.migrate(name, statements);
    await migrateAuditLog(store);
    await adapter.migrate?.(store);
  })();
  // Callers await `ready` (hooks and every operation do); this only keeps a failure seen before anyone
  // awaits it (e.g. the store closed during start-up) from becoming an unhandled rejection.
  ready.catch((err) => log.error({ err }, 'sync: schema migration failed'));
  return ready;
}

/**
 * One remote per store, also across restarts: the id map holds that remote's ids, so pushing them to
 * another server would send references into nothing there. A new URL is accepted when the server
 * behind it holds what the id map says the remote holds (the same server behind a proxy or a new
 * name), or when nothing was mapped yet; otherwise sync-config-2.
 */
async function sameRemote(ctx: SyncContext): Promise<void> {
  const url = ctx.remote.baseUrl;
  const bound = await bindOnce(ctx.store, 'remote', url);
  if (bound === url) return;
  const sample = await recentMappings(ctx.store, 3);
  const held = await Promise.all(
    sample.map((m) =>
      ctx.remote.request('GET', `${m.resource_type}/${m.remote_id}`).then(
        () => true,
        (err) => {
          if (isGoneRemotely(err)) return false;
          throw uncheckedRemote(ctx, bound, err);
        },
      ),
    ),
  );
  if (sample.length && !held.some(Boolean))
    throw new FhirError(
      409,
      issue(
        'error',
        'conflict',
        `sync-config-2: this store syncs with ${bound} (its id map holds that server's ids), and ${url} holds none of them; use a fresh store for another remote`,
      ),
    );
  await setState(ctx.store, 'remote', url);
  ctx.log.info({ from: bound, to: url }, 'sync: the remote answers under a new URL');
}

/**
 * `sameRemote`'s check that got no answer, or only transient failures (a 5xx, 408 or 429 on every
 * attempt), said as such: a 503 (the CLI's push exits 75 with the rows still queued, as for any remote
 * down). A check the remote refused (401, 403: these credentials or their scope) is sync-config-2 as
 * well, a 502 (the CLI exits 1, as for the other refusals of a remote). Any other failure is returned
 * as it was.
 */
function uncheckedRemote(ctx: SyncContext, bound: string, err: unknown): unknown {
  const cannot = `sync-config-2: cannot check that ${ctx.remote.baseUrl} is the remote this store syncs with (${bound})`;
  if (err instanceof RemoteHttpError && (err.status === 401 || err.status === 403))
    return new FhirError(
      502,
      issue(
        'error',
        'security',
        `${cannot}: the remote answered ${err.status} (it refused these credentials or their scope; check the token settings and the client's scopes there)`,
      ),
    );
  const why = whyUnchecked(err, ctx.remote.config.timeoutMs);
  if (!why) return err;
  return new FhirError(503, issue('error', 'transient', `${cannot}: ${why}`));
}

/** Why a check failed as a remote that is down fails (names the status, never the answer's text); undefined otherwise. */
function whyUnchecked(err: unknown, timeoutMs: number | undefined): string | undefined {
  const none = unanswered(err, timeoutMs);
  if (none) return `no answer (${none})`;
  if (!isTransient(err)) return undefined;
  if (err instanceof RemoteHttpError)
    return `the remote answered ${err.status} to every attempt (a transient failure)`;
  return `a transient failure on every attempt (${err instanceof Error ? err.message : String(err)})`;
}

/** A one-shot pull (the CLI's, the API's) that fails leaves its error in the status, as a loop's round does. */
function keepingError<T>(ctx: SyncContext, work: Promise<T>): Promise<T> {
  return work.catch(async (err: unknown) => {
    await keepLastError(ctx.store, 'pull', err);
    throw err;
  });
}

/**
 * The backfill the first push or pull on a store waits for (one run per service; a failed run is
 * tried again by the next push or pull, and resumes — nothing is queued twice).
 */
function backfillOnce(ctx: SyncContext, ready: Promise<void>, pageSize?: number) {
  let backfilled: Promise<BackfillStatus> | undefined;
  return () => {
    backfilled ??= ready
      .then(() => checkParty(ctx))
      .then(() => sameRemote(ctx))
      .then(() => backfill(ctx, { pageSize }))
      .catch((err) => {
        backfilled = undefined;
        throw err;
      });
    return backfilled;
  };
}

/** The background loops `start` runs: `lanes` push loops and a pull loop, each after the backfill. */
function startLoops(
  ctx: SyncContext,
  opts: CreateSyncOptions,
  adapter: Rounds,
  run: { signal: AbortSignal; lanes: number; attached: () => Promise<unknown> },
  which: { push?: boolean; pull?: boolean },
): Promise<void>[] {
  const loops: Promise<void>[] = [];
  const keep = (loop: () => Promise<void>) =>
    loops.push(
      run
        .attached()
        .catch((err) => ctx.log.error({ err }, 'sync: backfill failed'))
        .then(loop)
        .catch(() => {}),
    );
  if (which.push !== false) {
    for (let i = 0; i < run.lanes; i++)
      keep(() => pushLoop(ctx, run.signal, opts.pushIdleMs ?? 500, adapter));
  }
  if (which.pull !== false) keep(() => pullLoop(ctx, run.signal, opts.pullIntervalMs ?? 30_000, adapter));
  return loops;
}

export function createSync(opts: CreateSyncOptions): SyncService {
  const store = opts.store;
  const ctx = contextFrom(opts);
  const adapter = opts.adapter ?? adapterFor(opts.remote);
  const ready = migrateAll(store, adapter, ctx.log);
  const detach = opts.installHook === false ? () => {} : installOutbox(ctx, ready);
  const abort = new AbortController();
  // Every request and backoff in flight listens for stop(); with several push rounds and unbatched
  // delivery that is more than Node's default of 10 listeners, without any leak.
  setMaxListeners(100, abort.signal);
  let loops: Promise<void>[] = [];
  const lanes = roundsInFlight(adapter, pushLanes(opts));
  // The first push or pull on a store queues what was written before any sync was attached.
  const attached = backfillOnce(ctx, ready, opts.backfillPageSize);
  const list = (state: OutboxState) => async (limit?: number) => {
    await ready;
    return listByState(store, [state], limit);
  };

  return {
    ready,
    metrics: ctx.metrics.registry,
    timings: ctx.timings,
    remote: ctx.remote,
    async pushRound() {
      abort.signal.throwIfAborted();
      await attached();
      return adapter.pushRound(ctx, abort.signal);
    },
    async pushOnce(onProgress) {
      abort.signal.throwIfAborted();
      await attached();
      return drainOutbox(ctx, abort.signal, lanes, onProgress, adapter);
    },
    async pullOnce() {
      // stop() is final: a stopped service's one-shot rounds throw AbortError, never an empty result.
      abort.signal.throwIfAborted();
      await attached();
      return keepingError(ctx, adapter.pullOnce(ctx, abort.signal));
    },
    async pullRefusedAgain() {
      abort.signal.throwIfAborted();
      await ready;
      return keepingError(ctx, pullRefusedAgain(ctx, abort.signal));
    },
    start(which = {}) {
      if (!loops.length)
        loops = startLoops(ctx, opts, adapter, { signal: abort.signal, lanes, attached }, which);
    },
    async stop() {
      abort.abort();
      await Promise.all(loops);
      loops = [];
    },
    async status() {
      await ready;
      return statusOf(ctx, opts);
    },
    waiting: () => waitingNow(ctx.waits),
    deadLetters: list('dead'),
    blocked: list('blocked'),
    parked: list('parked'),
    held: list('held'),
    async rows(state, limit) {
      const listed = checkListedState(state);
      await ready;
      return listedByState(store, [listed], limit);
    },
    async conflicts(limit) {
      await ready;
      return listConflicts(store, limit);
    },
    async retry(id) {
      await ready;
      return requeue(store, id);
    },
    async resolve(id, keep) {
      await ready;
      return resolveParked(store, checkOutboxId(id), checkResolveChoice(keep));
    },
    async backfill(o = {}) {
      abort.signal.throwIfAborted();
      if (!o.force) return attached();
      await ready;
      return backfill(ctx, { force: true, pageSize: opts.backfillPageSize });
    },
    async follow(patientId) {
      await ready;
      await followClient(store, patientId);
    },
    detach,
  };
}

/** The status, with Kanta PHR's part for such a remote (it takes only self-assessments: the rest is shown as not applicable, not as failures). */
async function statusOf(ctx: SyncContext, opts: CreateSyncOptions): Promise<SyncStatus> {
  const status = await readStatus(ctx);
  return opts.remote.kind === 'kanta-phr' || opts.adapter?.kind === 'kanta-phr'
    ? { ...status, kanta: await kantaStatus(ctx.store) }
    : status;
}

/** Follows a client of this store (pull is keyed by the local Patient; its remote id comes from the id map). */
async function followClient(store: SyncableStore, patientId: string): Promise<void> {
  // Missing or deleted: not this store's client. Anything else (the database) is not an answer.
  if (!(await readHere(store, 'Patient', patientId)))
    throw new FhirError(
      404,
      issue('error', 'not-found', `sync-follow-1: this store has no Patient/${patientId} to follow`),
    );
  await follow(store, [patientId]);
}

/** The remote kind's rounds: Kanta PHR's adapter, or the FHIR-store push and pull. */
function adapterFor(remote: RemoteConfig): Rounds & Partial<Pick<RemoteAdapter, 'migrate'>> {
  if (remote.kind !== 'kanta-phr') return FHIR_STORE_ROUNDS;
  if (!remote.application)
    throw new Error('a kanta-phr remote needs its creating application (name, applicationId)');
  return createKantaAdapter({ application: remote.application });
}
