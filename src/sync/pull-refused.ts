// The remote resources the pull refused (`sync_pull_refused`): listed as each page is applied, and
// read again by id when an operator asks (the cause may be gone: profiles updated, a duplicate
// identifier settled, a referenced resource back), each applied as the pull applies a page.
import type { Resource } from '@medplum/fhirtypes';
import { isFhirId } from '../shared/references.ts';
import { type SyncContext, timeSpent } from './context.ts';
import { withinPullBound } from './pull-pages.ts';
import { type ApplyOutcome, type RefusalReasons, applyRemoteBatch } from './remote-apply.ts';
import { type RefusedPull, forgetRefusedPulls, recordRefusedPulls, refusedPullKeys } from './repository.ts';
import { isGoneRemotely } from './resilience.ts';

/** Whether any refused pull is listed, as far as one pull or read-again knows (set on listing one). */
export interface RefusalBook {
  listed: boolean;
}

/**
 * Lists the page's refused resources (those with an id to list them by) and takes those stored now
 * off the list (`settled`: the outcomes that take one off; a pull's page, `applied`). A page with
 * neither, or with nothing to take off an empty list, costs no statement.
 */
export async function noteRefusals(
  ctx: SyncContext,
  book: RefusalBook,
  fetched: Resource[],
  outcomes: ApplyOutcome[],
  why: RefusalReasons,
  settled: ReadonlySet<ApplyOutcome> = APPLIED,
): Promise<void> {
  const refused: RefusedPull[] = [];
  const stored: string[] = [];
  for (const [i, r] of fetched.entries()) {
    const outcome = outcomes[i] as ApplyOutcome;
    if (settled.has(outcome)) stored.push(`${r.resourceType}/${r.id}`);
    const reason = why.get(i);
    if (outcome === 'refused' && reason && isFhirId(r.id))
      refused.push({ resourceType: r.resourceType, remoteId: r.id, remoteVersion: versionOf(r), reason });
  }
  const forget = book.listed ? stored : [];
  if (!refused.length && !forget.length) return;
  await timeSpent(ctx, 'database', async () => {
    await forgetRefusedPulls(ctx.store, forget);
    await recordRefusedPulls(ctx.store, refused);
  });
  if (refused.length) book.listed = true;
}

const APPLIED: ReadonlySet<ApplyOutcome> = new Set(['applied']);
/**
 * Read again, a listed resource leaves the list unless refused again: stored (`applied`), held here at
 * that version already (`unchanged`), or waiting for a local change whose push settles the remote
 * version as a conflict (`skipped`).
 */
const TAKEN_OFF: ReadonlySet<ApplyOutcome> = new Set(['applied', 'unchanged', 'skipped']);

/** Reading the listed ones again: every one read is listed. */
const LISTED: RefusalBook = { listed: true };

/** A remote's versionId where it is one (any other text may hold what the database cannot keep). */
const versionOf = (r: Resource) => (isFhirId(r.meta?.versionId) ? r.meta.versionId : null);

/** What reading the refused resources again did. */
export interface RefusedAgainResult {
  /** Resources listed when it began. */
  listed: number;
  applied: number;
  unchanged: number;
  skipped: number;
  /** Refused again: still listed, with the reason now. */
  refused: number;
  /** No longer on the remote (404 or 410): taken off the list. */
  gone: number;
}

/**
 * Reads each listed resource from the remote by id and applies it as the pull would, within the
 * pull's bound (`pullTimeoutMs`). A failure other than its absence (the remote down, the bound)
 * stops it with that error; what it has settled so far stays settled, the rest stays listed.
 */
export async function pullRefusedAgain(ctx: SyncContext, signal?: AbortSignal): Promise<RefusedAgainResult> {
  const listed = await timeSpent(ctx, 'database', () => refusedPullKeys(ctx.store));
  const progress = { step: 'the remote' };
  return withinPullBound(ctx, signal, progress, (bounded) => readAgain(ctx, listed, bounded, progress));
}

async function readAgain(
  ctx: SyncContext,
  listed: Pick<RefusedPull, 'resourceType' | 'remoteId'>[],
  signal: AbortSignal,
  progress: { step: string },
): Promise<RefusedAgainResult> {
  const result: RefusedAgainResult = {
    listed: listed.length,
    applied: 0,
    unchanged: 0,
    skipped: 0,
    refused: 0,
    gone: 0,
  };
  for (const { resourceType: type, remoteId } of listed) {
    progress.step = `pull: remote read ${type}/${remoteId}`;
    let remote: Resource;
    try {
      remote = await timeSpent(ctx, 'network', () => ctx.remote.read(type, remoteId, signal), progress.step);
    } catch (err) {
      if (!isGoneRemotely(err)) throw err;
      await timeSpent(ctx, 'database', () => forgetRefusedPulls(ctx.store, [`${type}/${remoteId}`]));
      result.gone++;
      continue;
    }
    const { outcomes, why } =
      remote?.resourceType === type && remote.id === remoteId
        ? await applyRemoteBatch(ctx, [remote], { judged: true })
        : {
            outcomes: ['refused' as const],
            why: new Map([[0, 'the remote answered another resource for its id']]),
          };
    result[outcomes[0] as ApplyOutcome]++;
    ctx.metrics.pulled.inc({ type, result: outcomes[0] as ApplyOutcome });
    await noteRefusals(
      ctx,
      LISTED,
      [{ ...remote, resourceType: type, id: remoteId } as Resource],
      outcomes,
      why,
      TAKEN_OFF,
    );
  }
  return result;
}
