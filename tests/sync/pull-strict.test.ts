// Pulled resources are judged as a write here would be, strict-profile included: a sync told the
// facade is strict refuses a pulled resource of our families that declares none of our profiles, and
// lists it as refused, as the facade refuses the same write with a 422.
// In-process: PGlite on both sides; the remote is not strict.
import type { Consent, Patient } from '@medplum/fhirtypes';
import { afterEach, describe, expect, it } from 'vitest';
import { consent, patient, remoteCopiesOf, remotePost } from './helpers/fixtures.ts';
import { type SyncPair, openMemorySyncPair } from './helpers/remote.ts';
import { drain } from './helpers/waits.ts';

let pair: SyncPair | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

/** A client pushed to the remote, and a Consent the remote gains for it without meta.profile. */
async function consentWithoutProfile(p: SyncPair, hetu: string): Promise<Consent> {
  const client = (await p.store.create(patient(hetu))).resource as Patient;
  await p.store.create(consent(client.id as string));
  await drain(p.sync);
  const [there] = await remoteCopiesOf(p.remote.url, client);
  const { meta: _meta, ...bare } = consent(there?.id as string);
  return remotePost(p.remote.url, bare as Consent);
}

const heldHere = async (p: SyncPair, c: Consent) =>
  (await p.store.findByIdentifiers('Consent', c.identifier as { system: string; value: string }[]))[0];

describe('strict-profile on pulled resources', () => {
  it('strict: a pulled Consent without one of our profiles is refused and listed at Consent.meta.profile', async () => {
    pair = await openMemorySyncPair({ strict: true, pullTypes: ['Consent'] });
    const bare = await consentWithoutProfile(pair, '281181-928S');
    const pulled = await pair.sync.pullOnce();
    expect(pulled.refused).toBe(1);
    expect(await heldHere(pair, bare)).toEqual([]);
    const { pullRefused } = await pair.sync.status();
    expect(pullRefused.total).toBe(1);
    expect(pullRefused.newest[0]).toMatchObject({ resourceType: 'Consent', remoteId: bare.id });
    expect(pullRefused.newest[0]?.reason).toMatch(/error required at Consent\.meta\.profile/);
  });

  it('not strict (--no-strict, and createSync by default): the same Consent is stored', async () => {
    pair = await openMemorySyncPair({ pullTypes: ['Consent'] });
    const bare = await consentWithoutProfile(pair, '291181-929E');
    const pulled = await pair.sync.pullOnce();
    expect(pulled.refused).toBe(0);
    expect(await heldHere(pair, bare)).toHaveLength(1);
  });
});
