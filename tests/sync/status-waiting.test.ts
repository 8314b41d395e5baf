// `status().waiting`: what the sync waits for right now and for how long — never a negative time, also
// for a wait that began while the status was being read (its queries take a while on a busy store).
// Local PGlite store; the remote is never asked.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import type { Wait } from '../../src/sync/context.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import { readStatus } from '../../src/sync/status.ts';

let store: Store;
let sync: SyncService;

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  // Port 9 (discard): nothing answers there, and nothing here asks.
  sync = createSync({ store, remote: { baseUrl: 'http://127.0.0.1:9/fhir', party: 'other-health-care' } });
  await sync.ready;
});
afterAll(async () => {
  await sync?.stop();
  await store?.close();
});

describe('status waiting', () => {
  it('a wait that began while the status was read counts from when it began, not before', async () => {
    const waits = new Map<symbol, Wait>();
    // A request starts while the status counts the conflicts.
    const reading = {
      async query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
        if (sql.includes('FROM sync_conflict')) {
          await sleep(25);
          waits.set(Symbol(), { what: 'remote POST Patient', since: Date.now() });
        }
        return store.query<T>(sql, params);
      },
    };
    const status = await readStatus({
      store: reading,
      remote: sync.remote,
      party: 'other-health-care',
      waits,
    });
    expect(status.waiting.map((w) => w.what)).toEqual(['remote POST Patient']);
    expect(status.waiting[0].forMs).toBeGreaterThanOrEqual(0);
  });
});
