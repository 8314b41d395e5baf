// The search index of stored resources, rebuilt when what is indexed changes (a parameter added, a
// new kind of row): a marker in schema_migrations names the indexed set, so a database written by an
// earlier release gets the rows its searches and delete checks now read when the store opens.
import { createHash } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { ANY_REFERENCE, INDEXED_PARAMS } from './indexing.ts';
import type { Queryable } from './types.ts';
import { indexColumns } from './writes.ts';

/** Bump when the rows of a parameter change without the parameter list changing. */
const EXTRACTION_REVISION = 6;

/** The marker of the index this code writes. */
export const SEARCH_INDEX_MARKER = `search-index-${createHash('sha256')
  .update(JSON.stringify([INDEXED_PARAMS, ANY_REFERENCE, EXTRACTION_REVISION]))
  .digest('hex')
  .slice(0, 16)}`;

const PAGE = 500;
const REPORT_EVERY = 10_000;

/** Told how many resources a rebuild has indexed: every `REPORT_EVERY`, and once at the end. */
export type ReindexProgress = (indexed: number, done: boolean) => void;

/**
 * Rebuilds every current resource's index rows unless the marker of this index is recorded. Runs in
 * the caller's transaction (under the migration lock), so the index is replaced whole or not at all;
 * writes of other processes wait until it commits (pages only bound the memory a rebuild takes).
 * Returns how many resources were indexed (0 when the index was current).
 */
export async function reindexIfChanged(q: Queryable, progress?: ReindexProgress): Promise<number> {
  const done = await q.query('SELECT 1 FROM schema_migrations WHERE name = $1', [SEARCH_INDEX_MARKER]);
  if (done.length) return 0;
  // Other processes keep writing while this one upgrades: a write between reading a resource here and
  // the commit would leave this rebuild's rows of its old version beside its own. SHARE mode lets reads
  // through and makes every write (which writes `resources` first) wait for the commit.
  await q.query('LOCK TABLE resources IN SHARE MODE');
  await q.query('DELETE FROM search_token');
  await q.query('DELETE FROM search_date');
  await q.query('DELETE FROM search_number');
  let indexed = 0;
  let after: [string, string] = ['', ''];
  for (;;) {
    const rows = await q.query<{ resource_type: string; id: string; last_updated: Date; content: string }>(
      `SELECT resource_type, id, last_updated, content::text AS content FROM resources
        WHERE NOT deleted AND (resource_type, id) > ($1, $2) ORDER BY resource_type, id LIMIT ${PAGE}`,
      after,
    );
    if (!rows.length) break;
    await insertIndexRows(
      q,
      rows.map((r) => ({ ...(JSON.parse(r.content) as Resource), id: r.id })),
      rows,
    );
    const before = indexed;
    indexed += rows.length;
    if (Math.floor(indexed / REPORT_EVERY) > Math.floor(before / REPORT_EVERY)) progress?.(indexed, false);
    const last = rows[rows.length - 1] as { resource_type: string; id: string };
    after = [last.resource_type, last.id];
  }
  await q.query('INSERT INTO schema_migrations (name) VALUES ($1)', [SEARCH_INDEX_MARKER]);
  if (indexed) progress?.(indexed, true);
  return indexed;
}

async function insertIndexRows(
  q: Queryable,
  resources: Resource[],
  rows: ReadonlyArray<{ resource_type: string; id: string; last_updated: Date }>,
): Promise<void> {
  const columns = indexColumns(resources);
  await q.query(
    `WITH updated AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS u(resource_type, id, last_updated))
     , tokens AS (INSERT INTO search_token (resource_type, id, last_updated, param, system, value)
                  SELECT u.resource_type, u.id, updated.last_updated, u.param, u.system, u.value
                    FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
                         AS u(resource_type, id, param, system, value)
                    JOIN updated USING (resource_type, id))
     , dates AS (INSERT INTO search_date (resource_type, id, param, low, high)
                 SELECT * FROM unnest($9::text[], $10::text[], $11::text[], $12::timestamptz[], $13::timestamptz[]))
     INSERT INTO search_number (resource_type, id, param, value)
     SELECT * FROM unnest($14::text[], $15::text[], $16::text[], $17::numeric[])`,
    [
      rows.map((r) => r.resource_type),
      rows.map((r) => r.id),
      rows.map((r) => new Date(r.last_updated).toISOString()),
      ...columns,
    ],
  );
}
