// Saved search criteria: what a search's paging links name instead of repeating the criteria (a
// POST _search, or criteria too long for a URL), kept for a while under a random key (table
// `search_saved`, store-006). In the database, so any process on it can follow the links.
import { randomBytes } from 'node:crypto';
import type { Queryable, SearchParams } from './types.ts';

/** How long saved criteria are kept, in seconds. */
export const SAVED_SEARCH_TTL_SECONDS = 3600;

/** A key: 128 random bits, base64url (22 characters). */
const KEY = /^[A-Za-z0-9_-]{22}$/;

/** Criteria as saved: each parameter's value, or its values when it was repeated. */
export type SavedCriteria = Record<string, string | string[]>;

/**
 * Saves `criteria` of a search of `type` and returns their key: random, never derived from the
 * criteria. Rows that have expired are purged by the same statement.
 */
export async function saveSearch(db: Queryable, type: string, criteria: SearchParams): Promise<string> {
  const key = randomBytes(16).toString('base64url');
  const kept: SavedCriteria = {};
  for (const [name, value] of Object.entries(criteria)) if (value !== undefined) kept[name] = value;
  await db.query(
    `WITH purged AS (DELETE FROM search_saved WHERE expires_at <= now())
     INSERT INTO search_saved (key, resource_type, criteria, expires_at)
     VALUES ($1, $2, $3::json, now() + make_interval(secs => $4))`,
    [key, type, JSON.stringify(kept), SAVED_SEARCH_TTL_SECONDS],
  );
  return key;
}

/**
 * The criteria saved under `key` for a search of `type`; undefined when there are none: an unknown
 * or malformed key, one saved for another type, or one that has expired.
 */
export async function loadSavedSearch(
  db: Queryable,
  type: string,
  key: string,
): Promise<SavedCriteria | undefined> {
  if (!KEY.test(key)) return undefined;
  const [row] = await db.query<{ criteria: string }>(
    `SELECT criteria::text AS criteria FROM search_saved
      WHERE key = $1 AND resource_type = $2 AND expires_at > now()`,
    [key, type],
  );
  return row ? (JSON.parse(row.criteria) as SavedCriteria) : undefined;
}
