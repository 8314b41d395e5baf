// Integrity of both sides when the local facade (`tyokyky serve --remote`) is killed with SIGKILL mid-push
// and restarted on the same database (rig and comparison: ./helpers/integrity.ts).
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { startServe, stopChild } from '../helpers/processes.ts';
import { editSome, expectBothSidesWhole, integrityRig, seedClients } from './helpers/integrity.ts';
import { waitFor } from './helpers/waits.ts';

const rig = integrityRig(966);
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) await stopChild(c, 'SIGKILL');
});

describe('a worker process killed with SIGKILL mid-push, dependent resources in flight', () => {
  it('the local facade (serve --remote, default 120 s lease) killed mid-push resumes at once after a restart', async () => {
    const { store, sync, url } = await rig.localSide();
    // More than one round of the facade's worker (batches of 100): some settled while others are in flight.
    const { edits, goals } = await seedClients(rig, store, 30);
    const serve = () => startServe(['--database-url', url, '--remote', rig.proxy.url]);
    // The first Bundle's answer is held until the kill, so rows are in flight whatever the timing, while
    // the other send slot delivers; 503/429 on the way. (Lost answers with a kill: integrity-kill-worker.test.ts.)
    Object.assign(rig.proxy.faults, {
      errorRate: 0.08,
      statuses: [503, 429],
      retryAfter: '0',
      holdNext: 1,
      holdMethod: 'POST',
    });
    let restarted: Awaited<ReturnType<typeof serve>> | undefined;
    try {
      const first = await serve();
      children.push(first.child);
      await waitFor(
        async () => {
          const s = (await sync.status()).states;
          return s.done > 0 && s.inflight > 0;
        },
        60_000,
        'rows delivered and rows in flight',
      );
      await stopChild(first.child, 'SIGKILL');
      rig.proxy.releaseHeld(); // its worker is gone: nobody reads it
      Object.assign(rig.proxy.faults, { holdNext: 0, holdMethod: undefined });
      expect((await sync.status()).states.inflight).toBeGreaterThan(0); // leased to a dead process
      await editSome(store, edits, 6, 0);
      const started = Date.now();
      restarted = await serve();
      children.push(restarted.child);
      await waitFor(async () => (await sync.status()).queueDepth === 0, 90_000, 'the outbox to drain');
      // Well inside the dead process's 120 s leases: its rows were taken back at once.
      expect(Date.now() - started).toBeLessThan(90_000);
    } finally {
      Object.assign(rig.proxy.faults, { errorRate: 0, holdNext: 0, holdMethod: undefined });
      await restarted?.stop();
    }
    await expectBothSidesWhole(rig, { store, sync }, { edits, goals });
  }, 240_000);
});
