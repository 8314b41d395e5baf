// A Consent written while its client's rows are in flight: the round read the consents before it, so
// its "blocked" verdict is stale and the rows go back to the queue instead of staying blocked (on
// PostgreSQL a push round and the Consent's transaction really do interleave so; here the
// interleaving is made step by step). Local store on PGlite; nothing is sent.
import type { Patient } from '@medplum/fhirtypes';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import { claim, settle, settleBlocked } from '../../src/sync/repository.ts';
import { dropDatabase, freshDatabase } from '../helpers/databases.ts';
import { consent, patient } from './helpers/fixtures.ts';
import { openOutboxOnlyStore } from './helpers/outbox-only.ts';

let store: Store;
beforeAll(async () => {
  store = await openOutboxOnlyStore();
});
afterAll(async () => {
  await store?.close();
});

const stateOf = async (id: string) =>
  (
    await store.query<{ state: string; reason: string | null }>(
      'SELECT state, reason FROM sync_outbox WHERE id = $1',
      [id],
    )
  )[0];

describe('a Consent that arrives while its client is in flight', () => {
  it('sends the blocked verdict of the round back to the queue; without one the row stays blocked', async () => {
    const late = (await store.create(patient('010181-900C'))).resource as Patient;
    const none = (await store.create(patient('010181-902E'))).resource as Patient;
    const rows = await claim(store, 'test~1', 10, 60_000);
    const rowOf = (p: Patient) => rows.find((r) => r.resource_id === p.id)!;
    expect(rows.map((r) => r.resource_id).sort()).toEqual([late.id, none.id].sort());

    // The round has read "no consent" for both; now the first client's Consent commits.
    await store.create(consent(late.id!));
    const blocked = await settleBlocked(
      store,
      'test~1',
      [rowOf(late).id, rowOf(none).id],
      'no consent recorded',
    );
    // Only the row that stays blocked is a refused disclosure (what the callers audit).
    expect(blocked).toEqual([rowOf(none).id]);

    expect(await stateOf(rowOf(late).id)).toEqual({ state: 'pending', reason: null });
    expect(await stateOf(rowOf(none).id)).toEqual({ state: 'blocked', reason: 'no consent recorded' });
  });

  it('a later claim starts unmarked: the mark of an earlier flight does not outlive its round', async () => {
    const p = (await store.create(patient('010181-903F'))).resource as Patient;
    const [first] = (await claim(store, 'test~2', 50, 60_000)).filter((r) => r.resource_id === p.id);
    await store.create(consent(p.id!)); // marks the row in flight
    await settle(store, 'test~2', [first!.id], 'pending'); // e.g. a transient failure: retried later
    // The next round reads the consents anew, so its verdict stands.
    const [again] = (await claim(store, 'test~3', 50, 60_000)).filter((r) => r.resource_id === p.id);
    expect(again!.id).toBe(first!.id);
    await settleBlocked(store, 'test~3', [again!.id], 'consent: not permitted');
    expect(await stateOf(again!.id)).toEqual({ state: 'blocked', reason: 'consent: not permitted' });
  });
});

// On PostgreSQL the Consent's transaction can run while a claim of its client's rows is not yet
// committed: its re-check must wait for that claim and mark the rows it took, not pass them over as
// pending (then nothing would release the round's "blocked").
describe('on PostgreSQL, a Consent written while a claim of its client is not yet committed', () => {
  let pgStore: Store;
  let url: string;
  let claimer: pg.Client;

  beforeAll(async () => {
    url = await freshDatabase('tyokyky_consent_race');
    pgStore = await openOutboxOnlyStore({ databaseUrl: url });
    claimer = new pg.Client({ connectionString: url });
    await claimer.connect();
  }, 60_000);
  afterAll(async () => {
    await claimer?.end();
    await pgStore?.close();
    if (url) await dropDatabase(url);
  });

  it('waits for the claim, marks the row, and the round\'s "blocked" sends it back to the queue', async () => {
    const p = (await pgStore.create(patient('010181-904H'))).resource as Patient;
    await claimer.query('BEGIN');
    const [row] = await claim(
      { query: async (sql, params) => (await claimer.query(sql, params)).rows },
      'test~pg',
      10,
      60_000,
    );
    expect(row?.resource_id).toBe(p.id);
    const writing = pgStore.create(consent(p.id!)); // its re-check waits on the claimed row's lock
    const waited = await waitForLockWait(url);
    await claimer.query('COMMIT');
    await writing;
    await settleBlocked(pgStore, 'test~pg', [row!.id], 'no consent recorded');
    const [after] = await pgStore.query<{ state: string }>('SELECT state FROM sync_outbox WHERE id = $1', [
      row!.id,
    ]);
    expect({ waited, state: after?.state }).toEqual({ waited: true, state: 'pending' });
  });
});

/** Whether a backend of this database comes to wait on a row lock within two seconds. */
async function waitForLockWait(url: string): Promise<boolean> {
  const watcher = new pg.Client({ connectionString: url });
  await watcher.connect();
  try {
    const until = Date.now() + 2_000;
    while (Date.now() < until) {
      const r = await watcher.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      if (r.rowCount) return true;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return false;
  } finally {
    await watcher.end();
  }
}
