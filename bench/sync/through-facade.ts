// The end-to-end path an EHR takes: transaction Bundles POSTed to OUR facade (in this process, on the
// bench's local store) with the sync attached and its push loops running as under `tyokyky serve
// --remote`, until the last resource is on the remote.
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { startServer } from '../../src/server/index.ts';
import type { Store } from '../../src/store/index.ts';
import type { SyncService } from '../../src/sync/index.ts';
import { countInStates } from '../../src/sync/repository.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';

export interface LocalFacade {
  /** FHIR base of the local facade, e.g. http://127.0.0.1:PORT/fhir. */
  url: string;
  sync: SyncService;
  /** Stops the push loops (in-flight rounds finish), then the server; the store stays open. Idempotent. */
  close(): Promise<void>;
}

/**
 * The facade `tyokyky serve --remote` runs, on `store` (whose outbox hook is already installed): not
 * strict, like the remote facade (the workload carries no meta.profile), auth off on loopback, and
 * `sync`'s push loops started (the pull loop is left off: the bench measures the push; nothing is
 * followed for pull in this part).
 */
export async function startLocalFacade(store: Store, sync: SyncService): Promise<LocalFacade> {
  await sync.ready;
  const running = await startServer({
    store,
    validator: await loadProjectValidator(),
    sync,
    strict: false,
    port: 0,
    logger: pino({ level: 'silent' }),
    rateLimit: 10_000_000,
  });
  sync.start({ pull: false });
  let closed: Promise<void> | undefined;
  return {
    url: `${running.url}/fhir`,
    sync,
    close() {
      closed ??= sync.stop().then(() => running.close());
      return closed;
    },
  };
}

/** Outbox rows still to go (pending, in flight, or held back by a dependency). */
export function unsettled(store: Store): Promise<number> {
  return countInStates(store, ['pending', 'inflight', 'held']);
}

/** Resolves when the outbox is drained and settled (polled every 20 ms); throws past `timeoutMs`. */
export async function drained(store: Store, timeoutMs = 600_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while ((await unsettled(store)) > 0) {
    if (performance.now() > until) throw new Error('the outbox did not drain in time');
    await sleep(20);
  }
}

/** Zeroes the sync's cumulative time split, so it covers only the timed run after a warm-up. */
export function resetTimings(sync: SyncService): void {
  const t = sync.timings as unknown as Record<string, number>;
  for (const k of Object.keys(t)) t[k] = 0;
}
