import { type Engine, openPglite, openPostgres } from './engine.ts';
import { Operations } from './operations.ts';
import { STORE_MIGRATIONS, migrate } from './schema.ts';
import type { OpenStoreOptions, Store, StoreHooks, StoreTx } from './types.ts';

/**
 * Opens the resource store: PostgreSQL when `databaseUrl` is given, otherwise embedded PGlite in
 * `dataDir` (default `./data`). Applies the store's migrations before returning.
 */
export async function openStore(opts: OpenStoreOptions = {}): Promise<Store> {
  const engine = opts.databaseUrl
    ? await openPostgres(opts.databaseUrl, opts.poolMax)
    : await openPglite(opts.dataDir ?? './data');
  try {
    for (const [name, statements] of STORE_MIGRATIONS) await migrate(engine, name, statements);
  } catch (err) {
    await engine.close();
    throw err;
  }
  return createStore(engine, opts.hooks);
}

function createStore(engine: Engine, initialHooks?: StoreHooks): Store {
  let hooks: StoreHooks[] = initialHooks ? [initialHooks] : [];
  const currentHooks = () => hooks;
  let closed = false;

  const transaction = <T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> =>
    engine.transaction((q) => {
      const tx: Operations = new Operations(q, currentHooks, (inner) => inner(tx));
      return fn(tx);
    });
  // Reads, searches and hook-less plain creates run directly on the engine; other writes open a
  // transaction so the row lock, the version and the hooks commit together.
  const direct = new Operations(engine, () => [], transaction);

  return {
    engine: engine.kind,
    // A plain create is one statement, atomic on its own: no transaction round trips needed.
    create: (r, o) =>
      o?.ifNoneExist === undefined && !hooks.length
        ? direct.create(r, o)
        : transaction((tx) => tx.create(r, o)),
    update: (r, o) => transaction((tx) => tx.update(r, o)),
    delete: (t, id, o) => transaction((tx) => tx.delete(t, id, o)),
    read: (t, id) => direct.read(t, id),
    vread: (t, id, v) => direct.vread(t, id, v),
    history: (t, id) => direct.history(t, id),
    search: (t, p, o) => direct.search(t, p, o),
    query: (sql, params) => engine.query(sql, params),
    transaction,
    migrate: (name, statements) => migrate(engine, name, statements),
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
