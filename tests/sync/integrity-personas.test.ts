// Integrity of both sides for the persona Bundles: consent gates whole clients, directory resources stay
// local (rig and comparison: ./helpers/integrity.ts).
import { describe, expect, it } from 'vitest';
import { compare, identifierOf, integrityRig, loadPersona, referencesIn } from './helpers/integrity.ts';
import { drain } from './helpers/waits.ts';

const rig = integrityRig(1000);

describe('persona flow', () => {
  it('default party: clients whose consents do not cover identification are blocked whole; pull says why it skips them', async () => {
    const { store, sync } = await rig.localSide();
    const loaded = [];
    for (const name of ['maija', 'sirpa', 'suvi']) loaded.push(...(await loadPersona(store, name)));
    await drain(sync, 120_000);
    const status = await sync.status();
    expect(status.states.done).toBe(0);
    expect(status.blockedByConsent).toBeGreaterThan(10);
    for (const row of await sync.blocked(1000))
      expect(row.reason).toMatch(/^not disclosed: identification to other-health-care/);
    const remote = new Set((await rig.remoteResources()).map(identifierOf));
    expect(loaded.filter((r) => remote.has(identifierOf(r))).map((r) => r.resourceType)).toEqual([]);
    const pulled = await sync.pullOnce();
    expect(pulled.skippedClients).toHaveLength(3);
    for (const s of pulled.skippedClients)
      expect(s.reason).toMatch(/its Patient is not on the remote \(blocked: not disclosed: identification/);
    // …and status says so too (a background pull has no caller to tell).
    expect((await sync.status()).lastPullSkipped).toEqual(pulled.skippedClients);
  }, 120_000);

  it('party kela: a client whose consent covers kela arrives whole, directory references made logical', async () => {
    const { store, sync } = await rig.localSide('kela');
    const loaded = await loadPersona(store, 'suvi');
    await drain(sync, 120_000);
    const { byIdentifier } = await compare(rig, store, [
      'Patient',
      'Observation',
      'CarePlan',
      'Goal',
      'ServiceRequest',
      'CareTeam',
      'Consent',
    ]);
    const status = await sync.status();
    expect(status.states.dead).toBe(0);
    expect(status.states.held).toBe(0);
    // What went: Patient and what consent lets kela see; directory resources stay local, referred to
    // by identifier.
    const patientThere = byIdentifier.get(identifierOf(loaded.find((r) => r.resourceType === 'Patient')!));
    expect(patientThere).toBeDefined();
    const sent = loaded.filter((r) => byIdentifier.has(identifierOf(r)));
    expect(sent.some((r) => r.resourceType === 'PractitionerRole' || r.resourceType === 'Organization')).toBe(
      false,
    );
    const logical = sent.flatMap((r) => referencesIn(byIdentifier.get(identifierOf(r))));
    expect(
      logical.every((ref) => !ref.startsWith('PractitionerRole/') && !ref.startsWith('Organization/')),
    ).toBe(true);
  }, 120_000);
});
