// Commands that work on an existing store refuse a --data-dir or --database-url without one instead of
// making an empty store there: a mistyped path or database name would otherwise answer as a store with
// nothing in it (and leave the whole schema behind in that database).
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The refusal for a PGlite data directory, or a PostgreSQL database, that holds no store; undefined
 * when it holds one. The database is only looked at (its migrations table, which every store has),
 * never written; a database that cannot be reached is left to opening the store to explain.
 */
export async function missingStore(opts: { databaseUrl?: string; dataDir: string }): Promise<
  string | undefined
> {
  const next = 'pass --data-dir or --database-url';
  if (!opts.databaseUrl) {
    if (existsSync(join(opts.dataDir, 'PG_VERSION'))) return undefined;
    return `no store in ${opts.dataDir} (no PGlite database there); ${next}`;
  }
  const { describePostgresDatabase, postgresHoldsStore } = await import('../store/index.ts');
  if ((await postgresHoldsStore(opts.databaseUrl)) !== false) return undefined;
  return `no store in ${describePostgresDatabase(opts.databaseUrl)} (no tyokyky tables there); ${next}`;
}
