// stop() is final (docs/sync.md): a stopped service's one-shot push, pull, refused-again pull and backfill
// throw AbortError instead of reporting an empty round, and leave the outbox as it was. The remote is never reached.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import { patient } from './helpers/fixtures.ts';

let store: Store;
let sync: SyncService;

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  // Nothing listens on port 9: the service must not get as far as asking.
  sync = createSync({ store, remote: { baseUrl: 'http://127.0.0.1:9/fhir', party: 'kela' } });
  await sync.ready;
});

afterAll(async () => {
  sync.detach();
  await store.close();
});

it('after stop(), pushOnce, pushRound and pullOnce throw AbortError; the queued row stays queued', async () => {
  await store.create(patient());
  const queued = (await sync.status()).queueDepth;
  expect(queued).toBeGreaterThan(0);
  await sync.stop();
  await expect(sync.pushOnce()).rejects.toMatchObject({ name: 'AbortError' });
  await expect(sync.pushRound()).rejects.toMatchObject({ name: 'AbortError' });
  await expect(sync.pullOnce()).rejects.toMatchObject({ name: 'AbortError' });
  expect((await sync.status()).queueDepth).toBe(queued);
});

it('after stop(), pullRefusedAgain and backfill (first or forced) throw AbortError; nothing is queued', async () => {
  await sync.stop();
  const queued = (await sync.status()).queueDepth;
  await expect(sync.pullRefusedAgain()).rejects.toMatchObject({ name: 'AbortError' });
  await expect(sync.backfill()).rejects.toMatchObject({ name: 'AbortError' });
  await expect(sync.backfill({ force: true })).rejects.toMatchObject({ name: 'AbortError' });
  expect((await sync.status()).queueDepth).toBe(queued);
});
