// A PostgreSQL connection cut while a transaction holds it (a server restart, a failover, an
// administrator's pg_terminate_backend) fails that transaction only: the process lives on and the
// next statement gets a new connection.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { PG_URL, dropDatabase, freshDatabase } from '../helpers/databases.ts';

let databaseUrl = '';
let store: Store;

beforeAll(async () => {
  databaseUrl = await freshDatabase('tyokyky_store_cut');
  store = await openStore({ databaseUrl });
});

afterAll(async () => {
  await store?.close();
  if (databaseUrl) await dropDatabase(databaseUrl);
});

/** Ends backend `pid` from another connection, as an administrator or a restarting server does. */
async function terminate(pid: number): Promise<void> {
  const admin = new pg.Client({ connectionString: `${PG_URL}/postgres` });
  await admin.connect();
  try {
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  } finally {
    await admin.end();
  }
}

describe('store on PostgreSQL, a connection cut inside a transaction', () => {
  it('rejects that transaction, and the store answers the next statement on a new connection', async () => {
    let cut = 0;
    const inside = store.transaction(async (tx) => {
      const [row] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      cut = row!.pid;
      await terminate(cut);
      // The driver hears of the cut between statements (its 'error' event) before the next one fails.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await tx.query('SELECT 1');
    });
    await expect(inside).rejects.toThrow();
    const [after] = await store.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    expect(after!.pid).not.toBe(cut);
    const [again] = await store.query<{ ok: number }>('SELECT 1 AS ok');
    expect(again).toEqual({ ok: 1 });
  });
});
