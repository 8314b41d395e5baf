// Integrity of both sides when our own answer is held back or lost around a pull or a 412 (rig:
// ./helpers/integrity.ts).
import type { Consent, Observation, Patient } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { consent, patient, remoteAll, remotePut, score } from './helpers/fixtures.ts';
import { identifierOf, integrityRig } from './helpers/integrity.ts';
import { drain } from './helpers/waits.ts';

const rig = integrityRig(996);

describe('our own answer held back while a pull runs', () => {
  it('the pull does not take our previous version for a remote change: the newer local edit survives', async () => {
    const { store, sync } = await rig.localSide();
    const p = (await store.create(patient(rig.nextHetu()))).resource as Patient;
    let k = (await store.create(consent(p.id!))).resource as Consent;
    await drain(sync, 120_000);
    const edit = (label: string) => ({
      ...k,
      text: { status: 'generated' as const, div: `<div xmlns="http://www.w3.org/1999/xhtml">${label}</div>` },
    });
    k = (await store.update(edit('Muokkaus 1'), { ifMatchOptional: true })).resource as Consent;
    rig.proxy.faults.holdNext = 1;
    const pushing = sync.pushOnce();
    const end = Date.now() + 30_000;
    while (rig.proxy.stats.held === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(rig.proxy.stats.held).toBeGreaterThan(0); // the remote stored edit 1; its answer is on hold
    k = (await store.update(edit('Muokkaus 2'), { ifMatchOptional: true })).resource as Consent;
    const pulled = await sync.pullOnce();
    expect(pulled.applied).toBe(0);
    expect((await store.read<Consent>('Consent', k.id!)).text?.div).toContain('Muokkaus 2');
    rig.proxy.releaseHeld();
    await pushing;
    await drain(sync, 120_000);
    await sync.pullOnce();
    expect((await store.read<Consent>('Consent', k.id!)).text?.div).toContain('Muokkaus 2');
    const [there] = (await remoteAll(
      rig.facade.url,
      'Consent',
      `identifier=${encodeURIComponent(`urn:ietf:rfc:3986|${identifierOf(k)}`)}`,
    )) as Consent[];
    expect(there.text?.div).toContain('Muokkaus 2');
    expect((await sync.status()).conflicts).toBe(0);
  }, 120_000);

  it('a lost answer on a local-wins overwrite after a 412 is recognised as ours, not a dead letter', async () => {
    const { store, sync } = await rig.localSide();
    const p = (await store.create(patient(rig.nextHetu()))).resource as Patient;
    await store.create(consent(p.id!));
    let o = (await store.create(score(p.id!, 3))).resource as Observation;
    await drain(sync, 120_000);
    const [there] = (await remoteAll(
      rig.facade.url,
      'Observation',
      `identifier=${encodeURIComponent(`urn:ietf:rfc:3986|${identifierOf(o)}`)}`,
    )) as Observation[];
    await remotePut(rig.facade.url, { ...there, valueInteger: 9 }); // a real concurrent remote edit
    o = (await store.update({ ...o, valueInteger: 4 }, { ifMatchOptional: true })).resource as Observation;
    // PUT → 412, GET (a real remote edit), PUT over it: the answer of that third request is lost
    // (the remote has our content; the client sees a 503 and retries into a 412).
    const droppedBefore = rig.proxy.stats.dropped;
    rig.proxy.faults.dropAt = 3;
    await drain(sync, 120_000);
    expect(rig.proxy.stats.dropped).toBe(droppedBefore + 1);
    const status = await sync.status();
    expect(status.states.dead).toBe(0);
    expect(status.conflicts).toBe(1);
    const [after] = (await remoteAll(
      rig.facade.url,
      'Observation',
      `identifier=${encodeURIComponent(`urn:ietf:rfc:3986|${identifierOf(o)}`)}`,
    )) as Observation[];
    expect(after.valueInteger).toBe(4);
    // The id map holds the version that is there now: the next edit goes through without a 412.
    await store.update({ ...o, valueInteger: 5 }, { ifMatchOptional: true });
    await drain(sync, 120_000);
    expect((await sync.status()).conflicts).toBe(1);
  }, 120_000);
});
