import type { Resource } from '@medplum/fhirtypes';
import type { SyncContext } from './context.ts';
import { timeSpent } from './context.ts';
import { type PullResult, emptyPullResult } from './pull-result.ts';
export { type PullResult, emptyPullResult } from './pull-result.ts';
import { type HeldByRemote, noteHeld, pullDeletes } from './pull-deletes.ts';
import { laterStamp, pullPages, windowStart, withinPullBound } from './pull-pages.ts';
import { type RefusalBook, noteRefusals } from './pull-refused.ts';
import { relinkAfterPull } from './relink.ts';
import { applyRemoteBatch } from './remote-apply.ts';
import {
  clientsToFollow,
  latestStates,
  mappingsForLocal,
  readCursor,
  refusedPullCount,
  setState,
  writeCursor,
} from './repository.ts';

/**
 * Poll the remote for every client the local store holds data for: `patient` + `_lastUpdated=gt<cursor>`
 * per pulled type, all pages; apply each resource; advance the cursor only after its pages are stored.
 * A client whose Patient is not on the remote is skipped with the reason. Then each pulled type's
 * remote deletes (its history since the last look: pull-deletes.ts), within what is left of the
 * bound; a look that fails is reported in `deletesNotChecked`, not thrown. The whole pull is bounded
 * by `pullTimeoutMs`; what it waits for is visible in status (`waiting`).
 */
export async function pullOnce(ctx: SyncContext, signal?: AbortSignal): Promise<PullResult> {
  const result = emptyPullResult();
  const clients = await timeSpent(ctx, 'database', () => clientsToFollow(ctx.store));
  const refs = clients.map((c) => `Patient/${c}`);
  const patientMaps = await timeSpent(ctx, 'database', () => mappingsForLocal(ctx.store, refs));
  const unmapped = refs.filter((r) => !patientMaps.has(r));
  const states = await timeSpent(ctx, 'database', () => latestStates(ctx.store, unmapped));
  // Whether any refused pull is listed: while none is, a stored page has none to take off the list.
  const progress: PullRun = {
    step: 'the remote',
    refusals: { listed: (await timeSpent(ctx, 'database', () => refusedPullCount(ctx.store))) > 0 },
    held: new Map(),
  };
  await withinPullBound(ctx, signal, progress, async (bounded) => {
    await pullClients(ctx, result, clients, patientMaps, states, bounded, progress);
    // After the searches: a resource entered again there under a new id has come down by now. Within
    // what is left of the bound; a look it stops is reported, and fails only at the caller's abort.
    await pullDeletes(ctx, result, progress.held, { bounded, caller: signal }, progress);
  });
  // Each stored page rewrote what it could; targets mapped since by a push are rewritten here.
  await timeSpent(ctx, 'database', () => relinkAfterPull(ctx));
  await timeSpent(ctx, 'database', async () => {
    await setState(ctx.store, 'last_pull_success', new Date().toISOString());
    // Status shows whom the last pull could not follow, also when the pull runs in the background.
    await setState(ctx.store, 'last_pull_skipped', JSON.stringify(result.skippedClients));
  });
  return result;
}

/**
 * A pull under way: what it waits for now (status, and its error at its bound), its refusals, and the
 * business identifiers of what its searches fetched (the remote holds those now).
 */
interface PullRun {
  step: string;
  refusals: RefusalBook;
  held: HeldByRemote;
}

async function pullClients(
  ctx: SyncContext,
  result: PullResult,
  clients: string[],
  patientMaps: Map<string, { remote_id: string }>,
  states: Map<string, { state: string; reason: string | null }>,
  bounded: AbortSignal,
  progress: PullRun,
): Promise<void> {
  for (const patientId of clients) {
    const remotePatient = patientMaps.get(`Patient/${patientId}`);
    if (!remotePatient) {
      const s = states.get(`Patient/${patientId}`);
      const reason = !s
        ? 'its Patient was never queued for the remote'
        : `its Patient is not on the remote (${s.state}${s.reason ? `: ${s.reason}` : ''})`;
      result.skippedClients.push({ patient: patientId, reason });
      ctx.log.info({ patient: `Patient/${patientId}`, reason }, 'sync: pull skipped a client');
      continue;
    }
    result.patients++;
    for (const type of ctx.pullTypes)
      await pullType(ctx, result, patientId, remotePatient.remote_id, type, bounded, progress);
  }
}

async function pullType(
  ctx: SyncContext,
  result: PullResult,
  patientId: string,
  remotePatientId: string,
  type: string,
  signal: AbortSignal,
  progress: PullRun,
): Promise<void> {
  let cursor = await timeSpent(ctx, 'database', () => readCursor(ctx.store, patientId, type));
  const params: Record<string, string> = {
    patient: `Patient/${remotePatientId}`,
    _count: String(ctx.pullPageSize),
  };
  if (cursor) params._lastUpdated = changedSince(cursor, ctx.pullOverlapMs);
  const pages = pullPages(ctx.remote, type, params, signal);
  progress.step = `pull: remote search ${type}?patient=Patient/${remotePatientId}`;
  while (true) {
    const page = await timeSpent(ctx, 'network', async () => pages.next(), progress.step);
    if (page.done) break;
    const fetched = page.value.filter((r) => r.resourceType === type);
    result.fetched += fetched.length;
    for (const r of fetched) noteHeld(progress.held, r);
    // Judged before they are stored: a remote need not enforce what a write here must pass.
    const { outcomes, why } = await applyRemoteBatch(ctx, fetched, { judged: true });
    for (const [i, outcome] of outcomes.entries()) {
      result[outcome]++;
      ctx.metrics.pulled.inc({ type, result: outcome });
      // A refused resource moves the cursor too: a later version of it comes with a later lastUpdated,
      // and until then the status lists it (sync_pull_refused).
      cursor = laterCursor(cursor, fetched[i]);
    }
    await noteRefusals(ctx, progress.refusals, fetched, outcomes, why);
  }
  // Pages need not be sorted (a remote may ignore _sort), so the cursor moves only once all are stored.
  const value = cursor;
  if (value) await timeSpent(ctx, 'database', () => writeCursor(ctx.store, patientId, type, value));
}

/**
 * The `_lastUpdated` of a pull that goes on from `cursor`. The window overlaps the cursor a little:
 * a remote may stamp lastUpdated before its commit is visible.
 */
export function changedSince(cursor: string, overlapMs: number): string {
  return `gt${windowStart(cursor, overlapMs)}`;
}

/**
 * The cursor moved on by `resource`'s `meta.lastUpdated`, where that is a later stamp the cursor may
 * take (a real instant, not in the future: `laterStamp`).
 */
export function laterCursor(cursor: string | undefined, resource: Resource): string | undefined {
  return laterStamp(cursor, resource.meta?.lastUpdated);
}
