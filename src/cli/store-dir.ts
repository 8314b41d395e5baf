// Commands that work on an existing store refuse a --data-dir without one instead of making an empty
// store there: a mistyped path would otherwise answer as a store with nothing in it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The refusal for a PGlite data directory that holds no store; undefined when it holds one, or when
 * the store is PostgreSQL (`--database-url`, which has no data directory).
 */
export function missingStore(opts: { databaseUrl?: string; dataDir: string }): string | undefined {
  if (opts.databaseUrl || existsSync(join(opts.dataDir, 'PG_VERSION'))) return undefined;
  return `no store in ${opts.dataDir} (no PGlite database there); pass --data-dir or --database-url`;
}
