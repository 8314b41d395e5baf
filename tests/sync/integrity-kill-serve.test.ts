// Integrity of both sides when the local facade (`tyokyky serve --remote`) is killed with SIGKILL mid-push
// and restarted on the same database (rig and comparison: ./helpers/integrity.ts).
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { startServe, stopChild } from '../helpers/processes.ts';
import { editSome, expectBothSidesWhole, integrityRig, scaled, seedClients } from './helpers/integrity.ts';
import { emptied, waitFor } from './helpers/waits.ts';

const rig = integrityRig(966);
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) await stopChild(c, 'SIGKILL');
});

describe('a worker process killed with SIGKILL mid-push, dependent resources in flight', () => {
  it(
    'the local facade (serve --remote, default 120 s lease) killed mid-push resumes at once after a restart',
    async () => {
      const { store, sync, url } = await rig.localSide();
      // More than one round of the facade's worker (batches of 100): some settled while others are in flight.
      const { edits, goals } = await seedClients(rig, store, scaled(30));
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
          scaled(60_000),
          'rows delivered and rows in flight',
        );
        await stopChild(first.child, 'SIGKILL');
        rig.proxy.releaseHeld(); // its worker is gone: nobody reads it
        Object.assign(rig.proxy.faults, { holdNext: 0, holdMethod: undefined });
        const orphans = await store.query<{ id: string; claimed_by: string }>(
          "SELECT id::text, claimed_by FROM sync_outbox WHERE state = 'inflight'",
        );
        expect(orphans.length).toBeGreaterThan(0); // leased to a dead process
        await editSome(store, edits, scaled(6), 0);
        const started = Date.now();
        restarted = await serve();
        children.push(restarted.child);
        // Well inside the dead process's 120 s leases: its rows were taken back at once.
        await waitFor(
          async () => {
            const still = await store.query(
              `SELECT 1 FROM sync_outbox WHERE state = 'inflight' AND id::text = ANY($1) AND claimed_by = ANY($2)`,
              [orphans.map((o) => o.id), orphans.map((o) => o.claimed_by)],
            );
            return still.length === 0;
          },
          90_000,
          "the dead process's rows taken back",
        );
        expect(Date.now() - started).toBeLessThan(90_000);
        await emptied(sync, scaled(90_000));
      } finally {
        Object.assign(rig.proxy.faults, { errorRate: 0, holdNext: 0, holdMethod: undefined });
        await restarted?.stop();
      }
      await expectBothSidesWhole(rig, { store, sync }, { edits, goals });
    },
    scaled(240_000),
  );
});
