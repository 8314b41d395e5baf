// The SQL schema shared by both engines, and the migration registry other stages use too.
import type { Engine } from './engine.ts';
import { type ReindexProgress, reindexIfChanged } from './reindex.ts';

/** Fixed advisory-lock key serialising migrations across processes ("tyokyky" in ASCII-ish). */
export const MIGRATION_LOCK = 7_465_703_279;

/**
 * Applies the migration `name` unless the database has it; `onApply` is called just before its
 * statements run. Returns whether it was applied now.
 */
export async function migrate(
  engine: Engine,
  name: string,
  statements: string[],
  onApply?: () => void,
): Promise<boolean> {
  return engine.transaction(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await q.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         name text PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const done = await q.query('SELECT 1 FROM schema_migrations WHERE name = $1', [name]);
    if (done.length) return false;
    onApply?.();
    for (const sql of statements) await q.query(sql);
    await q.query('INSERT INTO schema_migrations (name) VALUES ($1)', [name]);
    return true;
  });
}

/** What opening a store reports while it upgrades a database written by an earlier release. */
export interface UpgradeProgress {
  /** Each store migration the database lacks: before it runs, and with `done` once committed. */
  onMigrate?: (migration: string, done: boolean) => void;
  onReindex?: ReindexProgress;
}

/** Brings `engine`'s database to the store's schema (every migration of `STORE_MIGRATIONS`, in order). */
export async function applyStoreMigrations(engine: Engine, progress: UpgradeProgress = {}): Promise<void> {
  const { onMigrate, onReindex } = progress;
  for (const [name, statements] of STORE_MIGRATIONS) {
    if (await migrate(engine, name, statements, () => onMigrate?.(name, false))) onMigrate?.(name, true);
  }
  await engine.transaction(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await reindexIfChanged(q, onReindex);
  });
}

export const STORE_MIGRATIONS: Array<[string, string[]]> = [
  [
    'store-001-resources',
    [
      `CREATE TABLE resources (
         resource_type text NOT NULL,
         id text NOT NULL,
         version_id integer NOT NULL,
         last_updated timestamptz NOT NULL,
         deleted boolean NOT NULL DEFAULT false,
         content jsonb,
         PRIMARY KEY (resource_type, id)
       )`,
      // Serves the default sort and keyset paging (_lastUpdated, then id) and _lastUpdated ranges.
      `CREATE INDEX resources_type_updated ON resources (resource_type, last_updated, id) WHERE NOT deleted`,
      `CREATE TABLE resource_history (
         resource_type text NOT NULL,
         id text NOT NULL,
         version_id integer NOT NULL,
         last_updated timestamptz NOT NULL,
         action text NOT NULL,
         content jsonb,
         PRIMARY KEY (resource_type, id, version_id)
       )`,
      // Token and reference search values of current, non-deleted versions.
      // Tokens: system ('' when absent) + code/value. References: system = target type, value = id.
      `CREATE TABLE search_token (
         resource_type text NOT NULL,
         id text NOT NULL,
         param text NOT NULL,
         system text NOT NULL,
         value text NOT NULL
       )`,
      `CREATE INDEX search_token_lookup ON search_token (resource_type, param, value, system, id)`,
      `CREATE INDEX search_token_owner ON search_token (resource_type, id)`,
      // Date search values as half-open ranges [low, high); open ends are ±infinity.
      `CREATE TABLE search_date (
         resource_type text NOT NULL,
         id text NOT NULL,
         param text NOT NULL,
         low timestamptz NOT NULL,
         high timestamptz NOT NULL
       )`,
      `CREATE INDEX search_date_lookup ON search_date (resource_type, param, low, high, id)`,
      `CREATE INDEX search_date_owner ON search_date (resource_type, id)`,
    ],
  ],
  [
    'store-002-token-order',
    [
      // The resource's lastUpdated on its token rows lets a token search (e.g. patient=X) read
      // its page in _lastUpdated order straight from the index instead of sorting every match.
      `ALTER TABLE search_token ADD COLUMN last_updated timestamptz NOT NULL DEFAULT '-infinity'`,
      `UPDATE search_token t SET last_updated = r.last_updated
         FROM resources r WHERE r.resource_type = t.resource_type AND r.id = t.id`,
      `ALTER TABLE search_token ALTER COLUMN last_updated DROP DEFAULT`,
      `DROP INDEX search_token_lookup`,
      `CREATE INDEX search_token_lookup ON search_token (resource_type, param, value, system, last_updated, id)`,
    ],
  ],
  [
    'store-003-name-search',
    [
      // String parameters match by prefix (LIKE 'mak%'), which a text_pattern_ops index serves in any
      // collation; only their rows are in it.
      `CREATE INDEX search_token_text ON search_token (resource_type, param, value text_pattern_ops)
         WHERE param IN ('name', 'family', 'given')`,
    ],
  ],
  [
    'store-004-number-search',
    [
      // Number search values (e.g. value-integer), exact; a search value's precision makes its range.
      // Filled for stored resources by the rebuild the changed index marker starts (reindex.ts).
      `CREATE TABLE search_number (
         resource_type text NOT NULL,
         id text NOT NULL,
         param text NOT NULL,
         value numeric NOT NULL
       )`,
      // One index, by owner: a search probes each candidate's values from it (index-only), and an
      // update's delete finds the old rows. No index by value: a score matches a large share of its
      // type (0–10), so a search is not started from the values, and each write pays one index less.
      `CREATE INDEX search_number_owner ON search_number (resource_type, id, param, value)`,
    ],
  ],
  [
    'store-005-json-content',
    [
      // The content as written (json keeps the text; jsonb reorders keys by length, so resourceType came
      // mid-object): answers keep FHIR's usual order, and the text is stored and read back without a
      // conversion to and from jsonb's binary form. No statement reads into content: search values are
      // in the search_* tables. Rows written before keep jsonb's key order.
      'ALTER TABLE resources ALTER COLUMN content TYPE json USING content::json',
      'ALTER TABLE resource_history ALTER COLUMN content TYPE json USING content::json',
    ],
  ],
  [
    'store-006-saved-search',
    [
      // Search criteria the paging links of a long or POSTed search name by a random key
      // (saved-search.ts); rows past expires_at are purged when the next search is saved.
      `CREATE TABLE search_saved (
         key text PRIMARY KEY,
         resource_type text NOT NULL,
         criteria json NOT NULL,
         expires_at timestamptz NOT NULL
       )`,
      'CREATE INDEX search_saved_expiry ON search_saved (expires_at)',
    ],
  ],
];
