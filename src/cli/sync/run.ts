import { FhirError } from '../../shared/outcome.ts';
// The work behind `tyokyky sync push|pull|status|dead-letters|conflicts|retry|resolve|backfill` (registered in
// ../commands/sync.ts, loaded only when a subcommand runs).
import type {
  ConflictRow,
  ListedRow,
  RemoteSettings,
  Resolved,
  SyncService,
  SyncStatus,
} from '../../sync/index.ts';
import { describeIssue } from '../../sync/index.ts';
import { REMOTE_IDENTITY } from '../remote-options.ts';
import {
  type OpenedSync,
  type SyncCliOptions,
  type SyncStoreOptions,
  fail,
  openSync,
  print,
} from './open.ts';
import { notSentReason } from './push-reason.ts';

export type { SyncCliOptions, SyncStoreOptions } from './open.ts';

export type PushOptions = SyncCliOptions & { watch?: boolean; withPull?: boolean };
export type PullOptions = SyncCliOptions & { follow?: string[]; refused?: boolean };
export type RowsOptions = SyncStoreOptions & { state: string; limit?: string };
/** `sync status`: the store and which remote, party and kind to show beside the store's own. */
export type StatusOptions = SyncStoreOptions & RemoteSettings;

/** `sync push --watch`: a worker that runs until SIGTERM/SIGINT. */
async function watch(opts: PushOptions): Promise<void> {
  const { store, sync } = await openSync(opts, 'connect');
  sync.start({ push: true, pull: !!opts.withPull });
  console.error(`tyokyky sync: worker pushing to ${sync.remote.baseUrl}`);
  const stop = async () => {
    await sync.stop();
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

export async function pushAction(opts: PushOptions): Promise<void> {
  if (opts.watch) return watch(opts);
  const { store, sync } = await openSync(opts, 'connect');
  const before = (await sync.status()).queueDepth;
  const progress =
    process.stderr.isTTY && before > 0 && !opts.json
      ? (await import('./progress.ts')).pushProgress(process.stderr, before)
      : undefined;
  // Between rounds too: a remote holding its answers ends no round, and the bar says what it waits for.
  const refresh = progress ? setInterval(() => progress.refresh(sync.waiting()), 1_000) : undefined;
  const pushed = sync.pushOnce((done) =>
    progress?.settled(done.done + done.dead + done.blocked + done.parked),
  );
  const result = await pushed.catch(async (err: unknown) => {
    clearInterval(refresh);
    progress?.done();
    await store.close();
    // The push never started (a remote that could not be checked, another remote or party): one line;
    // no answer is 75, as a remote down is, since every row is still queued.
    if (err instanceof FhirError) fail(err.message, err.status === 503 ? 75 : 1);
    throw err;
  });
  clearInterval(refresh);
  progress?.done();
  const status = await sync.status();
  const notSent = await notSentReason(sync, status);
  await store.close();
  print(opts, { result, status, ...(notSent ? { notSent } : {}) }, () =>
    [
      `pushed ${result.done}, dead letters ${result.dead}, blocked by consent ${result.blocked}, held by a dependency ${status.heldByDependency}, parked ${result.parked}, ` +
        // The rows waiting out a backoff now, as status and --json count them (not only this run's).
        `retrying ${status.failures.retrying}; queue depth now ${status.queueDepth}`,
      ...(notSent ? [`not sent: ${notSent}`] : []),
    ].join('\n'),
  );
  process.exit(pushExitCode(result.dead, status.queueDepth));
}

/**
 * 1: dead letters need a person. 75 (EX_TEMPFAIL): nothing is lost, but the outbox still holds rows
 * it could not send this time (remote down, backing off); run again later or use --watch. 0: drained.
 */
const pushExitCode = (dead: number, queueDepth: number): number => (dead > 0 ? 1 : queueDepth > 0 ? 75 : 0);

export async function pullAction(opts: PullOptions): Promise<void> {
  const { store, sync } = await openSync(opts, 'connect');
  for (const id of opts.follow ?? []) {
    await sync.follow(id).catch(async (err: Error & { outcome?: { issue?: { diagnostics?: string }[] } }) => {
      await store.close();
      fail(`${err.outcome?.issue?.[0]?.diagnostics ?? err.message}`);
    });
  }
  if (opts.refused) return pullRefusedAction(opts, store, sync);
  try {
    const result = await sync.pullOnce();
    print(opts, result, () =>
      [
        `pulled ${result.fetched} from ${result.patients} client(s): applied ${result.applied}, unchanged ${result.unchanged}, skipped ${result.skipped}, refused ${result.refused}, deleted ${result.deleted}`,
        ...result.skippedClients.map((c) => `not pulled: Patient/${c.patient} — ${c.reason}`),
        ...result.skippedDeletes.map((d) => `remote delete not applied: ${d.resource} — ${d.reason}`),
        ...result.deletesNotChecked.map((d) => `remote deletes not checked: ${d.type} — ${d.reason}`),
      ].join('\n'),
    );
  } catch (err) {
    await store.close();
    fail(`pull failed: ${(err as Error).message}`, 1);
  }
  await store.close();
}

/** `sync pull --refused`: the refused resources read again by id. */
async function pullRefusedAction(
  opts: PullOptions,
  store: { close(): Promise<void> },
  sync: Pick<SyncService, 'pullRefusedAgain'>,
): Promise<void> {
  try {
    const r = await sync.pullRefusedAgain();
    print(
      opts,
      r,
      () =>
        `read again ${r.listed} refused: applied ${r.applied}, unchanged ${r.unchanged}, skipped ${r.skipped}, ` +
        `refused again ${r.refused}, gone from the remote ${r.gone}`,
    );
  } catch (err) {
    await store.close();
    fail(`pull failed: ${(err as Error).message}`, 1);
  }
  await store.close();
}

function kantaLines(kanta: NonNullable<SyncStatus['kanta']>): string[] {
  const notApplicable = Object.entries(kanta.notApplicable).map(([type, n]) => `${type} ${n}`);
  return [
    `PHR patients       ${kanta.phrPatients}`,
    `not applicable     ${notApplicable.join(', ') || '-'} (this remote takes only self-assessments)`,
    `not imported       ${kanta.notImported.length} (restricted by the citizen)`,
  ];
}

const RESOLVE_HINT = '; settle each with: tyokyky sync resolve <outboxId> --keep local|remote';

/**
 * The remote or party the store syncs with, else the one given (`until`: what records the store's); and
 * the one given where it differs.
 */
function boundLine(label: string, bound: string | null, given: string | null, until: string): string {
  let note = '';
  if (bound === null && given !== null) note = ` (given; the store has none until ${until})`;
  else if (bound !== null && given !== null && given !== bound) note = ` (the store's; given ${given})`;
  return `${label.padEnd(19)}${bound ?? given ?? '-'}${note}`;
}

function statusText(s: SyncStatus, given: OpenedSync['given']): string {
  return [
    boundLine('remote', s.boundTo.remote, given.remote, 'its first push or pull'),
    boundLine('party', s.boundTo.party, given.party, 'it first sends to the remote'),
    `queue depth        ${s.queueDepth} (pending ${s.states.pending}, in flight ${s.states.inflight})`,
    `delivered          ${s.states.done}`,
    `last push success  ${s.lastPushSuccess ?? '-'}`,
    `last pull success  ${s.lastPullSuccess ?? '-'}`,
    ...s.lastPullSkipped.map((c) => `not pulled         Patient/${c.patient} — ${c.reason}`),
    `retrying           ${s.failures.retrying}`,
    `dead letters       ${s.failures.deadLetters}`,
    `blocked by consent ${s.blockedByConsent}`,
    `held (dependency)  ${s.heldByDependency}`,
    `parked conflicts   ${s.states.parked} (${s.conflicts} conflicts logged)${s.states.parked ? RESOLVE_HINT : ''}`,
    `refused pulls      ${s.pullRefused.total}`,
    ...s.pullRefused.newest.map(
      (r) =>
        `refused pull       ${r.resourceType}/${r.remoteId}${r.remoteVersion ? ` v${r.remoteVersion}` : ''} — ${r.reason}`,
    ),
    `deletes left       ${s.deletesLeft.total}`,
    ...s.deletesLeft.newest.map((d) => `delete left        ${d.resource} — ${d.reason}`),
    `followed clients   ${s.followedClients}`,
    `backfilled         ${s.backfill.enqueued} written before the sync was attached (${s.backfill.state}; ${s.backfill.clients} local clients followed)`,
    `last error         ${s.failures.lastError ?? '-'}`,
    ...s.waiting.map((w) => `waiting            ${w.what} (${Math.round(w.forMs / 1000)} s)`),
    ...(s.kanta ? kantaLines(s.kanta) : []),
  ].join('\n');
}

export async function statusAction(opts: StatusOptions): Promise<void> {
  const { store, sync, given } = await openSync(opts, REMOTE_IDENTITY);
  // What the store syncs with (its remote recorded by its first push or pull, its party by the first
  // write it sent), else what this command was given.
  const status = await sync.status();
  const s = {
    ...status,
    remote: status.boundTo.remote ?? given.remote,
    party: status.boundTo.party ?? given.party,
  };
  await store.close();
  print(opts, s, () => statusText(status, given));
}

/**
 * A listed row as text: what it is, why it stopped, and its outcome's issues as codes, elements and
 * rules — never their diagnostics, which may quote what was sent (a remote's: a name, a HETU); the
 * whole outcome is in `--json`.
 */
export function rowText(r: ListedRow): string {
  const issues = (r.outcome?.issue ?? []).map((i) => `    ${describeIssue(i)}`);
  const head = `#${r.id} ${r.resource_type}/${r.resource_id} (${r.action}, attempts ${r.attempts}) ${r.reason ?? ''}`;
  return issues.length ? `${head}\n${issues.join('\n')}` : head;
}

/** A listing's `--state` and `--limit` as the sync's own checkers take them (exit 2 naming the option). */
async function listing(opts: { state?: string; limit?: string }) {
  const { LIST_DEFAULT, checkListLimit, checkListedState } = await import('../../sync/index.ts');
  try {
    return {
      state: checkListedState(opts.state ?? 'dead'),
      limit: opts.limit === undefined ? LIST_DEFAULT : checkListLimit(opts.limit),
    };
  } catch (err) {
    return fail(`--${(err as Error).message}`);
  }
}

export async function rowsAction(opts: RowsOptions): Promise<void> {
  const { state, limit } = await listing(opts);
  const { store, sync } = await openSync(opts);
  // The listing leaves out the queued content: client data (HETU, names, health data), readable
  // through the API by whoever may; it names the row and says what went wrong.
  const rows = await sync.rows(state, limit);
  await store.close();
  print(opts, rows, () => (rows.length ? rows.map(rowText).join('\n') : `no ${state} rows`));
}

function conflictText(c: ConflictRow): string {
  const d = c.detail ?? {};
  const versions = `expected ${d.expectedVersion ?? '-'}, found ${d.remoteVersion ?? '-'}`;
  return `#${c.id} ${c.created_at} ${c.resource_type}/${c.resource_id} (outbox #${c.outbox_id ?? '-'}, remote ${d.remoteId ?? '-'}: ${versions}) ${c.policy} → ${c.resolution}`;
}

/** `sync conflicts`: what each conflict with a remote edit was settled by, newest first. */
export async function conflictsAction(opts: SyncStoreOptions & { limit?: string }): Promise<void> {
  const { limit } = await listing(opts);
  const { store, sync } = await openSync(opts);
  const rows = await sync.conflicts(limit);
  await store.close();
  print(opts, rows, () => (rows.length ? rows.map(conflictText).join('\n') : 'no conflicts recorded'));
}

export async function retryAction(id: string | undefined, opts: SyncStoreOptions): Promise<void> {
  if (id !== undefined) {
    const { checkOutboxId } = await import('../../sync/index.ts');
    try {
      checkOutboxId(id);
    } catch (err) {
      fail((err as Error).message);
    }
  }
  const { store, sync } = await openSync(opts);
  const n = await sync.retry(id);
  await store.close();
  print(opts, { requeued: n }, () => `requeued ${n} row(s)`);
  if (id !== undefined && n === 0) process.exit(1);
}

/** `sync resolve <id> --keep local|remote`: a parked row's resource back to the queue with the version to keep. */
export async function resolveAction(id: string, opts: SyncStoreOptions & { keep: string }): Promise<void> {
  const { checkOutboxId, checkResolveChoice } = await import('../../sync/index.ts');
  let keep: ReturnType<typeof checkResolveChoice>;
  try {
    checkOutboxId(id);
    keep = checkResolveChoice(opts.keep);
  } catch (err) {
    fail((err as Error).message);
  }
  const { store, sync } = await openSync(opts);
  const resolved = await sync.resolve(id, keep);
  await store.close();
  print(opts, resolved ? { requeued: 1, ...resolved } : { requeued: 0 }, () =>
    resolved ? resolvedText(id, keep, resolved) : `row ${id} is not parked`,
  );
  if (!resolved) process.exit(1);
}

function resolvedText(id: string, keep: string, { row, superseded }: Resolved): string {
  return [
    `row ${id} resolved: its resource's conflict keeps the ${keep} version on the next push`,
    ...(row === id ? [] : [`it goes as row ${row}, the resource's newest parked change`]),
    ...(superseded.length ? [`row(s) ${superseded.join(', ')} settled unsent (superseded)`] : []),
  ].join('; ');
}

/**
 * `sync backfill`: queue what is stored at a version the sync never queued, sent or pulled (written
 * while no sync was attached).
 */
export async function backfillAction(opts: SyncStoreOptions): Promise<void> {
  const { store, sync } = await openSync(opts);
  const b = await sync.backfill({ force: true });
  await store.close();
  print(
    opts,
    b,
    () =>
      `scanned ${b.scanned} stored resource(s); queued ${b.enqueued} not queued at their current version; ${b.clients} local clients followed`,
  );
}
