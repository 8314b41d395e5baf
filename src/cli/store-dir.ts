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
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: opts.databaseUrl, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  let held: boolean;
  try {
    await client.connect();
    const r = await client.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS held");
    held = r.rows[0]?.held === true;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
  return held
    ? undefined
    : `no store in ${describeDatabase(opts.databaseUrl)} (no tyokyky tables there); ${next}`;
}

/** `PostgreSQL database "<name>" at <host>:<port>`: never the user, password or query of the URL. */
function describeDatabase(url: string): string {
  try {
    const u = new URL(url);
    const name = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres';
    return `PostgreSQL database "${name}" at ${u.hostname || 'localhost'}:${u.port || '5432'}`;
  } catch {
    return 'the PostgreSQL database of --database-url';
  }
}
