// The rig of the integrity scenarios (tests/sync/integrity-*.test.ts): a local store on PostgreSQL
// syncs through our own fault proxy to a second tyokyky facade (its own PostgreSQL database). After
// each scenario both databases are compared: every reference on the remote resolves on the remote
// (none points to a local id), every business identifier is there once, and every local edit is
// present on both sides. One rig per file, so the scenarios of different files run side by side.
//
// Soak runs of the same scenarios (not part of `npm test`'s defaults):
//   TYOKYKY_INTEGRITY_SCALE=5 TYOKYKY_INTEGRITY_SEED=3 npx vitest run tests/sync/integrity-
// multiplies each scenario's clients, edits and time limits, and changes the fault proxy's pattern.
import type { Bundle, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Store } from '../../../src/store/index.ts';
import { openStore } from '../../../src/store/index.ts';
import { type SyncService, createSync } from '../../../src/sync/index.ts';
import type { FacadeHere } from '../../helpers/facade.ts';
import { persona } from '../../server/personas.ts';
import { type FaultProxy, startFaultProxy } from './fault-proxy.ts';
import { consent, goal, identifierOf, linkedPlan, patient, remoteAll, score } from './fixtures.ts';
import { dropDatabase, freshDatabase, startRemote } from './remote.ts';

function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, not ${raw}`);
  return n;
}

/** The soak settings (see the file comment); 1 and 7 are what `npm test` runs. */
export const SOAK = {
  scale: positiveInteger('TYOKYKY_INTEGRITY_SCALE', 1),
  seed: positiveInteger('TYOKYKY_INTEGRITY_SEED', 7),
};

/** A scenario's size or time limit at the soak scale. */
export const scaled = (n: number): number => n * SOAK.scale;

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

export { identifierOf } from './fixtures.ts';

export function referencesIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) referencesIn(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else referencesIn(v, out);
    }
  }
  return out;
}

export interface LocalSide {
  store: Store;
  sync: SyncService;
  url: string;
}

export interface IntegrityRig {
  /** The remote facade (valid after beforeAll). */
  readonly facade: FacadeHere;
  /** The fault proxy in front of it, which the local side talks to. */
  readonly proxy: FaultProxy;
  /** The next test HETU (each client of a file has its own). */
  nextHetu(): string;
  /** A fresh local PostgreSQL store with a sync service (outbox hook installed) pointing at the proxy. */
  localSide(party?: string, extra?: { pullTimeoutMs?: number }): Promise<LocalSide>;
  /** A sync service on `store` (the first installs the outbox hook; more are extra workers). */
  worker(
    store: Store,
    party?: string,
    extra?: { pullTimeoutMs?: number; installHook?: boolean },
  ): SyncService;
  remoteResources(): Promise<Resource[]>;
}

/** Registers the file's remote, proxy and cleanup; `firstHetu` keeps the files' clients apart. */
export function integrityRig(firstHetu: number): IntegrityRig {
  let facade: FacadeHere | undefined;
  let proxy: FaultProxy | undefined;
  const databases: string[] = [];
  const stores: Store[] = [];
  const services: SyncService[] = [];
  let hetu = firstHetu;

  beforeAll(async () => {
    const remoteDb = await freshDatabase('tyokyky_integrity_remote');
    databases.push(remoteDb);
    facade = await startRemote(remoteDb);
    proxy = await startFaultProxy(facade.url, {}, SOAK.seed);
  }, 120_000);
  afterAll(async () => {
    for (const s of services) await s.stop();
    for (const s of stores) await s.close();
    await proxy?.close();
    await facade?.stop();
    for (const url of databases) await dropDatabase(url);
  });

  const rig: IntegrityRig = {
    get facade() {
      if (!facade) throw new Error('the remote facade is not started yet');
      return facade;
    },
    get proxy() {
      if (!proxy) throw new Error('the fault proxy is not started yet');
      return proxy;
    },
    nextHetu: () => `010181-${hetu++}X`,
    async localSide(party = 'other-health-care', extra = {}) {
      const url = await freshDatabase('tyokyky_integrity_local');
      databases.push(url);
      const store = await openStore({ databaseUrl: url });
      stores.push(store);
      const sync = rig.worker(store, party, extra);
      await sync.ready;
      return { store, sync, url };
    },
    worker(store, party = 'other-health-care', extra = {}) {
      const sync = createSync({
        store,
        remote: {
          baseUrl: rig.proxy.url,
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
    },
    async remoteResources() {
      return (await Promise.all(TYPES.map((t) => remoteAll(rig.facade.url, t)))).flat();
    },
  };
  return rig;
}

/** Every current resource of `type` in the local store, page by page. */
export async function localAll(store: Store, type: string): Promise<Resource[]> {
  const out: Resource[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.search(type, { _count: '1000', ...(cursor ? { _cursor: cursor } : {}) });
    out.push(...page.resources);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/** The remote's integrity and the local store's presence on it (see the file comment). */
export async function compare(
  rig: IntegrityRig,
  store: Store,
  localTypes = ['Patient', 'Consent', 'Observation', 'Goal', 'CarePlan'],
): Promise<{ remote: Resource[]; byIdentifier: Map<unknown, Resource>; missing: string[] }> {
  const remote = await rig.remoteResources();
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
    for (const r of await localAll(store, type)) localIds.add(`${r.resourceType}/${r.id}`);
  }
  expect(remote.flatMap((r) => referencesIn(r)).filter((ref) => localIds.has(ref))).toEqual([]);
  const counts = new Map<string, number>();
  for (const r of remote) {
    const v = identifierOf(r);
    if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
  const byIdentifier = new Map<unknown, Resource>(remote.map((r) => [identifierOf(r), r]));
  const missing: string[] = [];
  for (const type of localTypes) {
    for (const local of await localAll(store, type)) {
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
export async function seedClients(
  rig: IntegrityRig,
  store: Store,
  n: number,
): Promise<{ edits: Map<string, number>; goals: string[] }> {
  const edits = new Map<string, number>(); // Observation id → last value written locally
  const goals: string[] = [];
  for (let c = 0; c < n; c++) {
    const p = (await store.create(patient(rig.nextHetu()))).resource as Patient;
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
): Promise<void> {
  for (const [id, value] of edits) {
    const local = await store.read<Observation>('Observation', id);
    expect(local.valueInteger).toBe(value);
    expect((byIdentifier.get(identifierOf(local)) as Observation).valueInteger).toBe(value);
  }
}

/** The goals on the remote point at the remote copies of their observations. */
async function expectGoalsTranslated(
  store: Store,
  byIdentifier: Map<unknown, Resource>,
  goals: string[],
): Promise<void> {
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

/**
 * The end of a scenario: nothing left queued, dead, blocked, held or parked, the remote whole (see
 * compare) with every local resource on it, every local edit kept and every Goal's reference translated.
 */
export async function expectBothSidesWhole(
  rig: IntegrityRig,
  side: { store: Store; sync: SyncService },
  seeded: { edits: Map<string, number>; goals: string[] },
): Promise<void> {
  const status = await side.sync.status();
  expect(status.states).toMatchObject({ dead: 0, blocked: 0, held: 0, parked: 0, pending: 0, inflight: 0 });
  const { byIdentifier, missing } = await compare(rig, side.store);
  expect(missing).toEqual([]);
  await expectEditsKept(side.store, byIdentifier, seeded.edits);
  await expectGoalsTranslated(side.store, byIdentifier, seeded.goals);
}

/** Edits `n` of the observations locally (each a new version that must win on both sides). */
export async function editSome(
  store: Store,
  edits: Map<string, number>,
  n: number,
  offset: number,
): Promise<void> {
  for (const [id] of [...edits].slice(offset, offset + n)) {
    const current = await store.read<Observation>('Observation', id);
    const value = ((current.valueInteger ?? 0) + 5) % 11;
    await store.update({ ...current, valueInteger: value }, { ifMatchOptional: true });
    edits.set(id, value);
  }
}

/** A persona transaction Bundle written into a local store (urn:uuid references → local ids). */
export async function loadPersona(store: Store, name: string): Promise<Resource[]> {
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
