// What an operator lists (`sync dead-letters`, `sync conflicts`, /api/sync/rows and /conflicts) comes in
// the order the rows were written — queue order, or the newest conflict first — past the row ids
// whose text sorts otherwise (9 before 10), and the limit keeps the first rows of that order. Their times
// are ISO instants, as the sync status gives its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import { recordConflict } from '../../src/sync/repository.ts';

const ROWS = 12;
let store: Store;
let sync: SyncService;
const deadIds: string[] = [];

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  sync = createSync({ store, remote: { baseUrl: 'http://127.0.0.1:9/fhir', party: 'kela' } });
  await sync.ready;
  for (let n = 1; n <= ROWS; n++) {
    const [row] = await store.query<{ id: string }>(
      `INSERT INTO sync_outbox (resource_type, resource_id, version_id, action, state, reason)
       VALUES ('Observation', $1, '1', 'create', 'dead', 'refused') RETURNING id::text AS id`,
      [`o${n}`],
    );
    deadIds.push(row.id);
    await recordConflict(store, {
      outboxId: row.id,
      type: 'Observation',
      localId: `o${n}`,
      policy: 'local-wins',
      resolution: 'local written',
      detail: {},
    });
  }
});

afterAll(async () => {
  await sync?.stop();
  await store?.close();
});

describe('operator listings', () => {
  it('dead letters in queue order, the oldest first', async () => {
    expect((await sync.rows('dead', 3)).map((r) => r.resource_id)).toEqual(['o1', 'o2', 'o3']);
    expect((await sync.rows('dead')).map((r) => r.id)).toEqual(deadIds);
  });

  it('conflicts, the newest first', async () => {
    expect((await sync.conflicts(3)).map((c) => c.resource_id)).toEqual(['o12', 'o11', 'o10']);
  });

  it('give their times as ISO instants in UTC, whatever time zone the database session has', async () => {
    await store.query(`SET TIME ZONE 'Europe/Helsinki'`);
    try {
      const [row] = await sync.rows('dead', 1);
      const [conflict] = await sync.conflicts(1);
      for (const when of [row.created_at, row.updated_at, conflict.created_at]) {
        expect(when).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(Math.abs(Date.parse(when) - Date.now())).toBeLessThan(60_000);
      }
    } finally {
      await store.query(`SET TIME ZONE 'UTC'`);
    }
  });
});
