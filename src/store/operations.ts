// The resource operations, written once against a Queryable that is an open transaction
// (writes) or the engine itself (reads and searches).
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { parseIfMatch } from '../shared/etag.ts';
import { FhirError, issue } from '../shared/outcome.ts';
import { checkResource, checkTypeAndId, duplicateId, versionError } from './checks.ts';
import { extractIndex } from './indexing.ts';
import { findReferrers, readHistory, readHistoryPage, readJsonMany, readVersion } from './reads.ts';
import { runSearch } from './search-run.ts';
import type {
  CreateOptions,
  DeleteOptions,
  DeleteResult,
  HistoryEntry,
  HistoryPage,
  HistoryPageOptions,
  Queryable,
  ResourceChange,
  Row,
  SearchJsonResult,
  SearchOptions,
  SearchParams,
  SearchResult,
  StoreHooks,
  StoreTx,
  StoredJson,
  UpdateOptions,
  WriteAction,
  WriteResult,
} from './types.ts';

interface CurrentRow extends Row {
  version_id: number;
  deleted: boolean;
  last_updated: Date;
  content: Resource | null;
}

/** One item of `createMany`. */
export interface CreateItem {
  resource: Resource;
  opts?: CreateOptions;
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
    return JSON.parse((await this.readJson(type, id)).json) as T;
  }

  /** The current version as the stored JSON text (no parse/serialise round trip), with its version. */
  async readJson(type: string, id: string): Promise<StoredJson> {
    const [result] = await readJsonMany(this.q, [{ type, id }]);
    if (result instanceof FhirError) throw result;
    return result;
  }

  vread<T extends Resource = Resource>(type: string, id: string, versionId: string | number): Promise<T> {
    return readVersion<T>(this.q, type, id, versionId);
  }

  history(type: string, id: string): Promise<HistoryEntry[]> {
    return readHistory(this.q, type, id);
  }

  /** Type-level (`type` given) or system-level history, newest first. */
  historyPage(type: string | undefined, opts: HistoryPageOptions): Promise<HistoryPage> {
    return readHistoryPage(this.q, type, opts);
  }

  referrers(type: string, id: string, fromTypes: string[], limit = 10): Promise<string[]> {
    return findReferrers(this.q, type, id, fromTypes, limit);
  }

  async search(type: string, params: SearchParams, opts?: SearchOptions): Promise<SearchResult> {
    const { json, ids: _ids, ...rest } = await this.searchJson(type, params, opts);
    return { ...rest, resources: json.map((text) => JSON.parse(text) as Resource) };
  }

  /** `search` with each match as its stored JSON text, for callers that only pass it on. */
  searchJson(type: string, params: SearchParams, opts?: SearchOptions): Promise<SearchJsonResult> {
    return runSearch(this.q, type, params, opts);
  }

  async create<T extends Resource>(resource: T, opts: CreateOptions = {}): Promise<WriteResult<T>> {
    const [result] = await this.createMany([{ resource, opts }]);
    if (result instanceof FhirError) throw result;
    return result as WriteResult<T>;
  }

  /**
   * Creates many resources with a handful of statements instead of a few per resource: the
   * If-None-Exist locks are taken together, identifier criteria are looked up in one query, and
   * every new resource is inserted by one statement. Each item gets its own result or error; in a
   * transaction the caller decides whether one error fails them all.
   */
  async createMany(items: CreateItem[]): Promise<Array<WriteResult | FhirError>> {
    const results: Array<WriteResult | FhirError | undefined> = new Array(items.length);
    const fail = (i: number, err: unknown) => {
      if (!(err instanceof FhirError)) throw err;
      results[i] = err;
    };
    const conditional: Array<{ i: number; type: string; key: string; params: Record<string, string[]> }> = [];
    const sameAs = new Map<number, number>();
    const toInsert: Array<{ i: number; resource: Resource }> = [];
    const ids = new Set<string>();
    const plan = (i: number) => {
      const { resource, opts = {} } = items[i];
      const type = checkResource(resource);
      let id: string = randomUUID();
      if (opts.keepId && resource.id !== undefined) {
        checkTypeAndId(type, resource.id);
        id = resource.id;
      }
      if (ids.has(`${type}/${id}`)) {
        throw duplicateId(type, id);
      }
      ids.add(`${type}/${id}`);
      toInsert.push({ i, resource: stamp(resource, id, 1, new Date()) });
    };
    items.forEach(({ resource, opts }, i) => {
      try {
        if (opts?.ifNoneExist === undefined) return plan(i);
        const type = checkResource(resource);
        const params = parseCriteria(opts.ifNoneExist, type);
        conditional.push({ i, type, key: `ifNoneExist:${type}?${canonicalCriteria(params)}`, params });
      } catch (err) {
        fail(i, err);
      }
    });

    if (conditional.length) {
      // Locks in one statement, in a fixed order, so two batches never wait on each other in a cycle.
      await this.q.query(
        `SELECT pg_advisory_xact_lock(h) FROM (
           SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k ORDER BY 1) AS locks`,
        [conditional.map((c) => c.key)],
      );
      const matches = await this.matchIdentifiers(conditional);
      const firstByKey = new Map<string, number>();
      for (const c of conditional) {
        try {
          const earlier = firstByKey.get(c.key);
          if (earlier !== undefined) {
            sameAs.set(c.i, earlier);
            continue;
          }
          firstByKey.set(c.key, c.i);
          const found =
            matches.get(c.i) ?? (await this.search(c.type, { ...c.params, _count: '2' })).resources;
          if (found.length > 1) {
            throw FhirError.preconditionFailed(
              `Conditional create: more than one ${c.type} matches '${items[c.i].opts?.ifNoneExist}'`,
            );
          }
          if (found.length === 1) results[c.i] = { resource: found[0], created: false };
          else plan(c.i);
        } catch (err) {
          fail(c.i, err);
        }
      }
    }

    const inserted = await this.insertVersions(toInsert.map((x) => x.resource));
    for (const { i, resource } of toInsert) {
      results[i] = inserted.has(`${resource.resourceType}/${resource.id}`)
        ? { resource, created: true }
        : duplicateId(resource.resourceType, resource.id as string);
    }
    // Same criteria twice in one batch: the later item gets what the first found or made.
    for (const [later, first] of sameAs) {
      const r = results[first] as WriteResult | FhirError;
      results[later] = r instanceof FhirError ? r : { resource: r.resource, created: false };
    }
    return results as Array<WriteResult | FhirError>;
  }

  /**
   * Resources matching `identifier=system|value` criteria, for all such items in one query. Items
   * with other criteria are left out (the caller searches for them one by one).
   */
  private async matchIdentifiers(
    items: Array<{ i: number; type: string; params: Record<string, string[]> }>,
  ): Promise<Map<number, Resource[]>> {
    const simple = items.flatMap((c) => {
      const ident = c.params.identifier;
      if (Object.keys(c.params).length !== 1 || ident?.length !== 1) return [];
      const value = ident[0];
      const bar = value.indexOf('|');
      if (bar <= 0 || bar === value.length - 1 || value.indexOf('|', bar + 1) >= 0) return [];
      return [{ i: c.i, type: c.type, system: value.slice(0, bar), value: value.slice(bar + 1) }];
    });
    const out = new Map<number, Resource[]>();
    if (!simple.length) return out;
    const rows = await this.q.query<{
      resource_type: string;
      system: string;
      value: string;
      content: Resource;
    }>(
      `SELECT k.resource_type, k.system, k.value, r.content
         FROM search_token k JOIN resources r ON r.resource_type = k.resource_type AND r.id = k.id
        WHERE (k.resource_type, k.system, k.value) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))
          AND k.param = 'identifier' AND NOT r.deleted`,
      [simple.map((c) => c.type), simple.map((c) => c.system), simple.map((c) => c.value)],
    );
    const byKey = new Map<string, Resource[]>();
    for (const r of rows) {
      const key = `${r.resource_type}\u0000${r.system}\u0000${r.value}`;
      byKey.set(key, [...(byKey.get(key) ?? []), r.content]);
    }
    for (const c of simple) out.set(c.i, byKey.get(`${c.type}\u0000${c.system}\u0000${c.value}`) ?? []);
    return out;
  }

  async update<T extends Resource>(resource: T, opts: UpdateOptions = {}): Promise<WriteResult<T>> {
    const type = checkResource(resource);
    if (resource.id === undefined)
      throw FhirError.badRequest(`${type}.id is required for an update`, `${type}.id`);
    const id = resource.id;
    checkTypeAndId(type, id);
    const expected = opts.ifMatch === undefined ? undefined : parseIfMatch(opts.ifMatch);
    let current = await this.lockCurrent(type, id);
    if (!current && opts.noCreate) {
      throw new FhirError(
        405,
        issue(
          'error',
          'not-supported',
          `${type}/${id} does not exist, and update cannot create it; POST to create`,
          `${type}.id`,
        ),
      );
    }
    if (!current) {
      if (expected !== undefined) {
        throw versionError(412, `${type}/${id} does not exist (If-Match ${opts.ifMatch})`, type);
      }
      const stored = stamp(resource, id, 1, new Date());
      if ((await this.insertVersions([stored])).size) return { resource: stored, created: true };
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
    await this.writeVersion(stored, current.deleted ? 'create' : 'update');
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
    await this.writeVersion(stub, 'delete');
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
   * Inserts version 1 of each resource in one statement (current rows, history, search index), then
   * runs the hooks for each. Returns the `Type/id` keys inserted; an id that already exists is
   * skipped, and the caller reports it.
   */
  private async insertVersions(resources: Resource[]): Promise<Set<string>> {
    if (!resources.length) return new Set();
    // One row per index value, sent as one array per column (unnest turns them back into rows).
    const tokens: string[][] = [];
    const dates: string[][] = [];
    for (const r of resources) {
      const index = extractIndex(r);
      for (const t of index.tokens) tokens.push([r.resourceType, r.id as string, t.param, t.system, t.value]);
      for (const d of index.dates) dates.push([r.resourceType, r.id as string, d.param, d.low, d.high]);
    }
    const column = (rows: string[][], i: number) => rows.map((row) => row[i]);
    const rows = await this.q.query<{ resource_type: string; id: string }>(
      // The contents travel as one JSON array: a text[] parameter would escape every quote in them.
      `WITH input AS (
         SELECT u.resource_type, u.id, u.last_updated, c.content
           FROM unnest($1::text[], $2::text[], $3::timestamptz[]) WITH ORDINALITY AS u(resource_type, id, last_updated, n)
           JOIN jsonb_array_elements($4::jsonb) WITH ORDINALITY AS c(content, n) USING (n))
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
       SELECT resource_type, id FROM cur`,
      [
        resources.map((r) => r.resourceType),
        resources.map((r) => r.id),
        resources.map((r) => (r.meta as { lastUpdated: string }).lastUpdated),
        `[${resources.map((r) => JSON.stringify(r)).join(',')}]`,
        ...[0, 1, 2, 3, 4].map((i) => column(tokens, i)),
        ...[0, 1, 2, 3, 4].map((i) => column(dates, i)),
      ],
    );
    const inserted = new Set(rows.map((r) => `${r.resource_type}/${r.id}`));
    const changes = resources
      .filter((r) => inserted.has(`${r.resourceType}/${r.id}`))
      .map((resource) => ({ action: 'create' as const, resource }));
    await this.runHooks(changes);
    return inserted;
  }

  /**
   * Writes a new version of a resource whose current row the caller has locked, in one statement
   * (current row, history row, search index), then runs the hooks.
   */
  private async writeVersion(resource: Resource, action: WriteAction): Promise<void> {
    const meta = resource.meta as { versionId: string; lastUpdated: string };
    const deleted = action === 'delete';
    const { tokens, dates } = deleted ? { tokens: [], dates: [] } : extractIndex(resource);
    // All parts see one snapshot: the DELETEs remove only the previous version's index rows.
    await this.q.query(
      `WITH cur AS (UPDATE resources SET version_id = $3, last_updated = $4, deleted = $5, content = $6::jsonb
                     WHERE resource_type = $1 AND id = $2 RETURNING resource_type, id)
       , hist AS (INSERT INTO resource_history (resource_type, id, version_id, last_updated, action, content)
                  SELECT resource_type, id, $3, $4, $7, $6::jsonb FROM cur)
       , old_tokens AS (DELETE FROM search_token WHERE resource_type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))
       , old_dates AS (DELETE FROM search_date WHERE resource_type = $1 AND id = $2 AND EXISTS (SELECT 1 FROM cur))
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
    await this.runHooks([{ action, resource }]);
  }

  /** Every hook sees every write: all of a statement's writes at once where it can take them. */
  private async runHooks(changes: ResourceChange[]): Promise<void> {
    if (!changes.length) return;
    for (const h of this.hooks()) {
      if (h.afterWriteMany) await h.afterWriteMany(this, changes);
      else if (h.afterWrite) for (const change of changes) await h.afterWrite(this, change);
    }
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
