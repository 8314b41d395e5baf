import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { parseAsWritten } from '../shared/json-text.ts';
import { Coalescer } from './coalescer.ts';
import { ContendedWriteError } from './db-errors.ts';
import { type Engine, openPglite, openPostgres } from './engine.ts';
import { type CreateItem, Operations } from './operations.ts';
import { readJsonMany } from './reads.ts';
import { applyStoreMigrations, migrate } from './schema.ts';
import { copyPgliteTemplate, pgliteArchiveBlob } from './template.ts';
import type { OpenStoreOptions, Store, StoreHooks, StoreTx, StoredJson, WriteResult } from './types.ts';

const MEMORY = 'memory://';
const DEFAULT_POOL = 10;
const MAX_BATCH = 200;
/**
 * Largest group-commit batch of creates on PostgreSQL. A create writes about eight rows and fifteen
 * index entries; measured with 50 concurrent clients, batches of 16–32 gave 15 % more creates per
 * second than unbounded ones (several batches run on separate connections instead of one long one).
 * PGlite has one connection and does best with whole batches.
 */
const PG_CREATE_BATCH = 24;

/**
 * A create that takes locks until its insert commits, so it runs in a transaction: one whose reference
 * targets are checked (a delete of a target then waits for it, or it for the delete), or that must
 * hold an identifier alone (`CreateOptions.unique`: a concurrent create of it waits).
 */
const needsLocks = (item: CreateItem): boolean =>
  (item.opts?.targets?.length ?? 0) > 0 || item.opts?.unique !== undefined;

/**
 * Opens the resource store: PostgreSQL when `databaseUrl` is given, otherwise embedded PGlite in
 * `dataDir` (default `./data`). Applies the store's migrations before returning.
 */
export async function openStore(opts: OpenStoreOptions = {}): Promise<Store> {
  const dataDir = opts.dataDir ?? './data';
  const newDataDir =
    !opts.databaseUrl && !dataDir.includes('://') && !existsSync(join(dataDir, 'PG_VERSION'));
  // A new PGlite directory is a copy of a migrated template (initdb in WebAssembly costs 10–20 s;
  // the template is built once per machine, PGlite version and schema).
  if (newDataDir && opts.template !== false) await copyPgliteTemplate(dataDir);
  // An in-memory store starts from the template's dump instead of running initdb.
  const archive = dataDir === MEMORY && opts.template !== false ? await pgliteArchiveBlob() : undefined;
  let engine = opts.databaseUrl
    ? await openPostgres(opts.databaseUrl, opts.poolMax)
    : await openPglite(dataDir, archive);
  try {
    await applyStoreMigrations(engine, opts);
  } catch (err) {
    await engine.close();
    throw err;
  }
  if (newDataDir && opts.template === false) {
    // initdb grows PGlite's WebAssembly memory to about twice what serving needs, and that memory
    // never shrinks: reopening the new directory hands it back (measured 864 → 464 MB RSS).
    await engine.close();
    engine = await openPglite(dataDir);
  }
  // PGlite is one connection; on PostgreSQL, leave most of the pool to transactions.
  const batchSlots =
    engine.kind === 'pglite' ? 1 : Math.max(1, Math.floor((opts.poolMax ?? DEFAULT_POOL) / 4));
  const createBatch = engine.kind === 'pglite' ? MAX_BATCH : PG_CREATE_BATCH;
  return createStore(engine, { slots: batchSlots, createBatch }, opts.hooks);
}

/**
 * How a batch of coalesced plain creates is written: in one statement, or in a transaction when hooks
 * were added since they were queued or one takes locks (`needsLocks`). A database
 * refusal of the batch is retried one create at a time, in arrival order, so one resource the database
 * refuses (e.g. text it cannot store) does not fail the others, and the first of two creates with one
 * kept id is the one that wins.
 */
function createBatchRunner(
  direct: Operations,
  transaction: <T>(fn: (tx: StoreTx) => Promise<T>) => Promise<T>,
  hooked: () => boolean,
): (items: CreateItem[]) => Promise<Array<WriteResult | Error>> {
  const run = (batch: CreateItem[]) =>
    hooked() || batch.some(needsLocks) ? transaction((tx) => tx.createMany(batch)) : direct.createMany(batch);
  return async (items) => {
    try {
      return await run(items);
    } catch (err) {
      // A database refusal (a SQLSTATE), or a deadlock it lost every time (of one create, perhaps).
      const refused = (err as { code?: string }).code !== undefined || err instanceof ContendedWriteError;
      if (items.length === 1 || !refused) throw err;
      const results: Array<WriteResult | Error> = [];
      for (const item of items) {
        results.push(
          await run([item]).then(
            ([r]) => r,
            (e: Error) => e,
          ),
        );
      }
      return results;
    }
  };
}

function createStore(
  engine: Engine,
  batches: { slots: number; createBatch: number },
  initialHooks?: StoreHooks,
): Store {
  let hooks: StoreHooks[] = initialHooks ? [initialHooks] : [];
  let closed = false;

  const transaction = async <T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> => {
    // Operations asks for the hooks only to run them on writes: then the hooks hear of the commit.
    let wrote = false;
    const hooksOnWrite = () => {
      wrote = true;
      return hooks;
    };
    const result = await engine.transaction((q) => {
      const tx: Operations = new Operations(q, hooksOnWrite, (inner) => inner(tx));
      return fn(tx);
    });
    if (wrote) for (const h of hooks) h.afterCommit?.();
    return result;
  };
  // Reads and searches run directly on the engine; writes that lock, check or run hooks open a
  // transaction so the row lock, the version and the hooks commit together.
  const direct = new Operations(engine, () => [], transaction);

  // Concurrent reads by id and hook-less plain creates are coalesced into one statement per batch.
  const reads = new Coalescer<{ type: string; id: string }, StoredJson>(
    (keys) => readJsonMany(engine, keys),
    batches.slots,
    MAX_BATCH,
  );
  const creates = new Coalescer<CreateItem, WriteResult>(
    createBatchRunner(direct, transaction, () => hooks.length > 0),
    batches.slots,
    batches.createBatch,
  );
  const readJson = (type: string, id: string) => reads.submit({ type, id });

  return {
    engine: engine.kind,
    create: <T extends Resource>(r: T, o?: CreateItem['opts']) =>
      (o?.ifNoneExist === undefined && !hooks.length
        ? creates.submit({ resource: r, opts: o })
        : transaction((tx) => tx.create(r, o))) as Promise<WriteResult<T>>,
    createMany: (items, o) =>
      !hooks.length && items.every((i) => i.opts?.ifNoneExist === undefined && !needsLocks(i))
        ? direct.createMany(items, o)
        : transaction((tx) => tx.createMany(items, o)),
    update: (r, o) => transaction((tx) => tx.update(r, o)),
    delete: (t, id, o) => transaction((tx) => tx.delete(t, id, o)),
    read: async <T extends Resource>(t: string, id: string) =>
      parseAsWritten((await readJson(t, id)).json) as T,
    readJson,
    vread: (t, id, v) => direct.vread(t, id, v),
    history: (t, id) => direct.history(t, id),
    historyPage: (t, o) => direct.historyPage(t, o),
    findByIdentifiers: (t, ids, o) => direct.findByIdentifiers(t, ids, o),
    referrers: (t, id, from, limit) => direct.referrers(t, id, from, limit),
    absent: (refs) => direct.absent(refs),
    search: (t, p, o) => direct.search(t, p, o),
    searchJson: (t, p, o) => direct.searchJson(t, p, o),
    query: (sql, params) => engine.query(sql, params),
    // A lock outside a transaction would end with its own statement: only a transaction's tx takes one.
    lock: () => Promise.reject(new Error('store.lock: only inside a transaction (transaction(fn), tx.lock)')),
    transaction,
    migrate: async (name, statements) => {
      await migrate(engine, name, statements);
    },
    addHooks(h) {
      hooks = [...hooks, h];
      return () => {
        hooks = hooks.filter((x) => x !== h);
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await engine.close();
    },
  };
}
