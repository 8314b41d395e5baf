/**
 * Backfill on first attach: resources written before any sync was attached to the store (no outbox
 * row, no id map entry) are queued once, as if they had just been written, so they go through the
 * same push round — consent gate, dependency order, conditional creates — as every new write. Every
 * Patient the store holds is followed, so pull covers (or names, when it skips) each client. A forced
 * run (`sync backfill`) also queues, as an update, a resource changed since the version the sync last
 * queued, sent or pulled (written by a process without the outbox hook): `enqueueUnsynced`.
 *
 * Bounded: the store is read page by page through its search contract and each page is queued in one
 * statement; a run cut short is resumed by the next one (a version already queued, sent or pulled is
 * never queued again). Progress and the outcome are in `sync_state` (`status().backfill`).
 */
import type { Resource } from '@medplum/fhirtypes';
import { type SyncContext, timeSpent } from './context.ts';
import { type Db, enqueueUnsynced, follow, readStates, setState } from './repository.ts';

/** Types in the order their rows are queued: what is referenced before what refers to it. */
const DEPENDENCY_ORDER = [
  'Patient',
  'Consent',
  'Observation',
  'QuestionnaireResponse',
  'Goal',
  'ServiceRequest',
  'CareTeam',
  'CarePlan',
];

/** Resources read (and queued) per statement. */
export const BACKFILL_PAGE = 500;

export interface BackfillStatus {
  /** `not started`: no sync has pushed or pulled from this store yet. */
  state: 'not started' | 'running' | 'done';
  /** Resources queued by the backfill (each version once). */
  enqueued: number;
  /** Resources looked at. */
  scanned: number;
  /** Local Patients followed by pull. */
  clients: number;
  finishedAt?: string;
}

const NOT_STARTED: BackfillStatus = { state: 'not started', enqueued: 0, scanned: 0, clients: 0 };

/** The backfill's progress as recorded in the store. */
export async function readBackfill(db: Db): Promise<BackfillStatus> {
  const raw = (await readStates(db)).get('backfill');
  return raw ? (JSON.parse(raw) as BackfillStatus) : NOT_STARTED;
}

/** Pushed types in dependency order (types not in DEPENDENCY_ORDER last, by name). */
function typesInOrder(pushTypes: Set<string>): string[] {
  const known = DEPENDENCY_ORDER.filter((t) => pushTypes.has(t));
  return [...known, ...[...pushTypes].filter((t) => !known.includes(t)).sort()];
}

/**
 * Runs the backfill unless it has finished before (`force`: run again; it queues only current versions
 * the sync has not queued, sent or pulled). Returns the recorded status.
 */
export async function backfill(
  ctx: SyncContext,
  opts: { force?: boolean; pageSize?: number } = {},
): Promise<BackfillStatus> {
  const before = await timeSpent(ctx, 'database', () => readBackfill(ctx.store));
  if (before.state === 'done' && !opts.force) return before;
  // A run cut short counts on from where it was; a forced re-run counts what it adds.
  const progress: BackfillStatus = {
    ...(before.state === 'running' ? before : NOT_STARTED),
    state: 'running',
    finishedAt: undefined,
  };
  const save = () =>
    timeSpent(ctx, 'database', () => setState(ctx.store, 'backfill', JSON.stringify(progress)));
  await save();
  const pageSize = opts.pageSize ?? BACKFILL_PAGE;
  const types = typesInOrder(ctx.pushTypes);
  if (!ctx.pushTypes.has('Patient')) types.unshift('Patient');
  for (const type of types) {
    await eachPage(ctx, type, pageSize, async (page) => {
      progress.scanned += page.length;
      if (type === 'Patient') {
        const ids = page.map((r) => r.id as string);
        await timeSpent(ctx, 'database', () => follow(ctx.store, ids));
        progress.clients += ids.length;
      }
      if (ctx.pushTypes.has(type)) {
        progress.enqueued += await timeSpent(ctx, 'database', () => enqueueUnsynced(ctx.store, page));
      }
      await save();
    });
  }
  progress.state = 'done';
  progress.finishedAt = new Date().toISOString();
  await save();
  if (progress.enqueued) {
    ctx.log.info(
      { enqueued: progress.enqueued, clients: progress.clients },
      'sync: backfilled resources written before the sync was attached',
    );
  }
  return progress;
}

/** Every current resource of `type`, oldest first, `pageSize` at a time. */
async function eachPage(
  ctx: SyncContext,
  type: string,
  pageSize: number,
  fn: (page: Resource[]) => Promise<void>,
): Promise<void> {
  const params: Record<string, string> = { _count: String(pageSize), _sort: '_lastUpdated' };
  while (true) {
    const page = await timeSpent(ctx, 'database', () => ctx.store.search(type, params));
    if (page.resources.length) await fn(page.resources);
    if (!page.nextCursor) return;
    params._cursor = page.nextCursor;
  }
}
