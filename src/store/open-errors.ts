// Why a store could not be opened, as one line an operator can act on (no stack, no credentials).

/** The host, port, database and user of a PostgreSQL URL, never its password. */
function describeUrl(url: string): { where: string; database: string; user: string } {
  try {
    const u = new URL(url);
    return {
      where: `${u.hostname || 'localhost'}:${u.port || '5432'}`,
      database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres',
      user: decodeURIComponent(u.username) || 'postgres',
    };
  } catch {
    return { where: '(unparsable URL)', database: '?', user: '?' };
  }
}

/** `PostgreSQL database "<name>" at <host>:<port>`: never the user, password or query of the URL. */
export function describePostgresDatabase(databaseUrl: string): string {
  const { where, database } = describeUrl(databaseUrl);
  return `PostgreSQL database "${database}" at ${where}`;
}

/**
 * Whether the PostgreSQL database at `databaseUrl` holds a store (the migrations table every store
 * has), only looked at, never written; undefined when it cannot be asked (opening the store then says
 * why).
 */
export async function postgresHoldsStore(databaseUrl: string): Promise<boolean | undefined> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const r = await client.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS held");
    return r.rows[0]?.held === true;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * One line saying why `openStore` failed, for the errors an operator causes (PostgreSQL not running,
 * database or role missing, data directory unusable); undefined for anything else.
 */
export function explainOpenError(
  err: unknown,
  opts: { databaseUrl?: string; dataDir?: string },
): string | undefined {
  type Coded = { code?: string; errors?: Coded[]; cause?: Coded };
  const codeOf = (e: Coded | undefined): string | undefined =>
    e && (e.code ?? codeOf(e.errors?.[0]) ?? codeOf(e.cause));
  const code = codeOf(err as Coded);
  if (opts.databaseUrl) {
    const { where, database, user } = describeUrl(opts.databaseUrl);
    if (code === 'ECONNREFUSED')
      return `cannot reach PostgreSQL at ${where}: connection refused (is it running?)`;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve the PostgreSQL host in ${where}`;
    if (code === '3D000') {
      return `PostgreSQL database "${database}" does not exist at ${where}; create it with: createdb -h ${where.split(':')[0]} -p ${where.split(':')[1]} -U ${user} ${database}`;
    }
    if (code === '28P01' || code === '28000')
      return `PostgreSQL at ${where} refused user "${user}" (authentication failed)`;
    if (code === 'ETIMEDOUT') return `PostgreSQL at ${where} did not answer (timeout)`;
    return undefined;
  }
  if (code === 'EACCES' || code === 'EPERM')
    return `cannot use data directory ${opts.dataDir}: permission denied`;
  if (code === 'ENOTDIR' || code === 'EEXIST') return `data directory ${opts.dataDir} is not a directory`;
  if (code === 'ENOTEMPTY')
    return `data directory ${opts.dataDir} is not empty and holds no store: give a new or empty directory`;
  // A read-only mount refuses the lock file of a directory that exists and the copy into a new one alike.
  if (code === 'EROFS') return `data directory ${opts.dataDir} is on a read-only file system`;
  if (code === 'ENOENT')
    return `cannot create data directory ${opts.dataDir}: its parent does not take new directories (${code})`;
  return undefined;
}
