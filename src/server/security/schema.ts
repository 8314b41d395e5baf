/** Tables of the security stage, applied with the store's `migrate` (idempotent); the audit log's table
 * is the store's (AUDIT_LOG_STATEMENTS), shared with the sync. */
export const SECURITY_MIGRATION = 'security-1';

export const SECURITY_STATEMENTS = [
  `CREATE TABLE IF NOT EXISTS security_client (
     id text PRIMARY KEY,
     scope text NOT NULL,
     party text,
     jwks text,
     jwks_url text,
     created timestamptz NOT NULL DEFAULT now())`,
  `CREATE TABLE IF NOT EXISTS security_key (
     kid text PRIMARY KEY,
     private_jwk text NOT NULL,
     created timestamptz NOT NULL DEFAULT now())`,
  `CREATE TABLE IF NOT EXISTS security_jti (
     jti text PRIMARY KEY,
     client text NOT NULL,
     expires timestamptz NOT NULL)`,
];

/** What the security stage needs of the store: SQL for its own tables, and their migration. */
export interface SecurityDb {
  query(sql: string, params?: unknown[]): Promise<unknown>;
  migrate(name: string, statements: string[]): Promise<void>;
}

/** Rows of a query, typed by the caller (both engines answer `query` with an array of rows). */
export async function rows<T>(
  db: { query(sql: string, params?: unknown[]): Promise<unknown> },
  sql: string,
  params?: unknown[],
): Promise<T[]> {
  return (await db.query(sql, params)) as T[];
}
