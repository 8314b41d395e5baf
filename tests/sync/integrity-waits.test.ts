// Long waits of the sync are bounded and observable: a hanging remote shows in status (rig:
// ./helpers/integrity.ts).
import type { Patient } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { consent, patient } from './helpers/fixtures.ts';
import { integrityRig } from './helpers/integrity.ts';
import { drain } from './helpers/waits.ts';

const rig = integrityRig(998);

describe('long waits are bounded and observable', () => {
  it('a push whose remote hangs says what it waits for in status (the round and the request), none after', async () => {
    const { store, sync } = await rig.localSide();
    const p = (await store.create(patient(rig.nextHetu()))).resource as Patient;
    await store.create(consent(p.id!));
    await sync.remote.bundleMode(); // the capabilities are read before the hang
    Object.assign(rig.proxy.faults, { hangRate: 1, hangMs: 20_000 });
    let pushing: Promise<unknown> = Promise.resolve();
    try {
      pushing = sync.pushOnce();
      await new Promise((r) => setTimeout(r, 600));
      const waiting = (await sync.status()).waiting.map((w) => w.what);
      // The Consent refers to its Patient: both go in one transaction Bundle (urn:uuid between them).
      expect(waiting).toEqual(['push: transaction Bundle of 2', 'remote POST (base)']);
    } finally {
      Object.assign(rig.proxy.faults, { hangRate: 0, hangMs: 0 });
    }
    await pushing;
    await drain(sync, 120_000);
    expect((await sync.status()).waiting).toEqual([]);
    expect((await sync.status()).states.done).toBe(2);
  }, 60_000);

  it('a pull whose remote hangs says what it waits for in status, and stops at its bound', async () => {
    const { store, sync } = await rig.localSide('other-health-care', { pullTimeoutMs: 2_500 });
    const p = (await store.create(patient(rig.nextHetu()))).resource as Patient;
    await store.create(consent(p.id!));
    await drain(sync, 120_000);
    Object.assign(rig.proxy.faults, { hangRate: 1, hangMs: 20_000 });
    try {
      const started = Date.now();
      const pulling = sync.pullOnce().then(
        () => 'finished',
        (err: Error) => err.message,
      );
      await new Promise((r) => setTimeout(r, 600));
      const waiting = (await sync.status()).waiting;
      expect(waiting.map((w) => w.what)).toContainEqual(
        expect.stringMatching(/^pull: remote search Consent\?patient=Patient\//),
      );
      expect(await pulling).toMatch(
        /^sync-pull-1: pull stopped at its bound of 2500 ms while waiting for (pull: remote search|the remote)/,
      );
      expect(Date.now() - started).toBeLessThan(10_000);
      expect((await sync.status()).waiting).toEqual([]);
    } finally {
      Object.assign(rig.proxy.faults, { hangRate: 0, hangMs: 0 });
    }
  }, 60_000);
});
