// While the remote is down (it refuses connections) and its circuit opens, the push round that meets
// the open circuit is the status's last error, as docs/sync.md promises for a failed push round.
// In-process: PGlite on both sides; the remote facade is stopped.
import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import type { SyncService } from '../../src/sync/index.ts';
import { consent, patient, score } from './helpers/fixtures.ts';
import { type SyncPair, openMemorySyncPair } from './helpers/remote.ts';
import { drain } from './helpers/waits.ts';

let pair: SyncPair;
let store: Store;
let sync: SyncService;

beforeAll(async () => {
  pair = await openMemorySyncPair(
    { retryBaseMs: 50 },
    {
      retry: { maxAttempts: 1, initialDelayMs: 10 },
      breaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 },
    },
  );
  ({ store, sync } = pair);
}, 120_000);

// The remote is stopped already: closing it again may throw.
afterAll(() => pair?.close().catch(() => {}));

describe('a remote that refuses connections', () => {
  it("leaves the push round's error as the status's last error", async () => {
    const p = (await store.create(patient('041281-906V'))).resource as Patient;
    await store.create(consent(p.id as string));
    await drain(sync);
    await pair.remote.stop();

    await store.create(score(p.id as string, 4));
    await sync.pushOnce();
    const status = await sync.status();
    expect(status.failures.lastError).toMatch(/^\S+ .*circuit open/);
  }, 60_000);
});
