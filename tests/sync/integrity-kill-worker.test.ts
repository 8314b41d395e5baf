// Integrity of both sides when a `tyokyky sync push --watch` process is killed with SIGKILL mid-push
// (dependent resources in flight, or the answer of a stored write on its way back) and restarted on the
// same store (rig and comparison: ./helpers/integrity.ts).
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { stopChild, tyokyky } from '../helpers/processes.ts';
import {
  editSome,
  expectBothSidesWhole,
  identifierOf,
  integrityRig,
  localAll,
  scaled,
  seedClients,
} from './helpers/integrity.ts';
import { emptied, waitFor } from './helpers/waits.ts';

const rig = integrityRig(952);
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) await stopChild(c, 'SIGKILL');
});

/** `tyokyky sync push --watch` on the local database: a worker process (the test's store owns the hook). */
function workerProcess(databaseUrl: string): ChildProcess {
  const child = tyokyky([
    'sync',
    'push',
    '--watch',
    '--database-url',
    databaseUrl,
    '--remote',
    rig.proxy.url,
    '--batch-size',
    '7',
    '--concurrency',
    '4',
    '--lease',
    '1500',
    '--timeout',
    '2000',
  ]);
  child.stdout?.resume();
  child.stderr?.resume();
  children.push(child);
  return child;
}

describe('a worker process killed with SIGKILL mid-push, dependent resources in flight', () => {
  it(
    'after a restart on the same store: nothing dangling, nothing twice, nothing lost, every edit kept',
    async () => {
      const { store, sync, url } = await rig.localSide();
      const { edits, goals } = await seedClients(rig, store, scaled(10));
      Object.assign(rig.proxy.faults, {
        errorRate: 0.08,
        statuses: [503, 429],
        retryAfter: '0',
        dropRate: 0.08,
      });
      try {
        const first = workerProcess(url);
        await waitFor(
          async () => {
            const s = (await sync.status()).states;
            return s.done > 5 && s.inflight > 0;
          },
          scaled(60_000),
          'rows delivered and a batch in flight',
        );
        await editSome(store, edits, scaled(6), 0); // edits queued while rows are in flight
        await stopChild(first, 'SIGKILL');
        expect((await sync.status()).queueDepth).toBeGreaterThan(0);
        await editSome(store, edits, scaled(6), scaled(3)); // and while no worker runs at all
        const restarted = workerProcess(url);
        await emptied(sync, scaled(120_000));
        await stopChild(restarted);
      } finally {
        Object.assign(rig.proxy.faults, { errorRate: 0, dropRate: 0 });
      }
      await expectBothSidesWhole(rig, { store, sync }, { edits, goals });
      expect((await sync.status()).conflicts).toBe(0);
    },
    scaled(240_000),
  );

  it(
    'killed while the answer of a write the remote already stored is on its way back: recognised as ours',
    async () => {
      const { store, sync, url } = await rig.localSide();
      const { edits, goals } = await seedClients(rig, store, scaled(4));
      const first = workerProcess(url);
      const heldBefore = rig.proxy.stats.held;
      // The first write's answer never reaches the worker: the remote stored it, the worker dies.
      Object.assign(rig.proxy.faults, { holdNext: 1, holdMethod: 'POST' });
      await waitFor(async () => rig.proxy.stats.held > heldBefore, 60_000, 'an answer on hold');
      await stopChild(first, 'SIGKILL');
      rig.proxy.releaseHeld(); // its worker is gone: nobody reads it
      rig.proxy.faults.holdMethod = undefined;
      // The remote holds resources of ours the local side has no mapping for.
      const ours = new Set<string>();
      for (const type of ['Patient', 'Consent', 'Observation', 'Goal', 'CarePlan'])
        for (const r of await localAll(store, type)) ours.add(identifierOf(r)!);
      const there = (await rig.remoteResources()).filter((r) => ours.has(identifierOf(r)!)).length;
      const [{ mapped }] = await store.query<{ mapped: number }>(
        'SELECT count(*)::int AS mapped FROM sync_idmap',
      );
      expect(there).toBeGreaterThan(mapped);
      const restarted = workerProcess(url);
      await emptied(sync, scaled(120_000));
      await stopChild(restarted);
      await expectBothSidesWhole(rig, { store, sync }, { edits, goals });
      expect((await sync.status()).conflicts).toBe(0);
    },
    scaled(240_000),
  );
});
