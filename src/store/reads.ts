// Reads of current and historical versions, straight from the tables (no transaction needed).
import type { Resource } from '@medplum/fhirtypes';
import { parseAsWritten } from '../shared/json-text.ts';
import { FhirError, issue } from '../shared/outcome.ts';
import { checkTypeAndId, checkVersionId } from './checks.ts';
import { referenceRowParams } from './indexing.ts';
import type { HistoryEntry, Queryable, Row, StoredJson, WriteAction } from './types.ts';

/**
 * A scalar SQL subquery for the stored content of one version, for stages that keep a version's
 * reference in their own tables and read its content in their own statement (the sync's outbox).
 * The arguments are SQL expressions of the caller's statement; history rows never change. Its value
 * is the JSON text.
 */
export function versionContentSql(typeExpr: string, idExpr: string, versionExpr: string): string {
  return `(SELECT h.content::text FROM resource_history h
    WHERE h.resource_type = ${typeExpr} AND h.id = ${idExpr} AND h.version_id = ${versionExpr})`;
}

export interface JsonRow extends Row {
  resource_type: string;
  id: string;
  version_id: number;
  deleted: boolean;
  last_updated: Date;
  content: string | null;
}

/** Current rows with their content as text; callers add the WHERE clause. */
export const SELECT_JSON =
  'SELECT resource_type, id, version_id, deleted, last_updated, content::text AS content FROM resources';

/** The stored JSON of a current row, or the FHIR error for a missing or deleted one. */
export function currentJson(type: string, id: string, row: JsonRow | undefined): StoredJson {
  if (!row) throw FhirError.notFound(`${type}/${id} not found`);
  if (row.deleted || row.content === null) {
    throw FhirError.gone(`${type}/${id} was deleted (version ${row.version_id})`);
  }
  // The column holds the instant of meta.lastUpdated, which the store writes with toISOString.
  return {
    json: row.content,
    versionId: String(row.version_id),
    lastUpdated: row.last_updated.toISOString(),
  };
}

/** Reads many current rows in one statement; the result is in the order of `keys`. */
export async function readJsonMany(
  q: Queryable,
  keys: ReadonlyArray<{ type: string; id: string }>,
): Promise<Array<StoredJson | FhirError>> {
  // An invalid type or id matches no row and gets its 400 below.
  const rows =
    keys.length === 1
      ? await q.query<JsonRow>(`${SELECT_JSON} WHERE resource_type = $1 AND id = $2`, [
          keys[0].type,
          keys[0].id,
        ])
      : await q.query<JsonRow>(
          `${SELECT_JSON} WHERE (resource_type, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
          [keys.map((k) => k.type), keys.map((k) => k.id)],
        );
  const found = new Map(rows.map((r) => [`${r.resource_type}/${r.id}`, r]));
  return keys.map(({ type, id }) => {
    try {
      checkTypeAndId(type, id);
      return currentJson(type, id, found.get(`${type}/${id}`));
    } catch (err) {
      if (err instanceof FhirError) return err;
      throw err;
    }
  });
}

/**
 * Which of `refs` name nothing stored, in one statement: a `Type/id` no current resource (absent or
 * deleted), a `Type/id/_history/v` no stored version (a deletion is none). It also locks the current
 * row of every `Type/id` named (`FOR KEY SHARE`, in one sorted order; inside a transaction until it
 * ends): a delete (`FOR UPDATE`) waits for the write that checked its references to commit, and a
 * write checking while a delete holds the row waits for it and finds the resource deleted. Updates
 * (`FOR NO KEY UPDATE`) do not wait for it, nor it for them.
 */
export async function absentRefs(q: Queryable, refs: readonly string[]): Promise<string[]> {
  if (!refs.length) return [];
  const rows = { types: [] as string[], ids: [] as string[] };
  const versions = { types: [] as string[], ids: [] as string[], versions: [] as string[] };
  for (const ref of refs) {
    const [type = '', id = '', , version] = ref.split('/');
    rows.types.push(type);
    rows.ids.push(id);
    // A version id that is not a number names no version here (and would not cast).
    if (version !== undefined && /^[1-9][0-9]{0,8}$/.test(version)) {
      versions.types.push(type);
      versions.ids.push(id);
      versions.versions.push(version);
    }
  }
  const found = await q.query<{ ref: string }>(
    // A locking read returns a row's newest version once its locker commits: a deleted one then.
    `WITH locked AS (
       SELECT resource_type, id, deleted FROM resources
        WHERE (resource_type, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
        ORDER BY resource_type, id FOR KEY SHARE)
     SELECT resource_type || '/' || id AS ref FROM locked WHERE NOT deleted
     UNION ALL
     SELECT resource_type || '/' || id || '/_history/' || version_id FROM resource_history WHERE action <> 'delete'
       AND (resource_type, id, version_id) IN (SELECT * FROM unnest($3::text[], $4::text[], $5::int[]))`,
    [rows.types, rows.ids, versions.types, versions.ids, versions.versions],
  );
  const present = new Set(found.map((r) => r.ref));
  return refs.filter((r) => !present.has(r));
}

export interface HistoryRow extends Row {
  version_id: number;
  last_updated: Date;
  action: WriteAction;
  /** `content::text`: parsed here, so that numbers keep how they were written (`1.50`). */
  content: string | null;
}

export function historyEntry(r: HistoryRow): HistoryEntry {
  return {
    versionId: String(r.version_id),
    lastUpdated: r.last_updated.toISOString(),
    action: r.action,
    ...(r.content ? { resource: parseAsWritten(r.content) as Resource } : {}),
  };
}

export async function readVersion<T extends Resource = Resource>(
  q: Queryable,
  type: string,
  id: string,
  versionId: string | number,
): Promise<T> {
  checkTypeAndId(type, id);
  const version = checkVersionId(type, versionId);
  // Versions are 32-bit integers in the database: a larger one cannot exist.
  if (version > 2_147_483_647) throw FhirError.notFound(`${type}/${id}/_history/${versionId} not found`);
  const rows = await q.query<{ action: WriteAction; content: string | null }>(
    'SELECT action, content::text AS content FROM resource_history WHERE resource_type = $1 AND id = $2 AND version_id = $3',
    [type, id, version],
  );
  const row = rows[0];
  if (!row) throw FhirError.notFound(`${type}/${id}/_history/${version} not found`);
  if (row.action === 'delete' || row.content === null)
    throw FhirError.gone(`${type}/${id}/_history/${version} is a deletion`);
  return parseAsWritten(row.content) as T;
}

export async function readHistory(q: Queryable, type: string, id: string): Promise<HistoryEntry[]> {
  checkTypeAndId(type, id);
  const rows = await q.query<HistoryRow>(
    `SELECT version_id, last_updated, action, content::text AS content FROM resource_history
      WHERE resource_type = $1 AND id = $2 ORDER BY version_id DESC`,
    [type, id],
  );
  if (!rows.length) throw FhirError.notFound(`${type}/${id} not found`);
  return rows.map(historyEntry);
}

/**
 * Current resources of `fromTypes` (other than `type/id` itself) with a literal reference to
 * `type/id` in any element (at most `limit`, as `Type/id`), for a delete policy that keeps
 * references intact.
 */
export async function findReferrers(
  q: Queryable,
  type: string,
  id: string,
  fromTypes: string[] | undefined,
  limit = 10,
): Promise<string[]> {
  checkTypeAndId(type, id);
  const byType = fromTypes ? 'resource_type = ANY($5::text[]) AND ' : '';
  const rows = await q.query<{ resource_type: string; id: string }>(
    `SELECT DISTINCT resource_type, id FROM search_token
      WHERE ${byType}param = ANY($1::text[]) AND value = $2 AND system = $3
        AND NOT (resource_type = $3 AND id = $2)
      ORDER BY resource_type, id LIMIT $4`,
    [referenceRowParams(), id, type, limit, ...(fromTypes ? [fromTypes] : [])],
  );
  return rows.map((r) => `${r.resource_type}/${r.id}`);
}

/**
 * A resource that current resources still reference (through the references we index) is not
 * deleted: 409 naming up to ten referrers. Checked once the delete holds the resource's row (a write
 * adding a reference locks it too, `absentRefs`): the store's `delete(…, { unreferenced: true })`
 * before it writes (the sync's remote deletes), the facade's DELETE or batch entry right after its
 * delete in the same transaction (through the caller's store, which names only referrers it may
 * read), a transaction Bundle after all its entries (so it may delete a resource together with its
 * referrers).
 */
export async function assertUnreferenced(
  store: { referrers(type: string, id: string, fromTypes?: string[], limit?: number): Promise<string[]> },
  type: string,
  id: string,
): Promise<void> {
  const referrers = await store.referrers(type, id, undefined, 10);
  if (!referrers.length) return;
  throw new FhirError(
    409,
    issue(
      'error',
      'conflict',
      `${type}/${id} is still referenced by ${referrers.join(', ')}${referrers.length === 10 ? ' and possibly more' : ''}; delete or update those first`,
      `${type}.id`,
    ),
  );
}
