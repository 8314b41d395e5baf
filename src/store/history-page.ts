// Type- and system-level history: every version of a type (or of all), newest first, a page at a
// time. Pages continue from a cursor (the last entry's key), not an offset: a version written between
// two page requests lands before the first page instead of pushing the next page's entries down.
import { FhirError } from '../shared/outcome.ts';
import { isFhirId } from '../shared/references.ts';
import { TYPE_RE } from './checks.ts';
import { parseDateRange, parseInstant } from './dates.ts';
import { type HistoryRow, historyEntry } from './reads.ts';
import { badSearch } from './search-values.ts';
import type { HistoryPage, HistoryPageOptions, Queryable } from './types.ts';

/** The highest version the store's integer column holds. */
const MAX_VERSION = 2_147_483_647;

/** A page's last entry: (lastUpdated, type, id, version), the order's key. */
type HistoryKey = [string, string, string, number];

function encodeCursor(key: HistoryKey): string {
  return Buffer.from(JSON.stringify(['h', ...key])).toString('base64url');
}

/**
 * The key a `_cursor` names, or a 400 naming `_cursor`. Its parts go into the page's SQL, so each must
 * be what this store writes (a forged U+0000 would be the database's error, a 500): a type as the store
 * names one (the history's own at type level), a FHIR id, a version number.
 */
function decodeCursor(text: string, historyType: string | undefined): HistoryKey {
  try {
    const [tag, at, type, id, version] = JSON.parse(
      Buffer.from(text, 'base64url').toString('utf8'),
    ) as unknown[];
    if (
      tag === 'h' &&
      typeof at === 'string' &&
      parseInstant(at) !== undefined &&
      typeof type === 'string' &&
      TYPE_RE.test(type) &&
      (historyType === undefined || type === historyType) &&
      isFhirId(id) &&
      Number.isInteger(version) &&
      (version as number) >= 1 &&
      (version as number) <= MAX_VERSION
    )
      return [at, type, id, version as number];
  } catch {
    // the 400 below
  }
  throw badSearch('_cursor', `Invalid value for '_cursor': not a cursor issued by this server`);
}

/**
 * `_since` as the instant it names, decided here rather than by the database: a date alone is UTC
 * midnight (as instance history reads it), whatever the server's TimeZone.
 */
function sinceInstant(since: string): string {
  const range = parseDateRange(since);
  if (!range) throw badSearch('_since', `Invalid value for '_since': not a valid FHIR date/dateTime`);
  return range.low.toISOString();
}

/**
 * Type-level (`type` given) or system-level history, newest first: every version written at or
 * after `since`, a page of `count` after `cursor` (else from `offset`), with the total.
 */
export async function readHistoryPage(
  q: Queryable,
  type: string | undefined,
  opts: HistoryPageOptions,
): Promise<HistoryPage> {
  if (type !== undefined && !TYPE_RE.test(type)) {
    throw FhirError.badRequest(`Invalid resource type '${type}'`, 'resourceType');
  }
  const where = `($1::text IS NULL OR resource_type = $1) AND ($2::timestamptz IS NULL OR last_updated >= $2)`;
  const args = [type ?? null, opts.since === undefined ? null : sinceInstant(opts.since)];
  const after = opts.cursor === undefined ? undefined : decodeCursor(opts.cursor, type);
  const page = after
    ? `${where} AND (last_updated, resource_type, id, version_id) < ($5::timestamptz, $6, $7, $8)`
    : where;
  const [rows, total] = await Promise.all([
    opts.count > 0
      ? q.query<HistoryRow & { resource_type: string; id: string; at: string }>(
          `SELECT resource_type, id, version_id, last_updated, to_json(last_updated) #>> '{}' AS at, action,
                  content::text AS content FROM resource_history
            WHERE ${page} ORDER BY last_updated DESC, resource_type DESC, id DESC, version_id DESC LIMIT $3 OFFSET $4`,
          [...args, opts.count + 1, after ? 0 : opts.offset, ...(after ?? [])],
        )
      : [],
    q.query<{ n: number }>(`SELECT count(*)::int AS n FROM resource_history WHERE ${where}`, args),
  ]);
  const entries = rows.slice(0, opts.count);
  const last = entries[entries.length - 1];
  return {
    total: total[0].n,
    entries: entries.map((r) => ({ resourceType: r.resource_type, id: r.id, ...historyEntry(r) })),
    ...(rows.length > opts.count && last
      ? { nextCursor: encodeCursor([last.at, last.resource_type, last.id, last.version_id]) }
      : {}),
  };
}
