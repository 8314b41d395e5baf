// A record of one client that refers to another client's data — not only to that client's Patient,
// to any resource of theirs (a goal addressing another client's score) — is held while that other
// client's identification may not be disclosed to the party, with the reason, and not sent; the
// referenced resource being on the remote already changes nothing. In-process: PGlite on both sides.
import type { Consent, Goal, Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import type { SyncService } from '../../src/sync/index.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import { consent, goal, patient, remoteCopiesOf, score, withdrawn } from './helpers/fixtures.ts';
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

async function client(hetu: string): Promise<{ p: Patient; k: Consent; o: Observation }> {
  const p = (await store.create(patient(hetu))).resource as Patient;
  const k = (await store.create(consent(p.id as string))).resource as Consent;
  const o = (await store.create(score(p.id as string, 5))).resource as Observation;
  return { p, k, o };
}

describe("a record referring to another client's data", () => {
  it("is held while that client's consent is withdrawn, with the reason, and not sent", async () => {
    const a = await client('021281-9042');
    const b = await client('031281-905U');
    const g = (await store.create(goal(b.p.id as string, b.o.id as string))).resource as Goal;
    await drain(sync);
    expect(await remoteCopiesOf(remote.url, a.o)).toHaveLength(1);

    await store.update(withdrawn(a.k), { ifMatchOptional: true });
    await drain(sync);
    const linked: Goal = {
      ...g,
      addresses: [...(g.addresses ?? []), { reference: `Observation/${a.o.id}` }],
    };
    await store.update(linked, { ifMatchOptional: true });
    await drain(sync);

    const [there] = (await remoteCopiesOf(remote.url, g)) as Goal[];
    expect(there?.addresses).toHaveLength(1);
    const held = await sync.held();
    const row = held.find((r) => r.resource_id === g.id);
    expect(row?.reason).toMatch(
      new RegExp(
        `^held: refers to Observation/${a.o.id}, of another client \\(Patient/${a.p.id}\\) — not disclosed: identification`,
      ),
    );
    expect((await sync.status()).heldByDependency).toBeGreaterThanOrEqual(1);
  });
});
