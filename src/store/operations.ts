// The resource operations, written once against a Queryable that is an open transaction
// (writes) or the engine itself (reads and searches).
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { FhirError, issue } from '../shared/outcome.ts';
import { extractIndex } from './indexing.ts';
import { compileSearch, encodeCursor } from './search.ts';
import type {
  CreateOptions,
  DeleteOptions,
  DeleteResult,
  HistoryEntry,
  Queryable,
  Row,
  SearchOptions,
  SearchParams,
  SearchResult,
  StoreHooks,
  StoreTx,
  UpdateOptions,
  WriteAction,
  WriteResult,
} from './types.ts';

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;
const TYPE_RE = /^[A-Z][A-Za-z]{1,63}$/;

interface CurrentRow extends Row {
  version_id: number;
  deleted: boolean;
  last_updated: Date;
  content: Resource | null;
}

export class Operations implements StoreTx {
  constructor(
    private readonly q: Queryable,
    private readonly hooks: () => StoreHooks[],
    /** Runs fn in a write transaction; inside one this is the identity. */
    private readonly inTransaction: <T>(fn: (tx: StoreTx) => Promise<T>) => Promise<T>,
  ) {}

  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.q.query<T>(sql, params);
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.inTransaction(fn);
  }

  async read<T extends Resource = Resource>(type: string, id: string): Promise<T> {
    checkTypeAndId(type, id);
    const rows = await this.q.query<CurrentRow>(
      'SELECT version_id, deleted, last_updated, content FROM resources WHERE resource_type = $1 AND id = $2',
      [type, id],
    );
    const row = rows[0];
    if (!row) throw FhirError.notFound(`${type}/${id} not found`);
    if (row.deleted) throw FhirError.gone(`${type}/${id} was deleted (version ${row.version_id})`);
    return row.content as T;
  }

  async vread<T extends Resource = Resource>(
    type: string,
    id: string,
    versionId: string | number,
  ): Promise<T> {
    checkTypeAndId(type, id);
    const version = Number(versionId);
    if (!Number.isInteger(version) || version < 1) {
      throw FhirError.badRequest(
        `Invalid version id '${versionId}' (expected a positive integer)`,
        'Resource.meta.versionId',
      );
    }
    const rows = await this.q.query<{ action: WriteAction; content: Resource | null }>(
      'SELECT action, content FROM resource_history WHERE resource_type = $1 AND id = $2 AND version_id = $3',
      [type, id, version],
    );
    const row = rows[0];
    if (!row) throw FhirError.notFound(`${type}/${id}/_history/${version} not found`);
    if (row.action === 'delete') throw FhirError.gone(`${type}/${id}/_history/${version} is a deletion`);
    return row.content as T;
  }

  async history(type: string, id: string): Promise<HistoryEntry[]> {
    checkTypeAndId(type, id);
    const rows = await this.q.query<{
      version_id: number;
      last_updated: Date;
      action: WriteAction;
      content: Resource | null;
    }>(
      `SELECT version_id, last_updated, action, content FROM resource_history
        WHERE resource_type = $1 AND id = $2 ORDER BY version_id DESC`,
      [type, id],
    );
    if (!rows.length) throw FhirError.notFound(`${type}/${id} not found`);
    return rows.map((r) => ({
      versionId: String(r.version_id),
      lastUpdated: r.last_updated.toISOString(),
      action: r.action,
      ...(r.content ? { resource: r.content } : {}),
    }));
  }

  async search(type: string, params: SearchParams, opts?: SearchOptions): Promise<SearchResult> {
    if (!TYPE_RE.test(type)) throw FhirError.badRequest(`Invalid resource type '${type}'`, 'resourceType');
    const s = compileSearch(type, params, opts);
    const values = [...s.values];
    const bind = (v: unknown) => {
      values.push(v);
      return `$${values.length}`;
    };
    let where = s.where;
    const k = s.sortAlias;
    if (s.cursor) {
      where += ` AND (${k}.last_updated, ${k}.id) ${s.desc ? '<' : '>'} (${bind(s.cursor.lastUpdated)}::timestamptz, ${bind(s.cursor.id)})`;
    }
    const dir = s.desc ? 'DESC' : 'ASC';
    const sql = `SELECT r.id, r.last_updated, r.content FROM ${s.from} WHERE ${where}
      ORDER BY ${k}.last_updated ${dir}, ${k}.id ${dir} LIMIT ${bind(s.count + 1)} OFFSET ${bind(s.offset)}`;
    const [rows, total] = await Promise.all([
      s.count > 0 ? this.q.query<{ id: string; last_updated: Date; content: Resource }>(sql, values) : [],
      s.total
        ? this.q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s.from} WHERE ${s.where}`, s.values)
        : undefined,
    ]);
    const page = rows.slice(0, s.count);
    const result: SearchResult = {
      resources: page.map((r) => r.content),
      offset: s.offset,
      count: s.count,
      ignored: s.ignored,
    };
    if (total) result.total = total[0].n;
    if (rows.length > s.count) {
      const lastRow = page[page.length - 1];
      result.nextCursor = encodeCursor({
        lastUpdated: lastRow.last_updated.toISOString(),
        id: lastRow.id,
        desc: s.desc,
      });
    }
    return result;
  }

  async create<T extends Resource>(resource: T, opts: CreateOptions = {}): Promise<WriteResult<T>> {
    const type = checkResource(resource);
    if (opts.ifNoneExist !== undefined) {
      const params = parseCriteria(opts.ifNoneExist, type);
      // Serialises conditional creates with the same criteria across connections and processes;
      // the lock is held until commit, so the next holder's search sees the committed resource.
      await this.q.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `ifNoneExist:${type}?${canonicalCriteria(params)}`,
      ]);
      const found = await this.search(type, { ...params, _count: '2' });
      if (found.resources.length > 1) {
        throw FhirError.preconditionFailed(
          `Conditional create: more than one ${type} matches '${opts.ifNoneExist}'`,
        );
      }
      if (found.resources.length === 1) return { resource: found.resources[0] as T, created: false };
    }
    let id: string;
    if (opts.keepId && resource.id !== undefined) {
      checkTypeAndId(type, resource.id);
      id = resource.id;
    } else {
      id = randomUUID();
    }
    const stored = stamp(resource, id, 1, new Date());
    if (!(await this.writeVersion('insert', stored, 'create')))
      throw new FhirError(409, issue('error', 'duplicate', `${type}/${id} already exists`, `${type}.id`));
    return { resource: stored, created: true };
  }

  async update<T extends Resource>(resource: T, opts: UpdateOptions = {}): Promise<WriteResult<T>> {
    const type = checkResource(resource);
    if (resource.id === undefined)
      throw FhirError.badRequest(`${type}.id is required for an update`, `${type}.id`);
    const id = resource.id;
    checkTypeAndId(type, id);
    const expected = opts.ifMatch === undefined ? undefined : parseIfMatch(opts.ifMatch);
    let current = await this.lockCurrent(type, id);
    if (!current) {
      if (expected !== undefined) {
        throw versionError(412, `${type}/${id} does not exist (If-Match ${opts.ifMatch})`, type);
      }
      const stored = stamp(resource, id, 1, new Date());
      if (await this.writeVersion('insert', stored, 'create')) return { resource: stored, created: true };
      // A concurrent PUT created it first: continue as an update of that version.
      current = await this.lockCurrent(type, id);
      if (!current) throw new Error(`${type}/${id} vanished during update`);
    }
    if (expected === undefined && !current.deleted && !opts.ifMatchOptional) {
      throw versionError(428, `If-Match is required to update ${type}/${id}`, type);
    }
    if (expected !== undefined && expected !== current.version_id) {
      throw versionError(
        412,
        `Version conflict on ${type}/${id}: If-Match is ${expected} but the current version is ${current.version_id}`,
        type,
      );
    }
    const version = current.version_id + 1;
    const stored = stamp(resource, id, version, nextTimestamp(current.last_updated));
    await this.writeVersion('update', stored, current.deleted ? 'create' : 'update');
    return { resource: stored, created: current.deleted };
  }

  async delete(type: string, id: string, opts: DeleteOptions = {}): Promise<DeleteResult> {
    checkTypeAndId(type, id);
    const expected = opts.ifMatch === undefined ? undefined : parseIfMatch(opts.ifMatch);
    const current = await this.lockCurrent(type, id);
    if (!current) throw FhirError.notFound(`${type}/${id} not found`);
    if (current.deleted) {
      return {
        versionId: String(current.version_id),
        lastUpdated: current.last_updated.toISOString(),
        deleted: false,
      };
    }
    if (expected !== undefined && expected !== current.version_id) {
      throw versionError(
        412,
        `Version conflict on ${type}/${id}: If-Match is ${expected} but the current version is ${current.version_id}`,
        type,
      );
    }
    const version = current.version_id + 1;
    const now = nextTimestamp(current.last_updated);
    const stub = {
      resourceType: type,
      id,
      meta: { versionId: String(version), lastUpdated: now.toISOString() },
    } as Resource;
    await this.writeVersion('update', stub, 'delete');
    return { versionId: String(version), lastUpdated: now.toISOString(), deleted: true };
  }

  private async lockCurrent(type: string, id: string): Promise<CurrentRow | undefined> {
    const rows = await this.q.query<CurrentRow>(
      `SELECT version_id, deleted, last_updated FROM resources
        WHERE resource_type = $1 AND id = $2 FOR UPDATE`,
      [type, id],
    );
    return rows[0];
  }

  /**
   * Writes one version in a single statement (current row, history row, search index), then runs
   * the hooks. `insert` does nothing and returns false when the id exists; `update` overwrites the
   * current row, which the caller has locked.
   */
  private async writeVersion(
    mode: 'insert' | 'update',
    resource: Resource,
    action: WriteAction,
  ): Promise<boolean> {
    const meta = resource.meta as { versionId: string; lastUpdated: string };
    const deleted = action === 'delete';
    const { tokens, dates } = deleted ? { tokens: [], dates: [] } : extractIndex(resource);
    const current =
      mode === 'insert'
        ? `INSERT INTO resources (resource_type, id, version_id, last_updated, deleted, content)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT DO NOTHING RETURNING resource_type, id`
        : `UPDATE resources SET version_id = $3, last_updated = $4, deleted = $5, content = $6::jsonb
            WHERE resource_type = $1 AND id = $2 RETURNING resource_type, id`;
    // All parts see one snapshot: the DELETEs remove only the previous version's index rows.
    const clearIndex =
      mode === 'insert'
        ? ''
        : `, old_tokens AS (DELETE FROM search_token WHERE resource_type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))
           , old_dates AS (DELETE FROM search_date WHERE resource_type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))`;
    const rows = await this.q.query<{ n: number }>(
      `WITH cur AS (${current})
       , hist AS (INSERT INTO resource_history (resource_type, id, version_id, last_updated, action, content)
                  SELECT resource_type, id, $3, $4, $7, $6::jsonb FROM cur)
       ${clearIndex}
       , new_tokens AS (INSERT INTO search_token (resource_type, id, last_updated, param, system, value)
                        SELECT cur.resource_type, cur.id, $4, u.* FROM cur, unnest($8::text[], $9::text[], $10::text[]) u)
       , new_dates AS (INSERT INTO search_date (resource_type, id, param, low, high)
                       SELECT cur.resource_type, cur.id, u.* FROM cur, unnest($11::text[], $12::timestamptz[], $13::timestamptz[]) u)
       SELECT count(*)::int AS n FROM cur`,
      [
        resource.resourceType,
        resource.id,
        Number(meta.versionId),
        meta.lastUpdated,
        deleted,
        deleted ? null : JSON.stringify(resource),
        action,
        tokens.map((t) => t.param),
        tokens.map((t) => t.system),
        tokens.map((t) => t.value),
        dates.map((d) => d.param),
        dates.map((d) => d.low),
        dates.map((d) => d.high),
      ],
    );
    if (rows[0].n === 0) return false;
    for (const h of this.hooks()) {
      if (h.afterWrite) await h.afterWrite(this, { action, resource });
    }
    return true;
  }
}

/** 412/428: the version precondition, located at the resource's meta.versionId. */
function versionError(status: 412 | 428, diagnostics: string, type: string): FhirError {
  const code = status === 428 ? 'required' : 'conflict';
  return new FhirError(status, issue('error', code, diagnostics, `${type}.meta.versionId`));
}

function checkResource(resource: Resource): string {
  const type = (resource as { resourceType?: unknown } | null)?.resourceType;
  if (typeof type !== 'string' || !TYPE_RE.test(type)) {
    throw FhirError.badRequest(`Missing or invalid resourceType`, 'resourceType');
  }
  return type;
}

function checkTypeAndId(type: string, id: string): void {
  if (!TYPE_RE.test(type)) throw FhirError.badRequest(`Invalid resource type '${type}'`, 'resourceType');
  if (typeof id !== 'string' || !ID_RE.test(id)) {
    throw FhirError.badRequest(`Invalid id '${id}' (1-64 of A-Z a-z 0-9 - .)`, `${type}.id`);
  }
}

/** A copy with the server-owned meta set; other meta (profile, security, tag) is kept. */
function stamp<T extends Resource>(resource: T, id: string, version: number, when: Date): T {
  return {
    ...resource,
    id,
    meta: { ...resource.meta, versionId: String(version), lastUpdated: when.toISOString() },
  };
}

/**
 * The new version's time: now, but strictly after the previous version so history and
 * `_lastUpdated` order agree even when clocks of several processes differ slightly.
 */
function nextTimestamp(previous: Date): Date {
  const now = Date.now();
  return new Date(Math.max(now, previous.getTime() + 1));
}

export function parseIfMatch(value: string): number {
  const m = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(value);
  if (!m || Number(m[1]) < 1) {
    throw new FhirError(
      400,
      issue('error', 'invalid', `Invalid If-Match '${value}' (expected W/"<versionId>")`, 'If-Match'),
    );
  }
  return Number(m[1]);
}

/** `identifier=sys|val&status=final` (optionally prefixed `Type?`) → search parameters. */
function parseCriteria(criteria: string, type: string): Record<string, string[]> {
  let text = criteria.trim();
  const q = text.indexOf('?');
  if (q >= 0) {
    const prefix = text.slice(0, q);
    if (prefix !== type && prefix !== '') {
      throw FhirError.badRequest(
        `If-None-Exist criteria '${criteria}' are for ${prefix}, not ${type}`,
        'If-None-Exist',
      );
    }
    text = text.slice(q + 1);
  }
  const params: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    if (k.startsWith('_') && k !== '_id' && k !== '_lastUpdated') {
      throw FhirError.badRequest(`If-None-Exist criteria may not use '${k}'`, 'If-None-Exist');
    }
    params[k] = [...(params[k] ?? []), v];
  }
  if (!Object.keys(params).length) {
    throw FhirError.badRequest(`If-None-Exist criteria '${criteria}' are empty`, 'If-None-Exist');
  }
  return params;
}

function canonicalCriteria(params: Record<string, string[]>): string {
  return Object.keys(params)
    .sort()
    .map((k) => `${k}=${[...params[k]].sort().join('&')}`)
    .join('&');
}
