import type { Resource } from '@medplum/fhirtypes';
import type { FhirError } from '../shared/outcome.ts';

export type Row = Record<string, unknown>;

/** Anything that runs one SQL statement: a pool, a PGlite instance, or an open transaction. */
export interface Queryable {
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** A reference that must name a current resource when the write happens (`store-ref-1`). */
export interface ReferenceTarget {
  /** `Type/id`. */
  ref: string;
  /** Where the reference is, reported when it names nothing (`Observation.subject`). */
  path: string;
}

export interface CreateOptions {
  /** Conditional create, e.g. `identifier=urn:ietf:rfc:3986|urn:uuid:...` (any supported search). */
  ifNoneExist?: string;
  /** Keep `resource.id` instead of assigning a UUID (transaction bundles that pre-assign ids). */
  keepId?: boolean;
  /** References that must name current resources: checked with the write, 422 naming the others. */
  targets?: readonly ReferenceTarget[];
  /** Identifiers it must hold alone: see `UniqueIdentifiers`. */
  unique?: UniqueIdentifiers;
}

/**
 * Identifiers (`system|value`) no other current resource of the type may carry (a HETU: one person,
 * one Patient). The write takes each value's identifier lock (the one a conditional create on it
 * takes), looks for holders and refuses with `refused(the first one held)` when another resource, or
 * an earlier item of the same `createMany`, holds one — so two concurrent writes cannot both pass.
 */
export interface UniqueIdentifiers {
  identifiers: ReadonlyArray<{ system: string; value: string }>;
  refused(held: { system: string; value: string }): FhirError;
}

/** Options of a whole `createMany`. */
export interface CreateManyOptions {
  /**
   * Called once the items' If-None-Exist criteria are looked up (under locks held until the
   * transaction ends) and before anything is inserted, with what each conditional item resolved to
   * (item index → `Type/id`): the resource it matched, the one an earlier item with the same criteria
   * resolves to, or its own id to be. Returns the resources to insert, one per item in item order (a
   * transaction Bundle's references to its conditional entries, rewritten). Items without
   * If-None-Exist and conditional items that failed are absent from the map; the resources returned
   * for items that matched or failed are not used.
   */
  resolved?(resolution: ReadonlyMap<number, string>): readonly Resource[];
}

export interface UpdateOptions {
  /** `W/"3"`, `"3"` or `3`. Required for updating an existing resource unless `ifMatchOptional`. */
  ifMatch?: string;
  /** As for create: references that must name current resources, checked in the write's transaction. */
  targets?: readonly ReferenceTarget[];
  /** Allow an unconditional update (e.g. the sync worker applying remote versions). */
  ifMatchOptional?: boolean;
  /** Refuse to create a resource that does not exist yet (405), as a server with updateCreate false does. */
  noCreate?: boolean;
  /**
   * The update writes a PATCH's result (`patchResource`): the store writes it as any update, and the
   * security guard audits it as the interaction the client asked for, alone or as a Bundle's entry.
   */
  interaction?: 'patch';
  /**
   * A rule on the change itself, which neither version shows alone (a withdrawn consent stays
   * withdrawn): called with the stored version and the new one once the row is locked and the version
   * checked, before anything is written; what it throws refuses the update. Not called when the update
   * changes nothing or brings back a deleted resource.
   */
  assertChange?: (stored: Resource, next: Resource) => void;
  /** Identifiers it must hold alone (`UniqueIdentifiers`); its own stored version does not count. */
  unique?: UniqueIdentifiers;
}

export interface DeleteOptions {
  ifMatch?: string;
  /**
   * Refuse (409, `assertUnreferenced`) while current resources refer to it: checked once the row is
   * locked and before anything is written, so a concurrent write adding a reference has either
   * committed (and is seen) or waits and then finds it deleted (422 `store-ref-1`).
   */
  unreferenced?: boolean;
}

export interface WriteResult<T extends Resource = Resource> {
  resource: T;
  /** true for a new resource (also PUT-create and update of a deleted one), false otherwise. */
  created: boolean;
}

export interface DeleteResult {
  versionId: string;
  lastUpdated: string;
  /** false when the resource was already deleted (nothing written). */
  deleted: boolean;
}

export type WriteAction = 'create' | 'update' | 'delete';

export interface HistoryEntry {
  versionId: string;
  lastUpdated: string;
  action: WriteAction;
  /** Absent for a delete tombstone. */
  resource?: Resource;
}

export interface HistoryPageOptions {
  /** Only versions written at or after this instant (ISO 8601; a date alone is UTC midnight). */
  since?: string;
  count: number;
  /** Where the page starts without a cursor. */
  offset: number;
  /** The `nextCursor` of the page before: the page starts after its last entry (`offset` aside). */
  cursor?: string;
}

export interface HistoryPage {
  /** Versions matching, over all pages. */
  total: number;
  entries: Array<HistoryEntry & { resourceType: string; id: string }>;
  /** Pass as `cursor` for the next page; absent on the last. */
  nextCursor?: string;
}

export type SearchParams = Record<string, string | string[] | undefined>;

export interface SearchOptions {
  /** Ignore unknown search parameters instead of failing with 400 (`Prefer: handling=lenient`). */
  lenient?: boolean;
  /**
   * The base URL the caller serves this store at: a reference search value under it names the
   * relative reference (`<base>/Patient/1` matches `Patient/1`); any other absolute URL only itself.
   */
  base?: string;
  /**
   * The resource types the caller serves: a reference parameter refers only to those of its R4
   * targets (a chain names its target type only when several remain; a type modifier, chained or
   * not, or an include naming another is a 400). Without it, every type R4 allows.
   */
  types?: readonly string[];
}

export interface SearchResult {
  resources: Resource[];
  /** With `_total=accurate` or `_count=0`, and whenever every match is on the first page. */
  total?: number;
  offset: number;
  count: number;
  /** Opaque keyset cursor for the next page (pass as `_cursor`); absent on the last page. */
  nextCursor?: string;
  /** Parameters that were ignored in lenient mode. */
  ignored: string[];
}

/** `search` with each match left as the stored JSON text. */
export interface SearchJsonResult extends Omit<SearchResult, 'resources'> {
  /** The matches' ids, in the order of `json`. */
  ids: string[];
  json: string[];
  /** Resources brought in by `_include` / `_revinclude`, each once. */
  included?: Array<{ type: string; id: string; json: string }>;
}

/** A current version as stored JSON text, for callers that pass it on without parsing it. */
export interface StoredJson {
  json: string;
  versionId: string;
  lastUpdated: string;
}

export interface ResourceChange {
  action: WriteAction;
  /** The stored version; for a delete a stub `{resourceType, id, meta}`. */
  resource: Resource;
}

export interface StoreHooks {
  /** Runs inside the writing transaction for each write; throwing rolls the write back. */
  afterWrite?(tx: StoreTx, change: ResourceChange): Promise<void>;
  /**
   * When given, called instead of `afterWrite` with the writes of each statement together (all of a
   * `createMany`, a single create, update or delete as a list of one), so a hook can record them in
   * one statement. Same transaction and rollback rule as `afterWrite`.
   */
  afterWriteMany?(tx: StoreTx, changes: ResourceChange[]): Promise<void>;
  /**
   * After the commit of a transaction in which the write hooks ran (the writes are visible to others
   * now), e.g. to wake a worker instead of polling. Not called on rollback; must not throw.
   */
  afterCommit?(): void;
}

export interface FindByIdentifiersOptions {
  /**
   * Inside a transaction: first take, until it ends, the lock a conditional create on each
   * `identifier=system|value` takes, so that "is it taken?" and a write that follows are one step
   * against concurrent creates of any of these identifiers (one sorted statement: no lock cycles).
   */
  lock?: boolean;
}

export interface StoreTx {
  create<T extends Resource>(resource: T, opts?: CreateOptions): Promise<WriteResult<T>>;
  /**
   * Creates many resources in a few statements. Each item gets its own result or FhirError (e.g. 412
   * when its If-None-Exist matches several resources); nothing is thrown for one item's failure.
   */
  createMany(
    items: Array<{ resource: Resource; opts?: CreateOptions }>,
    opts?: CreateManyOptions,
  ): Promise<Array<WriteResult | FhirError>>;
  read<T extends Resource = Resource>(type: string, id: string): Promise<T>;
  /** Current resources of `type` carrying each business identifier (one list per identifier). */
  findByIdentifiers(
    type: string,
    identifiers: ReadonlyArray<{ system: string; value: string }>,
    opts?: FindByIdentifiersOptions,
  ): Promise<Resource[][]>;
  vread<T extends Resource = Resource>(type: string, id: string, versionId: string | number): Promise<T>;
  /** `read` without parsing: the stored JSON text and its version (for serving it as it is). */
  readJson(type: string, id: string): Promise<StoredJson>;
  history(type: string, id: string): Promise<HistoryEntry[]>;
  /** Type-level (`type` given) or system-level history, newest first. */
  historyPage(type: string | undefined, opts: HistoryPageOptions): Promise<HistoryPage>;
  /** `Type/id` of current `fromTypes` resources whose indexed references point at `type/id`. */
  referrers(type: string, id: string, fromTypes?: string[], limit?: number): Promise<string[]>;
  /** Which of `refs` (`Type/id`) name no current resource (never stored, or deleted). */
  absent(refs: readonly string[]): Promise<string[]>;
  update<T extends Resource>(resource: T, opts?: UpdateOptions): Promise<WriteResult<T>>;
  delete(type: string, id: string, opts?: DeleteOptions): Promise<DeleteResult>;
  search(type: string, params: SearchParams, opts?: SearchOptions): Promise<SearchResult>;
  /** `search` with each match as its stored JSON text. */
  searchJson(type: string, params: SearchParams, opts?: SearchOptions): Promise<SearchJsonResult>;
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /**
   * Takes the caller's own advisory locks on `keys` (any strings, e.g. `domain-client:<id>`; hashed,
   * taken sorted in one statement, so two transactions taking overlapping sets never wait in a cycle),
   * held until the transaction ends: a check and the write it admits are then one step against every
   * other transaction locking one of the keys. The locks a conditional create takes are of the same
   * kind; name your keys apart from theirs (`ifNoneExist:…`, `identifier:…`). Only a transaction's
   * own store (`transaction(fn)`'s `tx`) takes them; the store itself refuses (rejects): outside a
   * transaction the lock would end with its own statement. On PGlite (one connection, one
   * transaction at a time) they never wait.
   */
  lock(keys: readonly string[]): Promise<void>;
  /** Inside a transaction this joins the open one. */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
}

export interface Store extends StoreTx {
  readonly engine: 'pglite' | 'postgres';
  /** Idempotent: runs `statements` once per database under `name` (table `schema_migrations`). */
  migrate(name: string, statements: string[]): Promise<void>;
  /** Adds hooks after opening (the sync stage installs its outbox this way); returns a remover. */
  addHooks(hooks: StoreHooks): () => void;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** PostgreSQL connection string; when set, PostgreSQL is used instead of PGlite. */
  databaseUrl?: string;
  /** PGlite data directory (default `./data`); `memory://` for an in-memory database. */
  dataDir?: string;
  hooks?: StoreHooks;
  /** PostgreSQL pool size (default 10). */
  poolMax?: number;
  /** A new PGlite directory starts as a copy of the machine's migrated template (default true). */
  template?: boolean;
  /**
   * Progress of a search index rebuild at open (a database indexed by an earlier release): called
   * every 10,000 resources and once at the end with `done`.
   */
  onReindex?: (indexed: number, done: boolean) => void;
  /**
   * Each store migration the database lacks (an upgrade from an earlier release, or a new database
   * without the template): called before it runs and, with `done`, once it is committed. Some
   * rewrite every stored resource (store-005), which takes a while on a large database.
   */
  onMigrate?: (migration: string, done: boolean) => void;
}
