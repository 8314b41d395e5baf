// A business identifier that passes from one local resource to another: the first is deleted here, a
// new one carries the identifier (a record entered again). Whether or not the first reached the remote
// before, the remote ends with one resource for the identifier, holding the new one's content (found
// by the sync's model fuzz target, tests/fuzz/targets-sync-model.ts). In-process: PGlite on both sides.
// Bundle modes: `auto` (a transaction against this remote), `batch` and `none` (one request each).
import { randomUUID } from 'node:crypto';
import type { Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import type { BundleMode, SyncService } from '../../src/sync/index.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import { type BundleWorkers, openBundleWorkers } from './helpers/bundle-workers.ts';
import { startFaultProxy } from './helpers/fault-proxy.ts';
import { remoteAll, remotePost, score } from './helpers/fixtures.ts';
import { drain, waitFor } from './helpers/waits.ts';

let workers: BundleWorkers;
let remote: FacadeHere;
let store: Store;
let client: Patient;

beforeAll(async () => {
  workers = await openBundleWorkers('transaction');
  ({ remote, store, client } = workers);
}, 120_000);

afterAll(() => workers?.close());

const worker = (bundle: BundleMode): SyncService => workers.worker(bundle);

const scoreWith = (identifier: string, value: number): Observation => ({
  ...score(client.id as string, value),
  identifier: [{ system: 'urn:ietf:rfc:3986', value: identifier }],
});

/** Rows that did not end delivered, over the whole outbox (each test must add none). */
async function unsettled(sync: SyncService): Promise<number> {
  const { states } = await sync.status();
  return states.dead + states.held + states.parked + states.blocked;
}

async function onRemote(identifier: string): Promise<Observation[]> {
  const q = `identifier=${encodeURIComponent(`urn:ietf:rfc:3986|${identifier}`)}`;
  return (await remoteAll(remote.url, 'Observation', q)) as Observation[];
}

describe.each(['auto', 'batch', 'none'] as const)('bundle mode %s', (mode) => {
  it('deleted before it was pushed, then entered again: the first is not sent, the second gets its own copy', async () => {
    const sync = worker(mode);
    await sync.ready;
    const before = await unsettled(sync);
    const identifier = `urn:uuid:${randomUUID()}`;
    const first = (await store.create(scoreWith(identifier, 7))).resource;
    await store.delete('Observation', first.id as string);
    await store.create(scoreWith(identifier, 2));
    await drain(sync);
    expect(await unsettled(sync)).toBe(before);
    const [sent] = await store.query<{ reason: string }>(
      "SELECT reason FROM sync_outbox WHERE resource_id = $1 AND action = 'create'",
      [first.id],
    );
    expect(sent?.reason).toBe('not sent: deleted here before it reached the remote');
    expect((await onRemote(identifier)).map((o) => o.valueInteger)).toEqual([2]);
  });

  it('deleted after it was pushed, then entered again: the remote copy is deleted, the new one sent', async () => {
    const sync = worker(mode);
    await sync.ready;
    const before = await unsettled(sync);
    const identifier = `urn:uuid:${randomUUID()}`;
    const first = (await store.create(scoreWith(identifier, 7))).resource;
    await drain(sync);
    await store.delete('Observation', first.id as string);
    const again = (await store.create(scoreWith(identifier, 4))).resource as Observation;
    await store.update({ ...again, valueInteger: 3 }, { ifMatchOptional: true });
    await drain(sync);
    expect(await unsettled(sync)).toBe(before);
    expect((await onRemote(identifier)).map((o) => o.valueInteger)).toEqual([3]);
  });
});

it('the sequence the sync-model fuzz target found (seed 1, case 140): the new record waits for the old one’s deletion', async () => {
  const sync = worker('auto');
  await sync.ready;
  const before = await unsettled(sync);
  const [x, y] = [`urn:uuid:${randomUUID()}`, `urn:uuid:${randomUUID()}`];
  const other = (await store.create(scoreWith(y, 0))).resource as Observation;
  const first = (await store.create(scoreWith(x, 6))).resource;
  const next = (await store.update({ ...other, valueInteger: 7 }, { ifMatchOptional: true })).resource;
  await drain(sync);
  await store.delete('Observation', first.id as string);
  const again = (await store.create(scoreWith(x, 8))).resource as Observation;
  await store.update({ ...again, valueInteger: 2 }, { ifMatchOptional: true });
  await store.update({ ...(next as Observation), valueInteger: 1 }, { ifMatchOptional: true });
  await drain(sync);
  expect(await unsettled(sync)).toBe(before);
  expect((await onRemote(x)).map((o) => o.valueInteger)).toEqual([2]);
  expect((await onRemote(y)).map((o) => o.valueInteger)).toEqual([1]);
});

it("a conditional create matched to another writer's copy that is deleted there meanwhile: not a dead letter, the record gets its own copy", async () => {
  // The worker talks through a proxy that holds its conditional create's answer (the remote matched
  // another writer's copy by identifier) while that copy is deleted on the remote.
  const proxy = await startFaultProxy(remote.url);
  try {
    const sync = workers.worker('none', proxy.url);
    await sync.ready;
    const before = await unsettled(sync);
    const identifier = `urn:uuid:${randomUUID()}`;
    const [remoteClient] = await remoteAll(
      remote.url,
      'Patient',
      `identifier=${encodeURIComponent('urn:oid:1.2.246.21|251181-925R')}`,
    );
    const theirs = await remotePost(remote.url, {
      ...score(remoteClient?.id as string, 7),
      identifier: [{ system: 'urn:ietf:rfc:3986', value: identifier }],
    });
    const mine = (await store.create(scoreWith(identifier, 4))).resource as Observation;

    Object.assign(proxy.faults, { holdNext: 1, holdMethod: 'POST' });
    const pushing = sync.pushOnce();
    await waitFor(async () => proxy.stats.held === 1, 30_000, 'the held conditional create');
    expect((await fetch(`${remote.url}/Observation/${theirs.id}`, { method: 'DELETE' })).status).toBe(204);
    proxy.releaseHeld();
    await pushing;
    await drain(sync);

    expect(await unsettled(sync)).toBe(before);
    const copies = await onRemote(identifier);
    expect(copies.map((o) => o.valueInteger)).toEqual([4]);
    expect(copies[0]?.id).not.toBe(theirs.id);
    const [map] = await store.query<{ remote_id: string }>(
      "SELECT remote_id FROM sync_idmap WHERE resource_type = 'Observation' AND local_id = $1",
      [mine.id],
    );
    expect(map?.remote_id).toBe(copies[0]?.id);
  } finally {
    await proxy.close();
  }
});
