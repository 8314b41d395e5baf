// The resource operations, written once against a Queryable that is an open transaction
// (writes) or the engine itself (reads and searches).
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { parseIfMatch } from '../shared/etag.ts';
import { parseAsWritten } from '../shared/json-text.ts';
import { FhirError, issue } from '../shared/outcome.ts';
import {
  checkExpectedVersion,
  checkResource,
  checkTypeAndId,
  duplicateId,
  ifMatchRequired,
  missingTargets,
  multipleMatches,
  requireTargets,
  versionError,
} from './checks.ts';
import {
  conditionalLockKey,
  conditionalLockKeys,
  findByIdentifiers,
  identifierLockKey,
  identifierRounds,
  identifiersHeld,
  lockConditionalKeys,
  matchIdentifierCriteria,
  parseCriteria,
} from './conditional.ts';
import { readHistoryPage } from './history-page.ts';
import {
  absentRefs,
  assertUnreferenced,
  findReferrers,
  readHistory,
  readJsonMany,
  readVersion,
} from './reads.ts';
import { runSearch } from './search-run.ts';
import type {
  CreateManyOptions,
  CreateOptions,
  DeleteOptions,
  DeleteResult,
  FindByIdentifiersOptions,
  HistoryEntry,
  HistoryPage,
  HistoryPageOptions,
  Queryable,
  ReferenceTarget,
  ResourceChange,
  Row,
  SearchJsonResult,
  SearchOptions,
  SearchParams,
  SearchResult,
  StoreHooks,
  StoreTx,
  StoredJson,
  UniqueIdentifiers,
  UpdateOptions,
  WriteAction,
  WriteResult,
} from './types.ts';
import {
  type NewVersion,
  changesNothing,
  insertVersions,
  lockCurrent,
  nextTimestamp,
  stamp,
  storedText,
  writeVersion,
} from './writes.ts';

/** One item of `createMany`. */
export interface CreateItem {
  resource: Resource;
  opts?: CreateOptions;
}

/** A conditional item of `createMany`: its index, type, criteria key, locks and parsed criteria. */
interface Conditional {
  i: number;
  type: string;
  /** Items with the same key have the same criteria. */
  key: string;
  locks: string[];
  params: Record<string, string[]>;
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

  /** The caller's advisory locks, until the transaction ends (`StoreTx.lock`; the store refuses it). */
  lock(keys: readonly string[]): Promise<void> {
    return lockConditionalKeys(this.q, keys);
  }

  async read<T extends Resource = Resource>(type: string, id: string): Promise<T> {
    return parseAsWritten((await this.readJson(type, id)).json) as T;
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

  referrers(type: string, id: string, fromTypes?: string[], limit = 10): Promise<string[]> {
    return findReferrers(this.q, type, id, fromTypes, limit);
  }

  absent(refs: readonly string[]): Promise<string[]> {
    return absentRefs(this.q, refs);
  }

  async search(type: string, params: SearchParams, opts?: SearchOptions): Promise<SearchResult> {
    const { json, ids: _ids, ...rest } = await this.searchJson(type, params, opts);
    return { ...rest, resources: json.map((text) => parseAsWritten(text) as Resource) };
  }

  /** `search` with each match as its stored JSON text, for callers that only pass it on. */
  searchJson(type: string, params: SearchParams, opts?: SearchOptions): Promise<SearchJsonResult> {
    return runSearch(this.q, type, params, opts);
  }

  /**
   * The items whose reference targets (`opts.targets`) all name current resources, found in one
   * statement; each other item fails with `store-ref-1` naming its missing targets.
   */
  private async withTargets<X extends { i: number }>(
    queued: X[],
    targetsOf: (i: number) => readonly ReferenceTarget[] | undefined,
    fail: (i: number, err: unknown) => void,
  ): Promise<X[]> {
    const refs = [...new Set(queued.flatMap((x) => (targetsOf(x.i) ?? []).map((t) => t.ref)))];
    if (!refs.length) return queued;
    const absent = new Set(await absentRefs(this.q, refs));
    if (!absent.size) return queued;
    return queued.filter((x) => {
      const missing = (targetsOf(x.i) ?? []).filter((t) => absent.has(t.ref));
      if (missing.length) fail(x.i, missingTargets(missing));
      return !missing.length;
    });
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
   * transaction the caller decides whether one error fails them all. With `opts.resolved`, the
   * caller learns what each conditional item resolved to before anything is inserted, and gives the
   * resources to insert then (a transaction Bundle's references to a matched entry).
   *
   * A conditional item naming an identifier value that an earlier item names under other criteria
   * may match what that one creates: without `opts.resolved` it goes in a later round (all rounds'
   * locks taken first, together), whose look-up sees what the rounds before inserted.
   */
  async createMany(
    items: CreateItem[],
    opts: CreateManyOptions = {},
  ): Promise<Array<WriteResult | FhirError>> {
    const { rounds, locks } = opts.resolved ? { rounds: [], locks: [] } : identifierRounds(items);
    if (rounds.length <= 1) return this.createRound(items, opts);
    await lockConditionalKeys(this.q, locks);
    const results: Array<WriteResult | FhirError> = new Array(items.length);
    for (const round of rounds) {
      const done = await this.createRound(
        round.map((i) => items[i]),
        opts,
      );
      round.forEach((i, k) => {
        results[i] = done[k];
      });
    }
    return results;
  }

  /** One round of `createMany`: every item of `items` looked up, then inserted, together. */
  private async createRound(
    items: CreateItem[],
    opts: CreateManyOptions,
  ): Promise<Array<WriteResult | FhirError>> {
    const results: Array<WriteResult | FhirError | undefined> = new Array(items.length);
    const fail = (i: number, err: unknown) => {
      if (!(err instanceof FhirError)) throw err;
      results[i] = err;
    };
    const toCreate: number[] = [];
    const conditional: Conditional[] = [];
    items.forEach(({ resource, opts: itemOpts }, i) => {
      try {
        if (itemOpts?.ifNoneExist === undefined) {
          toCreate.push(i);
          return;
        }
        const type = checkResource(resource);
        const params = parseCriteria(itemOpts.ifNoneExist, type);
        const locks = conditionalLockKeys(type, params);
        conditional.push({ i, type, key: conditionalLockKey(type, params), locks, params });
      } catch (err) {
        fail(i, err);
      }
    });
    const sameAs = await this.matchConditionals(conditional, results, toCreate, fail);
    const ids = this.assignIds(items, toCreate, fail);
    await this.refuseTaken(items, ids, fail);
    const toInsert = this.versionsToInsert(items, ids, sameAs, results, opts, fail);

    const ready = await this.withTargets(toInsert, (i) => items[i].opts?.targets, fail);
    const inserted = await this.insertVersions(ready);
    for (const { i, resource } of ready) {
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
   * Looks up the conditional items under their locks (held until the transaction ends): a match is
   * its item's result, no match queues it in `toCreate`. Returns the items whose criteria an earlier
   * item of the batch has (later → first).
   */
  private async matchConditionals(
    conditional: Conditional[],
    results: Array<WriteResult | FhirError | undefined>,
    toCreate: number[],
    fail: (i: number, err: unknown) => void,
  ): Promise<Map<number, number>> {
    const sameAs = new Map<number, number>();
    if (!conditional.length) return sameAs;
    await lockConditionalKeys(
      this.q,
      conditional.flatMap((c) => c.locks),
    );
    const matches = await matchIdentifierCriteria(this.q, conditional);
    const firstByKey = new Map<string, number>();
    for (const c of conditional) {
      try {
        const earlier = firstByKey.get(c.key);
        if (earlier !== undefined) {
          sameAs.set(c.i, earlier);
          continue;
        }
        firstByKey.set(c.key, c.i);
        const found = matches.get(c.i) ?? (await this.search(c.type, { ...c.params, _count: '2' })).resources;
        if (found.length > 1)
          throw multipleMatches('conditional create', c.type, 'the If-None-Exist criteria', 'If-None-Exist');
        if (found.length === 1) results[c.i] = { resource: found[0], created: false };
        else toCreate.push(c.i);
      } catch (err) {
        fail(c.i, err);
      }
    }
    return sameAs;
  }

  /**
   * The items to create that carry an identifier another current resource, or an earlier item here,
   * already holds (`CreateOptions.unique`): failed with their `refused`, and left out of `ids`.
   */
  private async refuseTaken(
    items: CreateItem[],
    ids: Map<number, string>,
    fail: (i: number, err: unknown) => void,
  ): Promise<void> {
    const keys = [...ids.keys()].flatMap((i) =>
      (items[i].opts?.unique?.identifiers ?? []).map((ident) => ({
        i,
        type: items[i].resource.resourceType,
        ...ident,
      })),
    );
    const held = await identifiersHeld(this.q, keys);
    const first = new Map<string, number>();
    keys.forEach((k, j) => {
      const key = `${k.type}\u0000${k.system}\u0000${k.value}`;
      const earlier = first.get(key) ?? k.i;
      first.set(key, earlier);
      if ((held[j] || earlier !== k.i) && ids.delete(k.i))
        fail(k.i, (items[k.i].opts?.unique as UniqueIdentifiers).refused(k));
    });
  }

  /** The id each item to create gets: its own with `keepId`, else a new UUID (item → id). */
  private assignIds(
    items: CreateItem[],
    toCreate: number[],
    fail: (i: number, err: unknown) => void,
  ): Map<number, string> {
    const ids = new Map<number, string>();
    const taken = new Set<string>();
    for (const i of toCreate.sort((a, b) => a - b)) {
      try {
        const { resource, opts = {} } = items[i];
        const type = checkResource(resource);
        let id: string = randomUUID();
        if (opts.keepId && resource.id !== undefined) {
          checkTypeAndId(type, resource.id);
          id = resource.id;
        }
        if (taken.has(`${type}/${id}`)) throw duplicateId(type, id);
        taken.add(`${type}/${id}`);
        ids.set(i, id);
      } catch (err) {
        fail(i, err);
      }
    }
    return ids;
  }

  /**
   * The first versions to insert, stamped: the items' own resources, or with `opts.resolved` the
   * ones it gives once told what every conditional item resolved to (`Type/id`).
   */
  private versionsToInsert(
    items: CreateItem[],
    ids: Map<number, string>,
    sameAs: Map<number, number>,
    results: Array<WriteResult | FhirError | undefined>,
    opts: CreateManyOptions,
    fail: (i: number, err: unknown) => void,
  ): Array<NewVersion & { i: number }> {
    let resources: readonly Resource[] = items.map((item) => item.resource);
    if (opts.resolved) {
      const resolution = new Map<number, string>();
      const resolvedTo = (i: number): string | undefined => {
        const r = results[i];
        if (r && !(r instanceof FhirError)) return `${r.resource.resourceType}/${r.resource.id}`;
        const id = ids.get(i);
        return id === undefined ? undefined : `${items[i].resource.resourceType}/${id}`;
      };
      items.forEach((item, i) => {
        const to = item.opts?.ifNoneExist === undefined ? undefined : resolvedTo(sameAs.get(i) ?? i);
        if (to !== undefined) resolution.set(i, to);
      });
      resources = opts.resolved(resolution);
    }
    const versions: Array<NewVersion & { i: number }> = [];
    for (const [i, id] of ids) {
      try {
        checkResource(resources[i]);
        const stamped = stamp(resources[i], id, 1, new Date());
        versions.push({ i, resource: stamped, text: storedText(stamped) });
      } catch (err) {
        fail(i, err);
      }
    }
    return versions;
  }

  /** Current resources of `type` carrying each business identifier, in one statement. */
  async findByIdentifiers(
    type: string,
    identifiers: ReadonlyArray<{ system: string; value: string }>,
    opts?: FindByIdentifiersOptions,
  ): Promise<Resource[][]> {
    if (opts?.lock)
      await lockConditionalKeys(
        this.q,
        identifiers.map((i) => identifierLockKey(type, i.value)),
      );
    return findByIdentifiers(
      this.q,
      identifiers.map((i) => ({ type, ...i })),
    );
  }

  async update<T extends Resource>(resource: T, opts: UpdateOptions = {}): Promise<WriteResult<T>> {
    const type = checkResource(resource);
    if (resource.id === undefined)
      throw FhirError.badRequest(`${type}.id is required for an update`, `${type}.id`);
    const id = resource.id;
    checkTypeAndId(type, id);
    const expected = opts.ifMatch === undefined ? undefined : parseIfMatch(opts.ifMatch);
    let current = await lockCurrent(this.q, type, id, 'update');
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
        throw versionError(
          412,
          `store-version-1: ${type}/${id} does not exist (If-Match ${opts.ifMatch})`,
          type,
        );
      }
      const stored = stamp(resource, id, 1, new Date());
      if ((await this.insertVersions([{ resource: stored, text: storedText(stored) }])).size)
        return { resource: stored, created: true };
      // A concurrent PUT created it first: continue as an update of that version.
      current = await lockCurrent(this.q, type, id, 'update');
      if (!current) throw new Error(`${type}/${id} vanished during update`);
    }
    // Bringing a deleted resource back is a versioned update too when update may not create: a stale
    // or replayed PUT must not undo a delete it never saw.
    if (expected === undefined && (!current.deleted || opts.noCreate) && !opts.ifMatchOptional) {
      throw current.deleted
        ? versionError(
            428,
            `If-Match is required to bring back ${type}/${id}, deleted in version ${current.version_id}`,
            type,
          )
        : ifMatchRequired(type, id);
    }
    checkExpectedVersion(type, id, expected, current.version_id);
    await requireTargets(opts.targets ?? [], (refs) => this.absent(refs));
    if (!current.deleted && current.json !== null) {
      const before = parseAsWritten(current.json) as Resource;
      if (changesNothing(before, resource)) return { resource: before as T, created: false };
      opts.assertChange?.(before, resource);
      if (opts.unique) await this.assertHeldAlone(type, id, opts.unique, before);
    } else if (opts.unique) await this.assertHeldAlone(type, id, opts.unique);
    const version = current.version_id + 1;
    const stored = stamp(resource, id, version, nextTimestamp(current.last_updated));
    await this.writeVersion(stored, current.deleted ? 'create' : 'update');
    return { resource: stored, created: current.deleted };
  }

  /**
   * `UpdateOptions.unique`: refused when a current resource other than `type/id` holds one that the
   * version it replaces (`before`) did not carry — so a pair a store holds from before the rule can
   * still be updated, while no update makes a new pair.
   */
  private async assertHeldAlone(
    type: string,
    id: string,
    unique: UniqueIdentifiers,
    before?: Resource,
  ): Promise<void> {
    const kept = new Set(
      ([] as Array<{ system?: string; value?: string }>)
        .concat((before as { identifier?: [] } | undefined)?.identifier ?? [])
        .map((i) => `${i?.system}|${i?.value}`),
    );
    const added = unique.identifiers.filter((i) => !kept.has(`${i.system}|${i.value}`));
    const held = await identifiersHeld(
      this.q,
      added.map((ident) => ({ type, ...ident, self: id })),
    );
    const first = held.indexOf(true);
    if (first >= 0) throw unique.refused(added[first]);
  }

  async delete(type: string, id: string, opts: DeleteOptions = {}): Promise<DeleteResult> {
    checkTypeAndId(type, id);
    const expected = opts.ifMatch === undefined ? undefined : parseIfMatch(opts.ifMatch);
    const current = await lockCurrent(this.q, type, id, 'delete');
    if (!current) {
      if (expected !== undefined)
        throw versionError(
          412,
          `store-version-1: ${type}/${id} does not exist (If-Match ${opts.ifMatch})`,
          type,
          'If-Match',
        );
      throw FhirError.notFound(`${type}/${id} not found`);
    }
    if (current.deleted) {
      // Done already: a retry names the version it deleted (its answer lost), or the deletion itself.
      if (expected !== undefined && expected !== current.version_id && expected !== current.version_id - 1)
        throw versionError(
          412,
          `store-version-1: ${type}/${id} was deleted in version ${current.version_id}; If-Match is ${expected}`,
          type,
          'If-Match',
        );
      return {
        versionId: String(current.version_id),
        lastUpdated: current.last_updated.toISOString(),
        deleted: false,
      };
    }
    checkExpectedVersion(type, id, expected, current.version_id, 'If-Match');
    // Under the row's lock, after the version's check: a write adding a reference has committed (and
    // is seen) or waits for this.
    if (opts.unreferenced) await assertUnreferenced(this, type, id);
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

  /** Inserts first versions, then runs the hooks on those inserted. */
  private async insertVersions(versions: NewVersion[]): Promise<Set<string>> {
    const inserted = await insertVersions(this.q, versions);
    await this.runHooks(
      versions
        .filter(({ resource: r }) => inserted.has(`${r.resourceType}/${r.id}`))
        .map(({ resource }) => ({ action: 'create' as const, resource })),
    );
    return inserted;
  }

  /** Writes a next version of a locked row, then runs the hooks. */
  private async writeVersion(resource: Resource, action: WriteAction): Promise<void> {
    await writeVersion(this.q, resource, action);
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
