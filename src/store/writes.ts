// The write statements: lock a current row, insert first versions, write a next version. Each runs
// on the caller's open transaction; the caller runs the hooks.
import { isDeepStrictEqual } from 'node:util';
import type { Resource } from '@medplum/fhirtypes';
import { numbersWrittenAlike, stringifyAsWritten } from '../shared/json-text.ts';
import { FhirError, issue } from '../shared/outcome.ts';
import { extractIndex } from './indexing.ts';
import type { Queryable, Row, WriteAction } from './types.ts';

export interface CurrentRow extends Row {
  version_id: number;
  deleted: boolean;
  last_updated: Date;
  /** The current version's JSON (null when deleted, or not asked for). */
  json: string | null;
}

/**
 * Locks the current row of `type/id` for an update (`FOR NO KEY UPDATE`: it also reads the JSON, which
 * an update compares) or a delete (`FOR UPDATE`). Writers of one row wait for each other either way;
 * only a delete waits for, and holds off, the writes that reference the row (`absentRefs` locks it
 * `FOR KEY SHARE`).
 */
export async function lockCurrent(
  q: Queryable,
  type: string,
  id: string,
  purpose: 'update' | 'delete',
): Promise<CurrentRow | undefined> {
  const rows = await q.query<CurrentRow>(
    purpose === 'update'
      ? `SELECT version_id, deleted, last_updated, content::text AS json FROM resources
          WHERE resource_type = $1 AND id = $2 FOR NO KEY UPDATE`
      : `SELECT version_id, deleted, last_updated, NULL AS json FROM resources
          WHERE resource_type = $1 AND id = $2 FOR UPDATE`,
    [type, id],
  );
  return rows[0];
}

/**
 * Whether writing `resource` over the stored version (parsed as written) changes nothing: the same
 * content apart from the server's `meta.versionId` and `meta.lastUpdated` (key order aside), numbers
 * written alike (`1.50` over `1.5` is a change). Such an update writes no new version (as HAPI and
 * Medplum do): no history row, no outbox row, no sync traffic.
 */
export function changesNothing(stored: Resource, resource: Resource): boolean {
  return (
    isDeepStrictEqual(withoutServerMeta(stored), withoutServerMeta(resource)) &&
    numbersWrittenAlike(stored, resource)
  );
}

function withoutServerMeta(r: Resource): Resource {
  const { versionId: _v, lastUpdated: _l, ...meta } = r.meta ?? {};
  const { meta: _m, ...rest } = r;
  return (Object.keys(meta).length ? { ...rest, meta } : rest) as Resource;
}

/**
 * The search index rows of `resources`, one array per column (unnest turns them back into rows):
 * tokens (type, id, param, system, value), dates (type, id, param, low, high), then numbers (type,
 * id, param, value).
 */
export function indexColumns(resources: Resource[]): string[][] {
  const tokens: string[][] = [];
  const dates: string[][] = [];
  const numbers: string[][] = [];
  for (const r of resources) {
    const index = extractIndex(r);
    for (const t of index.tokens) tokens.push([r.resourceType, r.id as string, t.param, t.system, t.value]);
    for (const d of index.dates) dates.push([r.resourceType, r.id as string, d.param, d.low, d.high]);
    for (const n of index.numbers) numbers.push([r.resourceType, r.id as string, n.param, n.value]);
  }
  const columns = (rows: string[][], width: number) =>
    Array.from({ length: width }, (_, i) => rows.map((row) => row[i] as string));
  return [...columns(tokens, 5), ...columns(dates, 5), ...columns(numbers, 4)];
}

/**
 * U+0000 as JSON.stringify writes it, `\u0000`, where its backslash is not itself escaped: after an
 * even number of backslashes (`\\u0000` is the six characters `\u0000` as text).
 */
const ESCAPED_NUL = /(?<!\\)(?:\\\\)*\\u0000/;

/** A first version ready to insert: the resource as stamped and its `storedText`. */
export interface NewVersion {
  resource: Resource;
  text: string;
}

/**
 * The JSON text a version is stored as. PostgreSQL's text cannot hold U+0000 (the json column would
 * keep it, but no search value or text read could): 400, naming the resource, never the string.
 */
export function storedText(resource: Resource): string {
  const text = stringifyAsWritten(resource);
  if (text.includes('\\u0000') && ESCAPED_NUL.test(text)) {
    throw new FhirError(
      400,
      issue(
        'error',
        'invalid',
        `A string in ${resource.resourceType} contains the character U+0000, which the store cannot keep`,
        resource.resourceType,
      ),
    );
  }
  return text;
}

/**
 * Inserts version 1 of each resource in one statement (current rows, history, search index). Returns
 * the `Type/id` keys inserted; an id that already exists is skipped, and the caller reports it.
 */
export async function insertVersions(q: Queryable, versions: NewVersion[]): Promise<Set<string>> {
  if (!versions.length) return new Set();
  const resources = versions.map((v) => v.resource);
  const rows = await q.query<{ resource_type: string; id: string }>(
    // The contents travel as one JSON array: a text[] parameter would escape every quote in them.
    `WITH input AS (
       SELECT u.resource_type, u.id, u.last_updated, c.content
         FROM unnest($1::text[], $2::text[], $3::timestamptz[]) WITH ORDINALITY AS u(resource_type, id, last_updated, n)
         JOIN json_array_elements($4::json) WITH ORDINALITY AS c(content, n) USING (n))
     , cur AS (INSERT INTO resources (resource_type, id, version_id, last_updated, deleted, content)
               SELECT resource_type, id, 1, last_updated, false, content FROM input
               ON CONFLICT DO NOTHING RETURNING resource_type, id, last_updated, content)
     , hist AS (INSERT INTO resource_history (resource_type, id, version_id, last_updated, action, content)
                SELECT resource_type, id, 1, last_updated, 'create', content FROM cur)
     , new_tokens AS (INSERT INTO search_token (resource_type, id, last_updated, param, system, value)
                      SELECT cur.resource_type, cur.id, cur.last_updated, u.param, u.system, u.value
                        FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
                             AS u(resource_type, id, param, system, value)
                        JOIN cur ON cur.resource_type = u.resource_type AND cur.id = u.id)
     , new_dates AS (INSERT INTO search_date (resource_type, id, param, low, high)
                     SELECT cur.resource_type, cur.id, u.param, u.low, u.high
                       FROM unnest($10::text[], $11::text[], $12::text[], $13::timestamptz[], $14::timestamptz[])
                            AS u(resource_type, id, param, low, high)
                       JOIN cur ON cur.resource_type = u.resource_type AND cur.id = u.id)
     , new_numbers AS (INSERT INTO search_number (resource_type, id, param, value)
                       SELECT cur.resource_type, cur.id, u.param, u.value
                         FROM unnest($15::text[], $16::text[], $17::text[], $18::numeric[])
                              AS u(resource_type, id, param, value)
                         JOIN cur ON cur.resource_type = u.resource_type AND cur.id = u.id)
     SELECT resource_type, id FROM cur`,
    [
      resources.map((r) => r.resourceType),
      resources.map((r) => r.id),
      resources.map((r) => (r.meta as { lastUpdated: string }).lastUpdated),
      `[${versions.map((v) => v.text).join(',')}]`,
      ...indexColumns(resources),
    ],
  );
  return new Set(rows.map((r) => `${r.resource_type}/${r.id}`));
}

/**
 * Writes a new version of a resource whose current row the caller has locked, in one statement
 * (current row, history row, search index).
 */
export async function writeVersion(q: Queryable, resource: Resource, action: WriteAction): Promise<void> {
  const meta = resource.meta as { versionId: string; lastUpdated: string };
  const deleted = action === 'delete';
  const { tokens, dates, numbers } = deleted
    ? { tokens: [], dates: [], numbers: [] }
    : extractIndex(resource);
  // All parts see one snapshot: the DELETEs remove only the previous version's index rows.
  await q.query(
    `WITH cur AS (UPDATE resources SET version_id = $3, last_updated = $4, deleted = $5, content = $6::json
                   WHERE resource_type = $1 AND id = $2 RETURNING resource_type, id)
     , hist AS (INSERT INTO resource_history (resource_type, id, version_id, last_updated, action, content)
                SELECT resource_type, id, $3, $4, $7, $6::json FROM cur)
     , old_tokens AS (DELETE FROM search_token WHERE resource_type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))
     , old_dates AS (DELETE FROM search_date WHERE resource_type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))
     , old_numbers AS (DELETE FROM search_number WHERE resource_type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))
     , new_tokens AS (INSERT INTO search_token (resource_type, id, last_updated, param, system, value)
                      SELECT cur.resource_type, cur.id, $4, u.* FROM cur, unnest($8::text[], $9::text[], $10::text[]) u)
     , new_dates AS (INSERT INTO search_date (resource_type, id, param, low, high)
                     SELECT cur.resource_type, cur.id, u.* FROM cur, unnest($11::text[], $12::timestamptz[], $13::timestamptz[]) u)
     , new_numbers AS (INSERT INTO search_number (resource_type, id, param, value)
                       SELECT cur.resource_type, cur.id, u.* FROM cur, unnest($14::text[], $15::numeric[]) u)
     SELECT count(*)::int AS n FROM cur`,
    [
      resource.resourceType,
      resource.id,
      Number(meta.versionId),
      meta.lastUpdated,
      deleted,
      deleted ? null : storedText(resource),
      action,
      tokens.map((t) => t.param),
      tokens.map((t) => t.system),
      tokens.map((t) => t.value),
      dates.map((d) => d.param),
      dates.map((d) => d.low),
      dates.map((d) => d.high),
      numbers.map((n) => n.param),
      numbers.map((n) => n.value),
    ],
  );
}

/** A copy with the server-owned meta set; other meta (profile, security, tag) is kept. */
export function stamp<T extends Resource>(resource: T, id: string, version: number, when: Date): T {
  const { resourceType, id: _sent, meta, ...elements } = resource;
  const { versionId: _v, lastUpdated: _l, ...clientMeta } = meta ?? {};
  // Stored as this text (a json column keeps it): FHIR's usual order, resourceType, id and meta first.
  return {
    resourceType,
    id,
    meta: { versionId: String(version), lastUpdated: when.toISOString(), ...clientMeta },
    ...elements,
  } as T;
}

/**
 * The new version's time: now, but strictly after the previous version so history and
 * `_lastUpdated` order agree even when clocks of several processes differ slightly.
 */
export function nextTimestamp(previous: Date): Date {
  const now = Date.now();
  return new Date(Math.max(now, previous.getTime() + 1));
}
