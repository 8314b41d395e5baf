import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL server the tests use (this machine's, unless TYOKYKY_PG_URL says otherwise). */
export const PG_URL = (process.env.TYOKYKY_PG_URL ?? 'postgres://postgres@127.0.0.1:5432').replace(
  /\/+$/,
  '',
);

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${PG_URL}/postgres` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * Creates a database of this run's own, `<prefix>_<time>_<random>`, so two runs on one server never
 * share one; returns its URL. Drop it with `dropDatabase` in the suite's afterAll.
 */
export async function freshDatabase(prefix: string): Promise<string> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  return `${PG_URL}/${name}`;
}

/** Drops a database made by `freshDatabase` (connections still open are ended). */
export async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`not a test database name: ${name}`);
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}
