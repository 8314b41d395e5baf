// The look for remote deletes never fails a pull whose searches succeeded. Its first look at a type
// starts from when deletes began to be looked for (a store that has synced for months does not read
// every client's history since its first outbox row); a type history that times out, fails after every
// retry or outlasts the pull's bound is reported (`deletesNotChecked`), its cursor kept where it was,
// and looked at from there by the next pull; an abort by the caller still aborts. A remote that refuses
// type history (a receiving party's facade: 403) is asked once within the quiet period, and the type
// reported in each pull. In-process: PGlite on both sides, the remote a tyokyky facade behind the
// fault proxy.
import type { AddressInfo } from 'node:net';
import type { Observation, Patient } from '@medplum/fhirtypes';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/server/index.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import {
  type CreateSyncOptions,
  type RemoteConfig,
  type SyncService,
  createSync,
} from '../../src/sync/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { type FacadeHere, startFacadeHere } from '../helpers/facade.ts';
import { type FaultProxy, startFaultProxy } from './helpers/fault-proxy.ts';
import { consent, patient, remoteCopiesOf, remotePut, score } from './helpers/fixtures.ts';
import { drain } from './helpers/waits.ts';

const silent = pino({ level: 'silent' });

/** A remote facade whose store the test holds (to date its history back), behind the fault proxy. */
interface HeldRemote {
  store: Store;
  /** The facade itself, past the proxy. */
  direct: string;
  proxy: FaultProxy;
  close(): Promise<void>;
}

async function heldRemote(faults: Parameters<typeof startFaultProxy>[1] = {}): Promise<HeldRemote> {
  const store = await openStore({ dataDir: 'memory://' });
  const app = createApp({ store, validator: await loadProjectValidator(), strict: false, logger: silent });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const direct = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  const proxy = await startFaultProxy(direct, faults);
  return {
    store,
    direct,
    proxy,
    async close() {
      await proxy.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await store.close();
    },
  };
}

/** Stops what a describe block set up, the local side first (any part may be missing after a failed setup). */
async function closeAll(
  local: { store: Store; sync: SyncService } | undefined,
  proxy: FaultProxy | undefined,
  facade: FacadeHere | undefined,
): Promise<void> {
  await local?.sync.stop();
  await local?.store.close();
  await proxy?.close();
  await facade?.stop();
}

/** A local store and its sync against `baseUrl` (loops not started). */
async function localSync(
  baseUrl: string,
  options: Omit<CreateSyncOptions, 'store' | 'remote'>,
  remote: Partial<RemoteConfig> = {},
): Promise<{ store: Store; sync: SyncService }> {
  const store = await openStore({ dataDir: 'memory://' });
  const sync = createSync({
    store,
    remote: { baseUrl, party: 'other-health-care', ...remote },
    logger: silent,
    ...options,
  });
  await sync.ready;
  return { store, sync };
}

/** A client of the local store with its consent and one score, all on the remote. */
async function syncedClient(store: Store, sync: SyncService, hetu: string): Promise<Observation> {
  const p = (await store.create(patient(hetu))).resource as Patient;
  await store.create(consent(p.id as string));
  const o = (await store.create(score(p.id as string, 6))).resource as Observation;
  await drain(sync);
  return o;
}

/** Deletes the remote copy of a local resource on the remote (`direct`: past the proxy). */
async function deleteRemotely(direct: string, local: Observation): Promise<void> {
  const [copy] = await remoteCopiesOf(direct, local);
  if (!copy) throw new Error(`Observation/${local.id} is not on the remote`);
  expect((await fetch(`${direct}/Observation/${copy.id}`, { method: 'DELETE' })).status).toBe(204);
}

const deletedHere = (store: Store, id: string) =>
  store.read('Observation', id).then(
    () => false,
    (err: { status?: number }) => err.status === 410,
  );

const deletesCursor = async (store: Store, type: string) =>
  (
    await store.query<{ value: string }>('SELECT value FROM sync_state WHERE key = $1', [
      `deletes_since:${type}`,
    ])
  )[0]?.value;

/** The `_since` of each type history request the proxy saw, of `type`. */
const historySince = (proxy: FaultProxy, type: string) =>
  proxy.requested
    .filter((u) => new URL(u, 'http://p').pathname.endsWith(`/${type}/_history`))
    .map((u) => new URL(u, 'http://p').searchParams.get('_since'));

describe('a store that has synced for months against a busy remote', () => {
  let remote: HeldRemote;
  let local: { store: Store; sync: SyncService };

  beforeAll(async () => {
    // Every history page takes the remote 300 ms: reading months of other clients' history (20 pages)
    // takes longer than the pull's bound.
    remote = await heldRemote({ slow: { path: /\/_history$/, ms: 300 } });
    local = await localSync(remote.proxy.url, {
      pullTypes: ['Consent', 'Observation'],
      pullPageSize: 20,
      pullTimeoutMs: 4_000,
    });
  }, 120_000);

  afterAll(async () => {
    await local?.sync.stop();
    await local?.store.close();
    await remote?.close();
  });

  it('looks at each type from its first look on: the pull succeeds, and a delete made after it comes down', async () => {
    const { store, sync } = local;
    const o = await syncedClient(store, sync, '020281-931U');
    // The remote's other clients, written over the months this store has synced.
    const other = (await remote.store.create(patient('030281-932H'))).resource as Patient;
    for (let i = 0; i < 400; i++) await remote.store.create(score(other.id as string, i % 11));
    await remote.store.query(`UPDATE resource_history SET last_updated = last_updated - interval '90 days'`);
    // This store began to sync months ago: its first outbox row and followed client are that old.
    await store.query(`UPDATE sync_outbox SET created_at = created_at - interval '180 days'`);
    await store.query(`UPDATE sync_followed SET created_at = created_at - interval '180 days'`);

    const lookedAt = Date.now();
    const pulled = await sync.pullOnce();
    expect(pulled.deletesNotChecked).toEqual([]);
    // From this look on, less the allowance for the remote's clock (5 min) and the overlap (1 s).
    for (const type of ['Consent', 'Observation']) {
      const [since] = historySince(remote.proxy, type);
      expect(Date.parse(since as string)).toBeGreaterThanOrEqual(lookedAt - 5 * 60_000 - 1_000);
      expect(Date.parse(since as string)).toBeLessThanOrEqual(Date.now() - 5 * 60_000 - 1_000);
    }

    await deleteRemotely(remote.direct, o);
    const next = await sync.pullOnce();
    expect(next.deletesNotChecked).toEqual([]);
    expect(next.deleted).toBe(1);
    expect(await deletedHere(store, o.id as string)).toBe(true);
  }, 60_000);
});

describe('a type history that fails', () => {
  let facade: FacadeHere;
  let proxy: FaultProxy;
  let local: { store: Store; sync: SyncService };

  beforeAll(async () => {
    facade = await startFacadeHere({ dataDir: 'memory://' }, { strict: false });
    proxy = await startFaultProxy(facade.url);
    local = await localSync(
      proxy.url,
      { pullTypes: ['Consent', 'Observation'] },
      // One attempt and one retry, each 1.5 s at most; the circuit never opens in these tests.
      {
        timeoutMs: 1_500,
        retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 },
        breaker: { consecutiveFailures: 100 },
      },
    );
  }, 120_000);

  afterAll(() => closeAll(local, proxy, facade));

  it('by timing out: the pull takes the searches and succeeds, reports the type, keeps its cursor; the next pull takes the delete', async () => {
    const { store, sync } = local;
    const o = await syncedClient(store, sync, '040281-9336');
    const kept = await syncedClient(store, sync, '050281-934V');
    await sync.pullOnce();
    const before = await deletesCursor(store, 'Observation');
    expect(before).toBeDefined();

    await deleteRemotely(facade.url, o);
    const [copy] = (await remoteCopiesOf(facade.url, kept)) as Observation[];
    await remotePut(facade.url, { ...(copy as Observation), valueInteger: 2 });
    proxy.faults.slow = { path: /\/Observation\/_history$/, ms: 4_000 };
    try {
      const pulled = await sync.pullOnce();
      expect(pulled.applied).toBe(1);
      expect(pulled.deleted).toBe(0);
      expect(pulled.deletesNotChecked).toEqual([
        {
          type: 'Observation',
          reason: expect.stringMatching(/no answer within 1500 ms.*Observation\/_history/),
        },
      ]);
      expect(await deletesCursor(store, 'Observation')).toBe(before);
      expect(await deletedHere(store, o.id as string)).toBe(false);
    } finally {
      proxy.faults.slow = undefined;
    }

    const next = await sync.pullOnce();
    expect(next.deletesNotChecked).toEqual([]);
    expect(next.deleted).toBe(1);
    expect(await deletedHere(store, o.id as string)).toBe(true);
  }, 60_000);

  it('with a 5xx after every retry: the pull succeeds, the other types are looked at, the type is reported', async () => {
    const { store, sync } = local;
    const o = await syncedClient(store, sync, '060281-935J');
    await sync.pullOnce();
    const before = await deletesCursor(store, 'Consent');
    await deleteRemotely(facade.url, o);
    proxy.faults.refuse = { path: /\/Consent\/_history$/, status: 503 };
    try {
      const pulled = await sync.pullOnce();
      expect(pulled.deletesNotChecked).toEqual([
        { type: 'Consent', reason: expect.stringMatching(/503.*Consent\/_history/) },
      ]);
      // Observation's look comes after Consent's failed: its delete is applied and its cursor moves.
      expect(pulled.deleted).toBe(1);
      expect(await deletesCursor(store, 'Consent')).toBe(before);
    } finally {
      proxy.faults.refuse = undefined;
    }
  }, 60_000);
});

describe("a type history that outlasts the pull's bound", () => {
  let facade: FacadeHere;
  let proxy: FaultProxy;
  let local: { store: Store; sync: SyncService };

  beforeAll(async () => {
    facade = await startFacadeHere({ dataDir: 'memory://' }, { strict: false });
    proxy = await startFaultProxy(facade.url);
    local = await localSync(proxy.url, { pullTypes: ['Consent', 'Observation'], pullTimeoutMs: 5_000 });
  }, 120_000);

  afterAll(() => closeAll(local, proxy, facade));

  it("reports every type it had no time for; the searches' work stands", async () => {
    const { store, sync } = local;
    const o = await syncedClient(store, sync, '070281-9367');
    await sync.pullOnce();
    const before = await deletesCursor(store, 'Observation');
    const [copy] = (await remoteCopiesOf(facade.url, o)) as Observation[];
    await remotePut(facade.url, { ...(copy as Observation), valueInteger: 4 });
    proxy.faults.slow = { path: /\/Consent\/_history$/, ms: 7_000 };
    try {
      const pulled = await sync.pullOnce();
      expect(pulled.applied).toBe(1);
      expect(pulled.deletesNotChecked).toEqual([
        { type: 'Consent', reason: expect.stringMatching(/bound of 5000 ms.*Consent\/_history/) },
        { type: 'Observation', reason: expect.stringMatching(/bound of 5000 ms.*Observation\/_history/) },
      ]);
      expect(await deletesCursor(store, 'Observation')).toBe(before);
      expect(((await store.read('Observation', o.id as string)) as Observation).valueInteger).toBe(4);
    } finally {
      proxy.faults.slow = undefined;
    }
  }, 60_000);

  it('an abort by the caller (stop) still aborts the pull', async () => {
    const { sync } = local;
    proxy.faults.slow = { path: /\/Consent\/_history$/, ms: 1_500 };
    const seen = proxy.requested.length;
    const pulling = sync.pullOnce();
    const outcome = pulling.then(
      () => 'succeeded',
      () => 'aborted',
    );
    // Stopped while it waits for the type history.
    while (!proxy.requested.slice(seen).some((u) => u.includes('/Consent/_history')))
      await new Promise((r) => setTimeout(r, 20));
    await sync.stop();
    expect(await outcome).toBe('aborted');
    proxy.faults.slow = undefined;
  }, 60_000);
});

describe('a receiving party (its facade refuses type history: 403)', () => {
  let facade: FacadeHere;
  let proxy: FaultProxy;
  let local: { store: Store; sync: SyncService };

  beforeAll(async () => {
    facade = await startFacadeHere({ dataDir: 'memory://' }, { strict: false });
    proxy = await startFaultProxy(facade.url, { refuse: { path: /\/_history$/, status: 403 } });
    local = await localSync(proxy.url, { pullTypes: ['Consent', 'Observation'] });
  }, 120_000);

  afterAll(() => closeAll(local, proxy, facade));

  it('is asked once per type within the quiet period; each pull reports the types', async () => {
    const { store, sync } = local;
    await syncedClient(store, sync, '080281-937W');
    for (let i = 0; i < 3; i++) {
      const pulled = await sync.pullOnce();
      expect(pulled.deletesNotChecked).toEqual([
        { type: 'Consent', reason: expect.stringContaining('403') },
        { type: 'Observation', reason: expect.stringContaining('403') },
      ]);
    }
    expect(historySince(proxy, 'Consent')).toHaveLength(1);
    expect(historySince(proxy, 'Observation')).toHaveLength(1);
  }, 60_000);
});
