// Turvakielto added after a version was queued: the party receives no version of the client with what
// the label protects, as the facade shows no earlier version of theirs unredacted (docs/security.md).
// In-process: PGlite on both sides.
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import type { SyncService } from '../../src/sync/index.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import { consent, patient, remoteCopiesOf } from './helpers/fixtures.ts';
import { type SyncPair, openMemorySyncPair } from './helpers/remote.ts';
import { drain } from './helpers/waits.ts';

let pair: SyncPair;
let remote: FacadeHere;
let store: Store;
let sync: SyncService;

beforeAll(async () => {
  pair = await openMemorySyncPair();
  ({ remote, store, sync } = pair);
}, 120_000);

afterAll(() => pair?.close());

const TURVAKIELTO = {
  system: 'https://hl7.fi/fhir/finnish-base-profiles/CodeSystem/fi-base-security-label-cs',
  code: 'TURVAKIELTO',
};
const labelled = (p: Patient): Patient => ({ ...p, meta: { ...p.meta, security: [TURVAKIELTO] } });
const address = [{ line: ['Salaojantie 5'], city: 'Kemi' }];

/** The id of the remote's copy of the local Patient `local`. */
async function remoteIdOf(local: Patient): Promise<string> {
  const [copy] = await remoteCopiesOf(remote.url, local);
  if (!copy) throw new Error('the Patient is not on the remote');
  return copy.id as string;
}

/** Every version the remote holds of its Patient `id` (a deletion too), as text. */
async function remoteHistory(id: string): Promise<{ versions: number; text: string }> {
  const history = (await (await fetch(`${remote.url}/Patient/${id}/_history`)).json()) as Bundle;
  return { versions: history.entry?.length ?? 0, text: JSON.stringify(history) };
}

describe('turvakielto added after a version was queued', () => {
  it('an earlier version waiting in the outbox is sent redacted once the current one carries the label', async () => {
    // Queued before the consent and the label: v1 with the address, then the Consent, then v2 labelled.
    const v1 = (await store.create({ ...patient('271181-9273'), address })).resource as Patient;
    await store.create(consent(v1.id as string));
    await store.update(labelled(v1), { ifMatchOptional: true });
    await drain(sync);
    const { versions, text } = await remoteHistory(await remoteIdOf(v1));
    expect(versions).toBe(2);
    expect(text).toContain('"REDACTED"');
    expect(text).not.toContain('Salaojantie');
  });

  it('a version of a Patient deleted here, with the label on before its deletion, is sent redacted', async () => {
    // On the remote already (without an address); then an address, the label and the deletion here.
    const v1 = (await store.create(patient('281181-926P'))).resource as Patient;
    await store.create(consent(v1.id as string));
    await drain(sync);
    const there = await remoteIdOf(v1);
    const v2 = (await store.update({ ...v1, address }, { ifMatchOptional: true })).resource as Patient;
    await store.update(labelled(v2), { ifMatchOptional: true });
    await store.delete('Patient', v1.id as string);
    await drain(sync);
    const { versions, text } = await remoteHistory(there);
    // Created, the address, the label (the remote refuses the deletion while the Consent refers to it).
    expect(versions).toBeGreaterThanOrEqual(3);
    expect(text).not.toContain('Salaojantie');
  });
});
