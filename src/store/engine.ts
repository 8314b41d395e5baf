// The two database engines behind one small interface: run a statement, run a transaction, close.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import pg from 'pg';
import { makeDataDir } from './data-dir.ts';
import {
  contendedError,
  isContended,
  isShortOfResources,
  shortOfResourcesError,
  storeError,
} from './db-errors.ts';
import { lockDataDir } from './dir-lock.ts';
import type { Queryable, Row } from './types.ts';

export interface Engine extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

type PgliteArtifacts = Pick<PGliteOptions, 'pgliteWasmModule' | 'initdbWasmModule' | 'fsBundle'>;
type WasmModule = NonNullable<PGliteOptions['pgliteWasmModule']>;
/** Node's WebAssembly global (the project's `lib` leaves out the DOM types that declare it). */
const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Buffer): Promise<WasmModule> } })
  .WebAssembly;
let artifacts: Promise<PgliteArtifacts> | undefined;

/**
 * PGlite's two WebAssembly modules and its file-system bundle, compiled and read once per process.
 * Left to itself PGlite reads and compiles them for every instance: a process that opens several
 * stores (tests, tools) paid 1.0–1.3 s of CPU per open instead of about 0.5 s. Where the files are
 * not beside PGlite's entry (another build of it), PGlite loads them itself.
 */
function pgliteArtifacts(): Promise<PgliteArtifacts> {
  artifacts ??= (async () => {
    const dist = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
    const [pgliteWasmModule, initdbWasmModule] = await Promise.all(
      ['pglite.wasm', 'initdb.wasm'].map((f) => wasm.compile(readFileSync(join(dist, f)))),
    );
    return {
      pgliteWasmModule,
      initdbWasmModule,
      fsBundle: new Blob([readFileSync(join(dist, 'pglite.data'))]),
    };
  })().catch(() => ({}));
  return artifacts;
}

/** `archive`: a PGlite data-directory dump to start from instead of running initdb. */
export async function openPglite(dataDir: string, archive?: Blob): Promise<Engine> {
  const onDisk = !dataDir.includes('://');
  if (onDisk) makeDataDir(dataDir);
  const release = onDisk ? lockDataDir(dataDir) : () => {};
  // PGlite's default 128 MB of shared buffers is resident memory of this process; the OS page cache
  // still holds the data files, so a smaller pool costs little (measured: 372 → 236 MB RSS idle).
  const sharedBuffers = process.env.TYOKYKY_PGLITE_SHARED_BUFFERS ?? '16MB';
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir, {
      ...(await pgliteArtifacts()),
      postgresqlconf: [`shared_buffers=${sharedBuffers}`],
      ...(archive ? { loadDataDir: archive } : {}),
    });
  } catch (err) {
    release();
    throw err;
  }
  // PGlite is one connection: its transaction() holds a mutex, so plain queries wait for it.
  return {
    kind: 'pglite',
    async query<T extends Row>(sql: string, params?: unknown[]) {
      try {
        return (await db.query<T>(sql, params)).rows;
      } catch (err) {
        throw storeError(err);
      }
    },
    transaction<T>(fn: (q: Queryable) => Promise<T>) {
      return db
        .transaction((tx) =>
          fn({
            async query<R extends Row>(sql: string, params?: unknown[]) {
              try {
                return (await tx.query<R>(sql, params)).rows;
              } catch (err) {
                throw storeError(err);
              }
            },
          }),
        )
        .catch((err: unknown) => {
          throw storeError(err);
        });
    },
    async close() {
      try {
        await db.close();
      } finally {
        release();
      }
    },
  };
}

/**
 * Statements with parameters run as named prepared statements, so PostgreSQL parses and plans each
 * shape once per connection instead of on every call (the store's statements are few and fixed in
 * shape; searches vary with their parameters). Past the cap, new shapes run unnamed: a connection's
 * prepared statements are never released, so their number must stay bounded.
 */
const MAX_PREPARED = 500;

export function preparer(max = MAX_PREPARED): (sql: string, params?: unknown[]) => string | pg.QueryConfig {
  const names = new Map<string, string>();
  return (sql, params) => {
    if (!params?.length) return sql;
    let name = names.get(sql);
    if (!name) {
      if (names.size >= max) return { text: sql, values: params };
      name = `tyk_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
      names.set(sql, name);
    }
    return { name, text: sql, values: params };
  };
}

/** Attempts at a transaction the database aborts as a deadlock's victim or a serialization failure. */
const MAX_ATTEMPTS = 4;
/** The wait before attempt n + 1 is random below BACKOFF_MS × 2ⁿ (full jitter: victims spread out). */
const BACKOFF_MS = 20;

const backoff = (attempt: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, Math.random() * BACKOFF_MS * 2 ** attempt));

/**
 * How long opening waits for PostgreSQL to answer: libpq's PGCONNECT_TIMEOUT in seconds (node-pg's
 * JavaScript client does not read it), 10 s when unset. A server that accepts the connection and
 * then says nothing would otherwise hold the start-up forever.
 */
function connectTimeoutMs(): number {
  const seconds = Number(process.env.PGCONNECT_TIMEOUT);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 10_000;
}

/** One connection made and closed within the connect timeout (ETIMEDOUT when none is made). */
async function probe(databaseUrl: string): Promise<void> {
  const ms = connectTimeoutMs();
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: ms });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    if ((err as { code?: string }).code === undefined && /timeout/i.test((err as Error).message))
      throw Object.assign(new Error(`no answer within ${ms / 1000} s`), { code: 'ETIMEDOUT' });
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function openPostgres(databaseUrl: string, max = 10): Promise<Engine> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max });
  // An idle client losing its connection must not crash the process.
  pool.on('error', () => {});
  try {
    await probe(databaseUrl);
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => {});
    throw new Error(`Cannot connect to PostgreSQL at ${redact(databaseUrl)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const prepared = preparer();
  const run = async (q: pg.Pool | pg.PoolClient, sql: string, params?: unknown[]) => {
    const config = prepared(sql, params);
    try {
      return await (typeof config === 'string' ? q.query(config) : q.query(config));
    } catch (err) {
      throw storeError(err);
    }
  };
  return {
    kind: 'postgres',
    async query<T extends Row>(sql: string, params?: unknown[]) {
      try {
        return (await run(pool, sql, params)).rows as T[];
      } catch (err) {
        if (isShortOfResources(err)) throw shortOfResourcesError();
        throw isContended(err) ? contendedError() : err;
      }
    },
    async transaction<T>(fn: (q: Queryable) => Promise<T>) {
      for (let attempt = 1; ; attempt++) {
        if (attempt > 1) await backoff(attempt - 1);
        const client = await pool.connect();
        let broken: Error | undefined;
        // A checked-out client has no listener of the pool's: a connection cut meanwhile (a server
        // restart, pg_terminate_backend) would be an unhandled 'error' event, which ends the process.
        // It fails this transaction instead, and the client is destroyed on release.
        const onError = (err: Error) => {
          broken ??= err;
        };
        client.on('error', onError);
        try {
          await run(client, 'BEGIN');
          const result = await fn({
            async query<R extends Row>(sql: string, params?: unknown[]) {
              return (await run(client, sql, params)).rows as R[];
            },
          });
          await run(client, 'COMMIT');
          return result;
        } catch (err) {
          try {
            await client.query('ROLLBACK');
          } catch (rollbackErr) {
            broken = rollbackErr as Error;
          }
          if (isShortOfResources(err)) throw shortOfResourcesError();
          if (!isContended(err)) throw err;
          if (attempt < MAX_ATTEMPTS) continue;
          throw contendedError();
        } finally {
          client.off('error', onError);
          client.release(broken);
        }
      }
    },
    async close() {
      await pool.end();
    },
  };
}

/**
 * The URL without its secrets, for error messages: the password (`user:password@`) and the value of
 * every query parameter whose name says it is one (`password`, `sslpassword`, `sslkey`: any name with
 * "pass", "key", "secret" or "token" in it, in any case, as node-postgres reads them decoded).
 */
export function redact(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    const secret = (name: string) => /pass|key|secret|token/i.test(name);
    if ([...url.searchParams.keys()].some(secret)) {
      const query = new URLSearchParams();
      for (const [name, value] of url.searchParams) query.append(name, secret(name) ? '***' : value);
      url.search = query.toString();
    }
    return url.toString();
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}
