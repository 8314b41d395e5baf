// A one-shot push (`pushOnce`, `tyokyky sync push`) goes on while what it put back can still go in the
// same run: rows put back to wait for a dependency in flight go once it has arrived — with several
// rounds in flight, against a remote that holds some of the targets already — and the run ends with
// the queue empty (exit 0). It stops, without spinning, when what is left waits for something this run
// cannot deliver (a dependency in a backoff). Remote: a second facade in this process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Patient, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, freshPgliteDataDir, openStore } from '../../src/store/index.ts';
import { createSync } from '../../src/sync/index.ts';
import { runHere as run } from '../helpers/cli.ts';
import { type FacadeHere, startFacadeHere } from '../helpers/facade.ts';
import { consent, goal, linkedPlan, patient, remoteCopiesOf, remotePost, score } from './helpers/fixtures.ts';
import { loadPersona } from './helpers/integrity.ts';
import { drain } from './helpers/waits.ts';

const PERSONAS = ['maija', 'sirpa', 'suvi'];
const dir = mkdtempSync(join(tmpdir(), 'tyokyky-one-shot-'));
let remote: FacadeHere;
const stores: Store[] = [];
const stops: (() => Promise<void>)[] = [];

// The remote holds what an earlier store of the same clients sent (their shared resources included).
beforeAll(async () => {
  remote = await startFacadeHere({ dataDir: 'memory://' }, { strict: false });
  const store = await memoryStore();
  const sync = createSync({ store, remote: { baseUrl: remote.url, party: 'kela' } });
  stops.push(() => sync.stop());
  await sync.ready;
  for (const name of PERSONAS) await loadPersona(store, name);
  await drain(sync);
});
afterAll(async () => {
  for (const stop of stops) await stop();
  for (const s of stores) await s.close();
  await remote?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function memoryStore(): Promise<Store> {
  const store = await openStore({ dataDir: 'memory://' });
  stores.push(store);
  return store;
}

/**
 * A client whose record depends on itself level by level (Patient ← Observation ← Goal ← CarePlan),
 * its Patient on the remote already (another system's copy of the same business identifier).
 */
async function chainedClient(store: Store, hetu: string): Promise<Resource[]> {
  const p = patient(hetu);
  await remotePost(remote.url, p);
  const local = (await store.create(p)).resource as Patient;
  const id = local.id as string;
  const c = (await store.create(consent(id, { parties: ['kela'] }))).resource;
  const o = (await store.create(score(id))).resource;
  const g = (await store.create(goal(id, o.id as string))).resource;
  const plan = (await store.create(linkedPlan(id, g.id as string, o.id as string))).resource;
  return [local, c, o, g, plan];
}

async function expectOnRemote(resources: Resource[]): Promise<void> {
  for (const r of resources) expect(await remoteCopiesOf(remote.url, r), r.resourceType).toHaveLength(1);
}

describe('a one-shot push delivers in one run what waits for a dependency of the same run', () => {
  it('pushOnce: several rounds in flight, a remote holding some targets already — one call, queue empty', async () => {
    const store = await memoryStore();
    const sync = createSync({ store, remote: { baseUrl: remote.url, party: 'kela' }, pushConcurrency: 3 });
    stops.push(() => sync.stop());
    await sync.ready;
    for (const name of PERSONAS) await loadPersona(store, name);
    const chain = await chainedClient(store, '020281-9154');
    const result = await sync.pushOnce();
    const status = await sync.status();
    expect(status.states).toMatchObject({ pending: 0, inflight: 0, dead: 0 });
    expect(status.queueDepth).toBe(0);
    expect(result.dead).toBe(0);
    // Rows did go back to wait for a dependency in flight: the run waited for them.
    expect(result.waiting).toBeGreaterThan(0);
    await expectOnRemote(chain);
  }, 60_000);

  it('tyokyky sync push: one run with --concurrency 3 sends everything and exits 0', async () => {
    const dataDir = await freshPgliteDataDir(join(dir, 'cli'));
    const store = await openStore({ dataDir });
    for (const name of PERSONAS) await loadPersona(store, name);
    const chain = await chainedClient(store, '030381-9247');
    await store.close();
    const r = await run([
      'sync',
      'push',
      '--remote',
      remote.url,
      '--party',
      'kela',
      '--data-dir',
      dataDir,
      '--concurrency',
      '3',
      '--json',
    ]);
    const out = JSON.parse(r.out);
    expect(out.result.waiting).toBeGreaterThan(0);
    expect(out.notSent).toBeUndefined();
    expect(out.status.queueDepth).toBe(0);
    expect(r.code).toBe(0);
    await expectOnRemote(chain);
  }, 60_000);

  it('stops without spinning when what is left waits for a dependency in a backoff', async () => {
    const store = await memoryStore();
    const sync = createSync({ store, remote: { baseUrl: remote.url, party: 'kela' }, pushConcurrency: 2 });
    stops.push(() => sync.stop());
    await sync.ready;
    const p = (await store.create(patient('040481-9356'))).resource as Patient;
    await store.create(consent(p.id as string, { parties: ['kela'] }));
    await store.create(score(p.id as string));
    // The Patient's last attempt failed: it waits out a backoff (as outcomes.ts `failed` leaves it).
    await store.query(
      `UPDATE sync_outbox SET attempts = 1, reason = 'remote answered 503', available_at = now() + interval '1 hour'
        WHERE resource_type = 'Patient'`,
    );
    const started = Date.now();
    const result = await Promise.race([
      sync.pushOnce(),
      new Promise<'spinning'>((r) => setTimeout(() => r('spinning'), 10_000)),
    ]);
    expect(result).not.toBe('spinning');
    expect(Date.now() - started).toBeLessThan(5_000);
    const status = await sync.status();
    expect(status.queueDepth).toBe(3);
    const waiting = await store.query<{ reason: string }>(
      `SELECT reason FROM sync_outbox WHERE resource_type <> 'Patient'`,
    );
    for (const w of waiting) expect(w.reason).toMatch(/^waiting for Patient\//);
  }, 30_000);
});
