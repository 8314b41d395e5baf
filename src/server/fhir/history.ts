// History Bundles: one instance's versions, or a type's or the whole system's, newest first.
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { weakEtag } from '../../shared/etag.ts';
import { FhirError } from '../../shared/outcome.ts';
import {
  type HistoryEntry,
  type HistoryPage,
  type HistoryPageOptions,
  pageSize,
  parseDateRange,
} from '../../store/index.ts';
import { refuseUnknownParameters, withQuery } from '../http/query-params.ts';

const DEFAULT_COUNT = 50;
/** What a history request takes (R4's, and `_offset` for paging). */
const HISTORY_PARAMETERS = ['_since', '_count', '_offset'];
const INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

function one(query: Record<string, string | string[]>, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v)) throw FhirError.badRequest(`${name} may be given once`, name);
  return v;
}

/**
 * A non-negative integer parameter given at most once (`_count`, `_offset`), read by the one count
 * parser every search uses (`pageSize`): any whole number, capped at `max` (a search's page size, 1000,
 * when not given).
 */
export function countParam(
  query: Record<string, string | string[]>,
  name: string,
  fallback: number,
  max?: number,
): number {
  return pageSize(one(query, name), name, { fallback, max });
}

/** `_since` of a history or `$everything` request: an instant (a 400 naming `_since` otherwise). */
export function sinceParam(query: Record<string, string | string[]>): string | undefined {
  const since = one(query, '_since');
  if (since !== undefined && (!INSTANT.test(since) || !parseDateRange(since))) {
    // The value is not quoted: a query's text may be anything a client typed.
    throw FhirError.badRequest('_since must be an instant such as 2025-01-31T12:00:00Z', '_since');
  }
  return since;
}

/**
 * `_since`, `_count` and `_offset` of a history request, checked, and the `_cursor` of a next link
 * (the store's, or an instance history's versionId; checked where read; not a parameter a client
 * writes, so not listed as one). Any other
 * parameter is refused by the rule search follows too: a 400 naming it, or ignored when `lenient`
 * (`Prefer: handling=lenient`); the links then leave it out, as they name only these.
 */
export function historyQuery(
  query: Record<string, string | string[]>,
  opts: { lenient?: boolean } = {},
): HistoryPageOptions {
  const { _cursor: _linkCursor, ...asked } = query;
  refuseUnknownParameters(asked, HISTORY_PARAMETERS, '_history', opts);
  const since = sinceParam(query);
  const cursor = one(query, '_cursor');
  return {
    ...(since ? { since } : {}),
    count: countParam(query, '_count', DEFAULT_COUNT),
    offset: countParam(query, '_offset', 0, Number.MAX_SAFE_INTEGER),
    ...(cursor !== undefined ? { cursor } : {}),
  };
}

function historyEntry(base: string, type: string, id: string, v: HistoryEntry): BundleEntry {
  // The store records a PUT that brings a deleted resource back as a create; only version 1 was a POST.
  const posted = v.action === 'create' && v.versionId === '1';
  const method = posted ? 'POST' : v.action === 'delete' ? 'DELETE' : 'PUT';
  const status = v.action === 'create' ? '201 Created' : v.action === 'update' ? '200 OK' : '204 No Content';
  return {
    fullUrl: `${base}/${type}/${id}`,
    ...(v.resource ? { resource: v.resource } : {}),
    request: { method, url: posted ? type : `${type}/${id}` },
    response: { status, etag: weakEtag(v.versionId), lastModified: v.lastUpdated },
  };
}

/**
 * One resource's versions (newest first) as a history page: `_since` and `_count` apply as at type and
 * system level. The next link carries a keyset cursor, the versionId of the page's last entry: the next
 * page holds the versions older than it however many are written meanwhile (`_offset` then only says
 * where it is). An `_offset` without a cursor pages by position.
 */
export function instanceHistoryBundle(
  base: string,
  type: string,
  id: string,
  versions: HistoryEntry[],
  q: HistoryPageOptions,
): Bundle {
  const before = q.cursor === undefined ? undefined : versionCursor(q.cursor);
  const since = q.since ? Date.parse(q.since) : undefined;
  const matching =
    since === undefined ? versions : versions.filter((v) => Date.parse(v.lastUpdated) >= since);
  const start = before === undefined ? q.offset : matching.findIndex((v) => Number(v.versionId) < before);
  const from = start < 0 ? matching.length : start;
  const page = matching.slice(from, from + q.count);
  const last = page[page.length - 1];
  const nextCursor = last && from + page.length < matching.length ? last.versionId : undefined;
  const entries = page.map((v) => ({ ...v, resourceType: type, id }));
  return historyBundle(`${base}/${type}/${id}/_history`, base, q, {
    total: matching.length,
    entries,
    ...(nextCursor !== undefined ? { nextCursor } : {}),
  });
}

/** An instance history's `_cursor`: a versionId, the next page's versions being older than it. */
function versionCursor(cursor: string): number {
  if (!/^[1-9]\d{0,15}$/.test(cursor))
    throw FhirError.badRequest(`Invalid value for '_cursor': not a cursor issued by this server`, '_cursor');
  return Number(cursor);
}

/**
 * One page of a type's or the system's history, with a next link while versions remain: the store's
 * cursor where it gives one (the page then starts after this one's last entry, however many versions
 * are written meanwhile; `_offset` only says where it is), else the next offset.
 */
export function historyBundle(self: string, base: string, q: HistoryPageOptions, page: HistoryPage): Bundle {
  const url = (offset: number, cursor: string | undefined) => {
    const params = new URLSearchParams();
    if (q.since) params.set('_since', q.since);
    params.set('_count', String(q.count));
    if (offset) params.set('_offset', String(offset));
    if (cursor !== undefined) params.set('_cursor', cursor);
    return withQuery(self, params);
  };
  const link: Bundle['link'] = [{ relation: 'self', url: url(q.offset, q.cursor) }];
  const more = page.nextCursor !== undefined || (q.cursor === undefined && q.offset + q.count < page.total);
  if (q.count > 0 && more) link.push({ relation: 'next', url: url(q.offset + q.count, page.nextCursor) });
  return {
    resourceType: 'Bundle',
    type: 'history',
    total: page.total,
    link,
    ...(page.entries.length
      ? { entry: page.entries.map((e) => historyEntry(base, e.resourceType, e.id, e)) }
      : {}),
  };
}
