import type { Resource } from '@medplum/fhirtypes';
import { parseInstant } from '../store/index.ts';
import type { SyncContext } from './context.ts';
import { type RemoteClient, type SearchPage, nextOnce } from './remote-client.ts';
import { unanswered } from './resilience.ts';

/**
 * The pages of one pull search, each version of a resource once.
 *
 * The pull asks the remote to sort by `_lastUpdated`. Where the remote says it did (its `self` link keeps
 * `_sort=_lastUpdated`) and the stamps come in order, each next page is a new search from the last stamp
 * seen (`_lastUpdated=ge…`) instead of the remote's `next` link: a remote that pages by offset shifts its
 * later pages when a resource already read is deleted or changed during the pull, the resource shifted
 * past a page boundary would never be fetched, and the cursor would move beyond it. The entries a page
 * repeats from the one before (same stamp) are dropped. The `next` link is followed where the remote does
 * not sort, and where a whole page shares one stamp (a search from it would answer that page again).
 */
export async function* pullPages(
  remote: RemoteClient,
  type: string,
  params: Record<string, string>,
  signal?: AbortSignal,
): AsyncGenerator<Resource[]> {
  const query = { ...params, _sort: '_lastUpdated' };
  const seen = new Set<string>();
  const followed = new Set<string>();
  let page: SearchPage = await remote.searchPage(type, query, signal);
  let sorted = sortsByLastUpdated(page.self);
  let floor: number | undefined;
  while (true) {
    yield page.resources.filter((r) => firstSight(seen, r));
    if (!page.next) return;
    const stamps = page.resources.map((r) => remoteStamp(r));
    sorted &&= inOrder(stamps, floor);
    const first = stamps[0];
    const last = stamps.at(-1);
    if (sorted && first && last && first.at < last.at) {
      floor = last.at;
      page = await remote.searchPage(type, { ...query, _lastUpdated: `ge${last.text}` }, signal);
    } else {
      page = await remote.nextPage(nextOnce(followed, page.next), signal);
    }
  }
}

/** Whether the search the remote reports running (its `self` link) sorted by `_lastUpdated` ascending. */
function sortsByLastUpdated(self: string | undefined): boolean {
  if (!self) return false;
  try {
    return new URL(self, 'http://remote.invalid').searchParams.get('_sort') === '_lastUpdated';
  } catch {
    return false;
  }
}

/**
 * Runs `pull` within the pull's bound (`pullTimeoutMs`) as well as `signal`; stopped by the bound, it
 * fails with `sync-pull-1` naming what it was waiting for (`progress.step`).
 */
export async function withinPullBound<T>(
  ctx: Pick<SyncContext, 'pullTimeoutMs' | 'remote'>,
  signal: AbortSignal | undefined,
  progress: { step: string },
  pull: (bounded: AbortSignal) => Promise<T>,
): Promise<T> {
  // A timer of our own, not AbortSignal.timeout: inside AbortSignal.any, Node 20 may collect that
  // signal before it fires (nodejs/node#57736), and the bound would never stop the pull.
  const bound = new AbortController();
  const timer = setTimeout(() => bound.abort(), ctx.pullTimeoutMs);
  const bounded = signal ? AbortSignal.any([signal, bound.signal]) : bound.signal;
  try {
    return await pull(bounded);
  } catch (err) {
    if (signal?.aborted) throw err;
    if (bounded.aborted)
      throw new Error(
        `sync-pull-1: pull stopped at its bound of ${ctx.pullTimeoutMs} ms while waiting for ${progress.step}`,
      );
    const why = unanswered(err, ctx.remote.config.timeoutMs);
    if (why) throw new Error(`sync-pull-5: ${why}, while waiting for ${progress.step}`, { cause: err });
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** How far a remote's clock may run ahead of ours before its stamps stop moving a cursor. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * A remote's stamp (`meta.lastUpdated`, a history entry's `lastModified`) as a cursor may take it: a
 * real instant, not later than our clock allows. Anything else would stop every later pull (no
 * instant) or skip every later change (the future), so it leaves the cursor where it is.
 */
function cursorInstant(text: unknown): string | undefined {
  const at = typeof text === 'string' ? parseInstant(text) : undefined;
  return at !== undefined && at <= Date.now() + CLOCK_SKEW_MS ? (text as string) : undefined;
}

/** The cursor moved on to the remote's stamp `text`, where that is a later one the cursor may take. */
export function laterStamp(cursor: string | undefined, text: unknown): string | undefined {
  const stamp = cursorInstant(text);
  return stamp && (!cursor || Date.parse(stamp) > Date.parse(cursor)) ? stamp : cursor;
}

/**
 * Where a pull's window from `cursor` starts: a little before it (`overlapMs`), since a remote may
 * stamp a write before its commit is visible.
 */
export function windowStart(cursor: string, overlapMs: number): string {
  return new Date(Date.parse(cursor) - overlapMs).toISOString();
}

/** A pulled resource's `meta.lastUpdated` as the remote wrote it and as a time, if it is a real instant. */
export function remoteStamp(r: Resource): { text: string; at: number } | undefined {
  const text = r.meta?.lastUpdated;
  const at = typeof text === 'string' ? parseInstant(text) : undefined;
  return at === undefined ? undefined : { text: text as string, at };
}

/** Every stamp present, none earlier than the one before it or than where the search started. */
function inOrder(stamps: ({ at: number } | undefined)[], floor: number | undefined): boolean {
  let previous = floor ?? Number.NEGATIVE_INFINITY;
  for (const s of stamps) {
    if (!s || s.at < previous) return false;
    previous = s.at;
  }
  return true;
}

/** True the first time this version of a resource shows up in the pull (one without an id always). */
function firstSight(seen: Set<string>, r: Resource): boolean {
  if (typeof r.id !== 'string') return true;
  const key = `${r.resourceType}/${r.id}/${r.meta?.versionId ?? r.meta?.lastUpdated ?? ''}`;
  if (seen.has(key)) return false;
  seen.add(key);
  return true;
}
