// A local delete of a resource that a queued, not yet sent write of another resource still refers to
// (a goal written against a score, then unlinked from it, then the score deleted — all before a push):
// the delete goes after that write, so the remote never meets a reference to a resource it has just
// deleted; and when the score never reached the remote, the goal's version that names it is superseded
// by the later one instead of waiting for it for good. In-process: PGlite on both sides.
import type { Goal, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import type { SyncService } from '../../src/sync/index.ts';
import { SYNC_SCHEMA } from '../../src/sync/schema.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import { consent, goal, patient, remoteCopiesOf, score } from './helpers/fixtures.ts';
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

const onRemote = (r: Resource) => remoteCopiesOf(remote.url, r);

describe('a delete of a resource a queued write still refers to', () => {
  it('goes after that write: nothing dead, the goal on the remote unlinked, the score gone', async () => {
    const client = (await store.create(patient('221181-922P'))).resource as Patient;
    await store.create(consent(client.id as string));
    const o = (await store.create(score(client.id as string, 5))).resource as Observation;
    await drain(sync);
    const deadBefore = (await sync.status()).states.dead;

    const g = (await store.create(goal(client.id as string, o.id as string))).resource as Goal;
    const { addresses: _unlinked, ...unlinked } = g;
    await store.update(unlinked as Goal, { ifMatchOptional: true });
    await store.delete('Observation', o.id as string);
    await drain(sync);

    expect((await sync.status()).states.dead).toBe(deadBefore);
    expect(await onRemote(o)).toEqual([]);
    const [there] = (await onRemote(g)) as Goal[];
    expect(there?.addresses).toBeUndefined();
  });

  it('deleted before it reached the remote: the version that referred to it is superseded by the later one, and all settles', async () => {
    const client = (await store.create(patient('231181-923C'))).resource as Patient;
    await store.create(consent(client.id as string));
    await drain(sync);
    const before = await sync.status();

    const o = (await store.create(score(client.id as string, 5))).resource as Observation;
    const g = (await store.create(goal(client.id as string, o.id as string))).resource as Goal;
    const { addresses: _unlinked, ...unlinked } = g;
    await store.update(unlinked as Goal, { ifMatchOptional: true });
    await store.delete('Observation', o.id as string);
    await drain(sync);

    const { states } = await sync.status();
    for (const state of ['pending', 'held', 'dead', 'parked', 'blocked'] as const)
      expect(states[state] ?? 0).toBe(before.states[state] ?? 0);
    expect(await onRemote(o)).toEqual([]);
    const [there] = (await onRemote(g)) as Goal[];
    expect(there).toBeDefined();
    expect(there?.addresses).toBeUndefined();
    const [first] = await store.query<{ reason: string }>(
      "SELECT reason FROM sync_outbox WHERE resource_type = 'Goal' AND resource_id = $1 ORDER BY id LIMIT 1",
      [g.id],
    );
    expect(first?.reason).toBe('superseded: a later version of the resource is queued');
  });

  it('a delete queued before deletes took their client gets it when the sync schema is brought up to date (sync-9)', async () => {
    const client = (await store.create(patient('241181-9242'))).resource as Patient;
    await store.create(consent(client.id as string));
    const o = (await store.create(score(client.id as string, 5))).resource as Observation;
    await store.delete('Observation', o.id as string);
    const clientOfDelete = async () =>
      (
        await store.query<{ patient_id: string | null }>(
          "SELECT patient_id FROM sync_outbox WHERE action = 'delete' AND resource_id = $1",
          [o.id],
        )
      ).map((r) => r.patient_id);
    expect(await clientOfDelete()).toEqual([client.id]);
    // As an earlier release left it: no client on the delete row, and sync-9 not applied yet.
    await store.query(
      "UPDATE sync_outbox SET patient_id = NULL WHERE action = 'delete' AND resource_id = $1",
      [o.id],
    );
    await store.query("DELETE FROM schema_migrations WHERE name = 'sync-9'");
    for (const [name, statements] of SYNC_SCHEMA) await store.migrate(name, statements);
    expect(await clientOfDelete()).toEqual([client.id]);
    await drain(sync);
    expect(await onRemote(o)).toEqual([]);
  });
});
