import pg from 'pg';

/** The PostgreSQL server the tests use (this machine's, unless TYOKYKY_PG_URL says otherwise). */
export const PG_URL = process.env.TYOKYKY_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';

/** Drops and creates a database of our own; returns its URL. */
export async function freshDatabase(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: `${PG_URL}/postgres` });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return `${PG_URL}/${name}`;
}
