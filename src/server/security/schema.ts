import type { Store, StoreTx } from '../../store/index.ts';

/** Tables of the security stage, applied with the store's `migrate` (idempotent); the audit log's table
 * is the store's (AUDIT_LOG_SCHEMA), shared with the sync. */
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

/** A receiving party's paging cursors (party-cursor.ts). */
export const PARTY_CURSOR_MIGRATION = 'security-2';
export const PARTY_CURSOR_STATEMENTS = [
  `CREATE TABLE IF NOT EXISTS security_cursor (
     token text PRIMARY KEY,
     client text NOT NULL,
     cursor text NOT NULL,
     expires timestamptz NOT NULL)`,
  // Expired cursors are deleted as new ones are kept: by this index, not by reading the table.
  'CREATE INDEX IF NOT EXISTS security_cursor_expires ON security_cursor (expires)',
];

/** What the security stage needs of the store: SQL for its own tables, and their migration. */
export interface SecurityDb {
  query(sql: string, params?: unknown[]): Promise<unknown>;
  migrate(name: string, statements: string[]): Promise<void>;
}

/**
 * The store security guards: the store's own operations and transactions (audit rows are written
 * with SQL in the transaction of the write they record), its engine, and its migrations.
 */
export type SecurityStore = Pick<Store, keyof StoreTx | 'engine' | 'migrate' | 'close'>;

/** Whether `store` is the store's own `Store` (a facade-only wrapper cannot be secured). */
export function isSecurityStore(store: object): store is SecurityStore {
  return (
    'migrate' in store &&
    typeof store.migrate === 'function' &&
    'transaction' in store &&
    typeof store.transaction === 'function' &&
    'engine' in store &&
    (store.engine === 'pglite' || store.engine === 'postgres')
  );
}

/** Rows of a query, typed by the caller (both engines answer `query` with an array of rows). */
export async function rows<T>(
  db: { query(sql: string, params?: unknown[]): Promise<unknown> },
  sql: string,
  params?: unknown[],
): Promise<T[]> {
  return (await db.query(sql, params)) as T[];
}
