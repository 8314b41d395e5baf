// Integrity of both sides under faults: 503/429, hangs and lost answers while two sync workers push
// dependent resources and the local side keeps editing (rig and comparison: ./helpers/integrity.ts).
import type { Observation } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { expectBothSidesWhole, integrityRig, scaled, seedClients } from './helpers/integrity.ts';
import { drain } from './helpers/waits.ts';

const rig = integrityRig(940);

describe('dependent resources under faults (503/429, hangs, lost answers), two workers × four rounds in flight', () => {
  it(
    'nothing dangling, nothing twice, nothing lost, every local edit on the remote',
    async () => {
      const { store, sync } = await rig.localSide();
      const second = rig.worker(store, 'other-health-care', { installHook: false });
      await second.ready;
      const { edits, goals } = await seedClients(rig, store, scaled(12));
      Object.assign(rig.proxy.faults, {
        errorRate: 0.12,
        statuses: [503, 429],
        retryAfter: '0',
        hangRate: 0.03,
        hangMs: 1_500,
        dropRate: 0.1,
        // Besides the random ones, a fixed number of each kind, so the run always meets more than ten
        // faults (with rates alone a small push sometimes met only four).
        errorNext: 4,
        hangNext: 2,
        dropNext: 5,
      });
      try {
        // Local edits while the push is under way: each must survive on both sides.
        const pushing = Promise.all([drain(sync, scaled(120_000)), drain(second, scaled(120_000))]);
        let n = 0;
        for (const [id] of [...edits].slice(0, scaled(12))) {
          const current = await store.read<Observation>('Observation', id);
          const value = (n++ % 10) + 1;
          await store.update({ ...current, valueInteger: value }, { ifMatchOptional: true });
          edits.set(id, value);
          await new Promise((r) => setTimeout(r, 20));
        }
        await pushing;
        await drain(sync, scaled(120_000));
      } finally {
        Object.assign(rig.proxy.faults, {
          errorRate: 0,
          hangRate: 0,
          dropRate: 0,
          errorNext: 0,
          hangNext: 0,
          dropNext: 0,
        });
      }
      expect(rig.proxy.stats.injected + rig.proxy.stats.dropped + rig.proxy.stats.hung).toBeGreaterThan(10);
      await expectBothSidesWhole(rig, { store, sync }, { edits, goals });
    },
    scaled(300_000),
  );
});
