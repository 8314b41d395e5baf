// Integrity of both sides under faults: a local store on PostgreSQL syncs through our own fault proxy to
// a second tyokyky facade (child process, its own PostgreSQL database). After each scenario both
// databases are compared: every reference on the remote resolves on the remote (none points to a local
// id), every business identifier is there once, and every local edit is present on both sides.
import type { ChildProcess } from 'node:child_process';
import type { Bundle, Consent, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import { openStore } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import { persona } from '../server/personas.ts';
import { type FaultProxy, startFaultProxy } from './helpers/fault-proxy.ts';
import { consent, goal, linkedPlan, patient, remoteAll, remotePut, score } from './helpers/fixtures.ts';
import {
  dropDatabase,
  freshDatabase,
  startFacade,
  startServe,
  stopChild,
  tyokyky,
} from './helpers/processes.ts';
import { drain, waitFor } from './helpers/waits.ts';

const TYPES = [
  'Patient',
  'Consent',
  'Observation',
  'Goal',
  'CarePlan',
  'ServiceRequest',
  'CareTeam',
  'QuestionnaireResponse',
];

let facade: Awaited<ReturnType<typeof startFacade>>;
let proxy: FaultProxy;
const databases: string[] = [];
const stores: Store[] = [];
const services: SyncService[] = [];
const children: ChildProcess[] = [];
let hetu = 940;

beforeAll(async () => {
  const remoteDb = await freshDatabase('tyokyky_integrity_remote');
  databases.push(remoteDb);
  facade = await startFacade(remoteDb);
  proxy = await startFaultProxy(facade.url, {}, 7);
}, 120_000);
afterAll(async () => {
  for (const c of children) await stopChild(c, 'SIGKILL');
  for (const s of services) await s.stop();
  for (const s of stores) await s.close();
  await proxy?.close();
  await facade?.stop();
  for (const url of databases) await dropDatabase(url);
});

async function localSide(
  party = 'other-health-care',
  extra: { pullTimeoutMs?: number } = {},
): Promise<{ store: Store; sync: SyncService; url: string }> {
  const url = await freshDatabase('tyokyky_integrity_local');
  databases.push(url);
  const store = await openStore({ databaseUrl: url });
  stores.push(store);
  const sync = worker(store, party, extra);
  await sync.ready;
  return { store, sync, url };
}

/** A sync service on `store` (the first installs the outbox hook; more are extra workers). */
function worker(
  store: Store,
  party = 'other-health-care',
  extra: { pullTimeoutMs?: number; installHook?: boolean } = {},
): SyncService {
  const sync = createSync({
    store,
    remote: {
      baseUrl: proxy.url,
      party,
      timeoutMs: 1_000,
      retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 100, maxRetryAfterMs: 100 },
      breaker: { consecutiveFailures: 10_000, halfOpenAfterMs: 100 },
    },
    batchSize: 7,
    pushConcurrency: 4,
    retryBaseMs: 20,
    maxAttempts: 200,
    heldRecheckMs: 200,
    leaseMs: 30_000,
    ...extra,
  });
  services.push(sync);
  return sync;
}

const identifierOf = (r: Resource): string | undefined => {
  const raw = (
    r as { identifier?: { system?: string; value?: string }[] | { system?: string; value?: string } }
  ).identifier;
  const list = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return (list.find((i) => i.system === 'urn:ietf:rfc:3986') ?? list[0])?.value;
};

function referencesIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) referencesIn(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else referencesIn(v, out);
    }
  }
  return out;
}

async function remoteResources(): Promise<Resource[]> {
  return (await Promise.all(TYPES.map((t) => remoteAll(facade.url, t)))).flat();
}

/** The remote's integrity and the local store's presence on it (see the file comment). */
async function compare(store: Store, localTypes = ['Patient', 'Consent', 'Observation', 'Goal', 'CarePlan']) {
  const remote = await remoteResources();
  const remoteIds = new Set(remote.map((r) => `${r.resourceType}/${r.id}`));
  const dangling = remote.flatMap((r) =>
    referencesIn(r)
      .filter((ref) => !remoteIds.has(ref))
      .map((ref) => `${r.resourceType}/${r.id} → ${ref}`),
  );
  expect(dangling).toEqual([]);
  // …and none of them is a local id (the local store's ids are not the remote's).
  const localIds = new Set<string>();
  for (const type of localTypes) {
    for (const r of (await store.search(type, { _count: '1000' })).resources)
      localIds.add(`${r.resourceType}/${r.id}`);
  }
  expect(remote.flatMap((r) => referencesIn(r)).filter((ref) => localIds.has(ref))).toEqual([]);
  const counts = new Map<string, number>();
  for (const r of remote) {
    const v = identifierOf(r);
    if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
  const byIdentifier = new Map(remote.map((r) => [identifierOf(r), r]));
  const missing: string[] = [];
  for (const type of localTypes) {
    for (const local of (await store.search(type, { _count: '1000' })).resources) {
      const there = byIdentifier.get(identifierOf(local));
      if (!there) missing.push(`${type}/${local.id}`);
    }
  }
  return { remote, byIdentifier, missing };
}

/**
 * `n` clients, each: Patient, Consent, three Observations, a Goal addressing the first and a CarePlan
 * with that Goal and the second (Goal → Observation, CarePlan → Goal/Observation, all → Patient).
 */
async function seedClients(
  store: Store,
  n: number,
): Promise<{ edits: Map<string, number>; goals: string[] }> {
  const edits = new Map<string, number>(); // Observation id → last value written locally
  const goals: string[] = [];
  for (let c = 0; c < n; c++) {
    const p = (await store.create(patient(`010181-${hetu++}X`))).resource as Patient;
    await store.create(consent(p.id!));
    const obs: Observation[] = [];
    for (let i = 0; i < 3; i++) obs.push((await store.create(score(p.id!, i))).resource as Observation);
    const g = (await store.create(goal(p.id!, obs[0].id!))).resource;
    goals.push(g.id!);
    await store.create(linkedPlan(p.id!, g.id!, obs[1].id!));
    for (const o of obs) edits.set(o.id!, o.valueInteger!);
  }
  return { edits, goals };
}

/** Every local edit is the current content on both sides. */
async function expectEditsKept(
  store: Store,
  byIdentifier: Map<unknown, Resource>,
  edits: Map<string, number>,
) {
  for (const [id, value] of edits) {
    const local = await store.read<Observation>('Observation', id);
    expect(local.valueInteger).toBe(value);
    expect((byIdentifier.get(identifierOf(local)) as Observation).valueInteger).toBe(value);
  }
}

/** The goals on the remote point at the remote copies of their observations. */
async function expectGoalsTranslated(store: Store, byIdentifier: Map<unknown, Resource>, goals: string[]) {
  for (const id of goals) {
    const local = await store.read('Goal', id);
    const there = byIdentifier.get(identifierOf(local)) as { addresses: { reference: string }[] };
    const target = await store.read(
      'Observation',
      (local as { addresses: { reference: string }[] }).addresses[0].reference.split('/')[1],
    );
    expect(there.addresses[0].reference).toBe(`Observation/${byIdentifier.get(identifierOf(target))?.id}`);
  }
}

describe('dependent resources under faults (503/429, hangs, lost answers), two workers × four rounds in flight', () => {
  it('nothing dangling, nothing twice, nothing lost, every local edit on the remote', async () => {
    const { store, sync } = await localSide();
    const second = worker(store, 'other-health-care', { installHook: false });
    await second.ready;
    const { edits, goals } = await seedClients(store, 12);
    Object.assign(proxy.faults, {
      errorRate: 0.12,
      statuses: [503, 429],
      retryAfter: '0',
      hangRate: 0.03,
      hangMs: 1_500,
      dropRate: 0.1,
    });
    try {
      // Local edits while the push is under way: each must survive on both sides.
      const pushing = Promise.all([drain(sync, 120_000), drain(second, 120_000)]);
      let n = 0;
      for (const [id] of [...edits].slice(0, 12)) {
        const current = await store.read<Observation>('Observation', id);
        const value = (n++ % 10) + 1;
        await store.update({ ...current, valueInteger: value }, { ifMatchOptional: true });
        edits.set(id, value);
        await new Promise((r) => setTimeout(r, 20));
      }
      await pushing;
      await drain(sync, 120_000);
    } finally {
      Object.assign(proxy.faults, { errorRate: 0, hangRate: 0, dropRate: 0 });
    }
    expect(proxy.stats.injected + proxy.stats.dropped + proxy.stats.hung).toBeGreaterThan(10);
    const status = await sync.status();
    expect(status.states).toMatchObject({ dead: 0, blocked: 0, held: 0, parked: 0, pending: 0, inflight: 0 });
    const { byIdentifier, missing } = await compare(store);
    expect(missing).toEqual([]);
    await expectEditsKept(store, byIdentifier, edits);
    await expectGoalsTranslated(store, byIdentifier, goals);
  }, 300_000);
});

/** `tyokyky sync push --watch` on the local database: a worker process (the test's store owns the hook). */
function workerProcess(databaseUrl: string): ChildProcess {
  const child = tyokyky([
    'sync',
    'push',
    '--watch',
    '--database-url',
    databaseUrl,
    '--remote',
    proxy.url,
    '--batch-size',
    '7',
    '--concurrency',
    '4',
    '--lease',
    '1500',
    '--timeout',
    '2000',
  ]);
  child.stdout?.resume();
  child.stderr?.resume();
  children.push(child);
  return child;
}

/** Edits `n` of the observations locally (each a new version that must win on both sides). */
async function editSome(store: Store, edits: Map<string, number>, n: number, offset: number): Promise<void> {
  for (const [id] of [...edits].slice(offset, offset + n)) {
    const current = await store.read<Observation>('Observation', id);
    const value = ((current.valueInteger ?? 0) + 5) % 11;
    await store.update({ ...current, valueInteger: value }, { ifMatchOptional: true });
    edits.set(id, value);
  }
}

describe('a worker process killed with SIGKILL mid-push, dependent resources in flight', () => {
  it('after a restart on the same store: nothing dangling, nothing twice, nothing lost, every edit kept', async () => {
    const { store, sync, url } = await localSide();
    const { edits, goals } = await seedClients(store, 10);
    Object.assign(proxy.faults, { errorRate: 0.08, statuses: [503, 429], retryAfter: '0', dropRate: 0.08 });
    try {
      const first = workerProcess(url);
      await waitFor(
        async () => {
          const s = (await sync.status()).states;
          return s.done > 5 && s.inflight > 0;
        },
        60_000,
        'rows delivered and a batch in flight',
      );
      await editSome(store, edits, 6, 0); // edits queued while rows are in flight
      await stopChild(first, 'SIGKILL');
      expect((await sync.status()).queueDepth).toBeGreaterThan(0);
      await editSome(store, edits, 6, 3); // and while no worker runs at all
      const restarted = workerProcess(url);
      await waitFor(async () => (await sync.status()).queueDepth === 0, 120_000, 'the outbox to drain');
      await stopChild(restarted);
    } finally {
      Object.assign(proxy.faults, { errorRate: 0, dropRate: 0 });
    }
    const status = await sync.status();
    expect(status.states).toMatchObject({ dead: 0, blocked: 0, held: 0, parked: 0, pending: 0, inflight: 0 });
    expect(status.conflicts).toBe(0);
    const { byIdentifier, missing } = await compare(store);
    expect(missing).toEqual([]);
    await expectEditsKept(store, byIdentifier, edits);
    await expectGoalsTranslated(store, byIdentifier, goals);
  }, 240_000);

  it('the local facade (serve --remote, default 120 s lease) killed mid-push resumes at once after a restart', async () => {
    const { store, sync, url } = await localSide();
    // More than one round of the facade's worker (batches of 100): some settled while others are in flight.
    const { edits, goals } = await seedClients(store, 30);
    const serve = () => startServe(['--database-url', url, '--remote', proxy.url]);
    // The first Bundle's answer is held until the kill, so rows are in flight whatever the timing, while
    // the other send slot delivers; 503/429 on the way. (Lost answers with a kill: the next case.)
    Object.assign(proxy.faults, {
      errorRate: 0.08,
      statuses: [503, 429],
      retryAfter: '0',
      holdNext: 1,
      holdMethod: 'POST',
    });
    let restarted: Awaited<ReturnType<typeof serve>> | undefined;
    try {
      const first = await serve();
      children.push(first.child);
      await waitFor(
        async () => {
          const s = (await sync.status()).states;
          return s.done > 0 && s.inflight > 0;
        },
        60_000,
        'rows delivered and rows in flight',
      );
      await stopChild(first.child, 'SIGKILL');
      proxy.releaseHeld(); // its worker is gone: nobody reads it
      Object.assign(proxy.faults, { holdNext: 0, holdMethod: undefined });
      expect((await sync.status()).states.inflight).toBeGreaterThan(0); // leased to a dead process
      await editSome(store, edits, 6, 0);
      const started = Date.now();
      restarted = await serve();
      children.push(restarted.child);
      await waitFor(async () => (await sync.status()).queueDepth === 0, 90_000, 'the outbox to drain');
      // Well inside the dead process's 120 s leases: its rows were taken back at once.
      expect(Date.now() - started).toBeLessThan(90_000);
    } finally {
      Object.assign(proxy.faults, { errorRate: 0, holdNext: 0, holdMethod: undefined });
      await restarted?.stop();
    }
    const status = await sync.status();
    expect(status.states).toMatchObject({ dead: 0, blocked: 0, held: 0, parked: 0, pending: 0, inflight: 0 });
    const { byIdentifier, missing } = await compare(store);
    expect(missing).toEqual([]);
    await expectEditsKept(store, byIdentifier, edits);
    await expectGoalsTranslated(store, byIdentifier, goals);
  }, 240_000);

  it('killed while the answer of a write the remote already stored is on its way back: recognised as ours', async () => {
    const { store, sync, url } = await localSide();
    const { edits, goals } = await seedClients(store, 4);
    const first = workerProcess(url);
    const heldBefore = proxy.stats.held;
    // The first write's answer never reaches the worker: the remote stored it, the worker dies.
    Object.assign(proxy.faults, { holdNext: 1, holdMethod: 'POST' });
    await waitFor(async () => proxy.stats.held > heldBefore, 60_000, 'an answer on hold');
    await stopChild(first, 'SIGKILL');
    proxy.releaseHeld(); // its worker is gone: nobody reads it
    proxy.faults.holdMethod = undefined;
    // The remote holds resources of ours the local side has no mapping for.
    const ours = new Set<string>();
    for (const type of ['Patient', 'Consent', 'Observation', 'Goal', 'CarePlan'])
      for (const r of (await store.search(type, { _count: '1000' })).resources) ours.add(identifierOf(r)!);
    const there = (await remoteResources()).filter((r) => ours.has(identifierOf(r)!)).length;
    const [{ mapped }] = await store.query<{ mapped: number }>(
      'SELECT count(*)::int AS mapped FROM sync_idmap',
    );
    expect(there).toBeGreaterThan(mapped);
    const restarted = workerProcess(url);
    await waitFor(async () => (await sync.status()).queueDepth === 0, 120_000, 'the outbox to drain');
    await stopChild(restarted);
    const status = await sync.status();
    expect(status.states).toMatchObject({ dead: 0, blocked: 0, held: 0, parked: 0, pending: 0, inflight: 0 });
    expect(status.conflicts).toBe(0);
    const { byIdentifier, missing } = await compare(store);
    expect(missing).toEqual([]);
    await expectEditsKept(store, byIdentifier, edits);
    await expectGoalsTranslated(store, byIdentifier, goals);
  }, 240_000);
});

describe('our own answer held back while a pull runs', () => {
  it('the pull does not take our previous version for a remote change: the newer local edit survives', async () => {
    const { store, sync } = await localSide();
    const p = (await store.create(patient(`010181-${hetu++}X`))).resource as Patient;
    let k = (await store.create(consent(p.id!))).resource as Consent;
    await drain(sync, 120_000);
    const edit = (label: string) => ({
      ...k,
      text: { status: 'generated' as const, div: `<div xmlns="http://www.w3.org/1999/xhtml">${label}</div>` },
    });
    k = (await store.update(edit('Muokkaus 1'), { ifMatchOptional: true })).resource as Consent;
    proxy.faults.holdNext = 1;
    const pushing = sync.pushOnce();
    const end = Date.now() + 30_000;
    while (proxy.stats.held === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(proxy.stats.held).toBeGreaterThan(0); // the remote stored edit 1; its answer is on hold
    k = (await store.update(edit('Muokkaus 2'), { ifMatchOptional: true })).resource as Consent;
    const pulled = await sync.pullOnce();
    expect(pulled.applied).toBe(0);
    expect((await store.read<Consent>('Consent', k.id!)).text?.div).toContain('Muokkaus 2');
    proxy.releaseHeld();
    await pushing;
    await drain(sync, 120_000);
    await sync.pullOnce();
    expect((await store.read<Consent>('Consent', k.id!)).text?.div).toContain('Muokkaus 2');
    const [there] = (await remoteAll(
      facade.url,
      'Consent',
      `identifier=${encodeURIComponent(`urn:ietf:rfc:3986|${identifierOf(k)}`)}`,
    )) as Consent[];
    expect(there.text?.div).toContain('Muokkaus 2');
    expect((await sync.status()).conflicts).toBe(0);
  }, 120_000);

  it('a lost answer on a local-wins overwrite after a 412 is recognised as ours, not a dead letter', async () => {
    const { store, sync } = await localSide();
    const p = (await store.create(patient(`010181-${hetu++}X`))).resource as Patient;
    await store.create(consent(p.id!));
    let o = (await store.create(score(p.id!, 3))).resource as Observation;
    await drain(sync, 120_000);
    const [there] = (await remoteAll(
      facade.url,
      'Observation',
      `identifier=${encodeURIComponent(`urn:ietf:rfc:3986|${identifierOf(o)}`)}`,
    )) as Observation[];
    await remotePut(facade.url, { ...there, valueInteger: 9 }); // a real concurrent remote edit
    o = (await store.update({ ...o, valueInteger: 4 }, { ifMatchOptional: true })).resource as Observation;
    // PUT → 412, GET (a real remote edit), PUT over it: the answer of that third request is lost
    // (the remote has our content; the client sees a 503 and retries into a 412).
    const droppedBefore = proxy.stats.dropped;
    proxy.faults.dropAt = 3;
    await drain(sync, 120_000);
    expect(proxy.stats.dropped).toBe(droppedBefore + 1);
    const status = await sync.status();
    expect(status.states.dead).toBe(0);
    expect(status.conflicts).toBe(1);
    const [after] = (await remoteAll(
      facade.url,
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

describe('long waits are bounded and observable', () => {
  it('a push whose remote hangs says what it waits for in status (the round and the request), none after', async () => {
    const { store, sync } = await localSide();
    const p = (await store.create(patient(`010181-${hetu++}X`))).resource as Patient;
    await store.create(consent(p.id!));
    await sync.remote.bundleMode(); // the capabilities are read before the hang
    Object.assign(proxy.faults, { hangRate: 1, hangMs: 20_000 });
    let pushing: Promise<unknown> = Promise.resolve();
    try {
      pushing = sync.pushOnce();
      await new Promise((r) => setTimeout(r, 600));
      const waiting = (await sync.status()).waiting.map((w) => w.what);
      // The Consent refers to its Patient: both go in one transaction Bundle (urn:uuid between them).
      expect(waiting).toEqual(['push: transaction Bundle of 2', 'remote POST (base)']);
    } finally {
      Object.assign(proxy.faults, { hangRate: 0, hangMs: 0 });
    }
    await pushing;
    await drain(sync, 120_000);
    expect((await sync.status()).waiting).toEqual([]);
    expect((await sync.status()).states.done).toBe(2);
  }, 60_000);

  it('a pull whose remote hangs says what it waits for in status, and stops at its bound', async () => {
    const { store, sync } = await localSide('other-health-care', { pullTimeoutMs: 2_500 });
    const p = (await store.create(patient(`010181-${hetu++}X`))).resource as Patient;
    await store.create(consent(p.id!));
    await drain(sync, 120_000);
    Object.assign(proxy.faults, { hangRate: 1, hangMs: 20_000 });
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
      Object.assign(proxy.faults, { hangRate: 0, hangMs: 0 });
    }
  }, 60_000);
});

/** A persona transaction Bundle written into a local store (urn:uuid references → local ids). */
async function loadPersona(store: Store, name: string): Promise<Resource[]> {
  const bundle = persona(name) as Bundle;
  const ids = new Map<string, string>();
  const out: Resource[] = [];
  const translate = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(translate);
    if (!v || typeof v !== 'object') return v;
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [
        k,
        k === 'reference' && typeof x === 'string' && ids.has(x) ? ids.get(x) : translate(x),
      ]),
    );
  };
  for (const e of bundle.entry ?? []) {
    const created = (await store.create(translate(e.resource) as Resource)).resource;
    ids.set(e.fullUrl!, `${created.resourceType}/${created.id}`);
    out.push(created);
  }
  return out;
}

describe('persona flow', () => {
  it('default party: clients whose consents do not cover identification are blocked whole; pull says why it skips them', async () => {
    const { store, sync } = await localSide();
    const loaded = [];
    for (const name of ['maija', 'sirpa', 'suvi']) loaded.push(...(await loadPersona(store, name)));
    await drain(sync, 120_000);
    const status = await sync.status();
    expect(status.states.done).toBe(0);
    expect(status.blockedByConsent).toBeGreaterThan(10);
    for (const row of await sync.blocked(1000))
      expect(row.reason).toMatch(/^not disclosed: identification to other-health-care/);
    const remote = new Set((await remoteResources()).map(identifierOf));
    expect(loaded.filter((r) => remote.has(identifierOf(r))).map((r) => r.resourceType)).toEqual([]);
    const pulled = await sync.pullOnce();
    expect(pulled.skippedClients).toHaveLength(3);
    for (const s of pulled.skippedClients)
      expect(s.reason).toMatch(/its Patient is not on the remote \(blocked: not disclosed: identification/);
    // …and status says so too (a background pull has no caller to tell).
    expect((await sync.status()).lastPullSkipped).toEqual(pulled.skippedClients);
  }, 120_000);

  it('party kela: a client whose consent covers kela arrives whole, directory references made logical', async () => {
    const { store, sync } = await localSide('kela');
    const loaded = await loadPersona(store, 'suvi');
    await drain(sync, 120_000);
    const { byIdentifier } = await compare(store, [
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
