// Credentials the remote refuses — its token endpoint (a rotated client secret: sync-auth-1) or the
// remote itself (401) — refuse every request alike: no row is to blame. The round stops, its rows
// go back to the queue (no dead letter, no attempt counted, no refused disclosure audited), the status
// names the failure, and once the credentials work the push resumes by itself. Local stores on
// PGlite; a Medplum peer with a client-credentials token endpoint, or our fault proxy answering 401. (A 403 refuses
// one resource, not the credentials: tests/security/sync-auth.test.ts.)
import type { Observation, Patient } from '@medplum/fhirtypes';
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import { openStore } from '../../src/store/index.ts';
import { type RemoteConfig, type SyncService, createSync } from '../../src/sync/index.ts';
import { startFaultProxy } from './helpers/fault-proxy.ts';
import { consent, identifierOf, patient, score } from './helpers/fixtures.ts';
import { type MedplumPeer, startMedplumPeer } from './helpers/medplum-peer.ts';
import { drain, waitFor } from './helpers/waits.ts';

const opened: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.stop();
});

async function started<T extends { stop(): Promise<void> }>(thing: Promise<T>): Promise<T> {
  const t = await thing;
  opened.push(t);
  return t;
}

/** A local store with the outbox hook (its own service, not pushing) and `clients` permitted clients. */
async function storeWith(hetus: string[]): Promise<{ store: Store; identifiers: string[] }> {
  const store = await openStore({ dataDir: 'memory://' });
  const hooks = createSync({
    store,
    remote: { baseUrl: 'http://127.0.0.1:9/unused', party: 'other-health-care' },
  });
  await hooks.ready;
  opened.push({ stop: () => store.close() }, hooks);
  const identifiers: string[] = [];
  for (const hetu of hetus) {
    const p = (await store.create(patient(hetu))).resource as Patient;
    const c = (await store.create(consent(p.id!))).resource;
    identifiers.push(identifierOf(p)!, identifierOf(c)!);
  }
  return { store, identifiers };
}

function worker(store: Store, remote: Partial<RemoteConfig> & { baseUrl: string }): SyncService {
  const sync = createSync({
    store,
    remote: {
      party: 'other-health-care',
      bundle: 'batch',
      retry: { initialDelayMs: 5, maxDelayMs: 20 },
      breaker: { halfOpenAfterMs: 100 },
      ...remote,
    },
    installHook: false,
  });
  opened.push(sync);
  return sync;
}

const rowsOf = (store: Store) =>
  store.query<{ state: string; attempts: number }>('SELECT state, attempts FROM sync_outbox ORDER BY id');
const auditRows = async (store: Store) =>
  (await store.query<{ n: number }>('SELECT count(*)::int AS n FROM security_audit'))[0]!.n;

/** The business identifiers of the Patients and Consents the peer holds (read from its repository). */
async function onPeer(peer: MedplumPeer): Promise<string[]> {
  const all = [
    ...(await peer.repo.searchResources({ resourceType: 'Patient' })),
    ...(await peer.repo.searchResources({ resourceType: 'Consent' })),
  ];
  return all.map((r) => identifierOf(r)!).sort();
}

describe('credentials the remote refuses', () => {
  it('sync-auth-1 (token endpoint 401): rows wait, nothing dead or audited, the status says why; fixed, everything arrives', async () => {
    const peer = await started(
      startMedplumPeer({ auth: { clientId: 'tyokyky', clientSecret: 'rotated', expiresIn: 300 } }).then(
        (p: MedplumPeer) => Object.assign(p, { stop: () => p.close() }),
      ),
    );
    const { store, identifiers } = await storeWith(['010181-940B', '010181-941C', '010181-942D']);
    const audited = await auditRows(store);
    const stale = worker(store, {
      baseUrl: peer.url,
      auth: { tokenUrl: peer.tokenUrl, clientId: 'tyokyky', clientSecret: 'old' },
    });
    await stale.ready;
    await stale.pushOnce();
    await new Promise((r) => setTimeout(r, 150)); // past the rows' delay: a second round meets the same
    await stale.pushOnce();

    const status = await stale.status();
    expect(status.states).toMatchObject({ pending: 6, dead: 0, held: 0, inflight: 0 });
    expect(status.failures.lastError).toMatch(
      /^\S+ sync-auth-1: the token endpoint refused the credentials \(HTTP 401\); rows wait, not sent$/,
    );
    expect((await rowsOf(store)).map((r) => r.attempts)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(await auditRows(store)).toBe(audited);
    expect(peer.stats.requests).toBe(0);

    const fixed = worker(store, {
      baseUrl: peer.url,
      auth: { tokenUrl: peer.tokenUrl, clientId: 'tyokyky', clientSecret: 'rotated' },
    });
    await drain(fixed, 20_000);
    expect(await onPeer(peer)).toEqual([...identifiers].sort());
    expect((await fixed.status()).states).toMatchObject({ done: 6, dead: 0 });
  }, 60_000);

  it('the remote answering 401: the background loop keeps every row, the status names the status; allowed again, everything arrives', async () => {
    const peer = await started(
      startMedplumPeer().then((p: MedplumPeer) => Object.assign(p, { stop: () => p.close() })),
    );
    const proxy = await started(
      startFaultProxy(peer.url.replace(/\/fhir$/, ''), { errorNext: 1_000_000, statuses: [401] }).then((x) =>
        Object.assign(x, { stop: () => x.close() }),
      ),
    );
    const { store, identifiers } = await storeWith(['010181-943E', '010181-944F']);
    const audited = await auditRows(store);
    const sync = worker(store, { baseUrl: `${proxy.url}/fhir` });
    await sync.ready;
    sync.start({ pull: false });
    await waitFor(
      async () => proxy.stats.injected >= 3 && (await sync.status()).failures.lastError !== null,
      20_000,
      'rounds refused with 401',
    );
    const status = await sync.status();
    expect(status.states.dead).toBe(0);
    expect(status.states.held).toBe(0);
    expect(status.states.pending + status.states.inflight).toBe(4);
    // The remote's status and our rule, never the text of its answer.
    expect(status.failures.lastError).toMatch(
      /^\S+ sync-auth-1: the remote answered 401 to POST \(its access token refused\); rows wait, not sent$/,
    );
    expect(await auditRows(store)).toBe(audited);

    proxy.faults.errorNext = 0;
    await waitFor(async () => (await sync.status()).queueDepth === 0, 20_000, 'the outbox to drain');
    expect(await onPeer(peer)).toEqual([...identifiers].sort());
    expect((await sync.status()).states).toMatchObject({ done: 4, dead: 0 });
  }, 60_000);

  it('a 401 met while an update whose copy is gone is created again: the row waits, not dead', async () => {
    const peer = await started(
      startMedplumPeer().then((p: MedplumPeer) => Object.assign(p, { stop: () => p.close() })),
    );
    const proxy = await started(
      startFaultProxy(peer.url.replace(/\/fhir$/, ''), { statuses: [401] }).then((x) =>
        Object.assign(x, { stop: () => x.close() }),
      ),
    );
    const { store } = await storeWith(['010181-945H']);
    const [{ id: patientId }] = await store.query<{ id: string }>(
      "SELECT resource_id AS id FROM sync_outbox WHERE resource_type = 'Patient'",
    );
    const obs = (await store.create(score(patientId!, 3))).resource as Observation;
    const sync = worker(store, { baseUrl: `${proxy.url}/fhir` });
    await drain(sync, 20_000);
    const [{ remote_id: remoteId }] = await store.query<{ remote_id: string }>(
      "SELECT remote_id FROM sync_idmap WHERE resource_type = 'Observation'",
    );
    await peer.repo.deleteResource('Observation', remoteId!);
    await store.update({ ...obs, valueInteger: 7 }, { ifMatch: obs.meta!.versionId });
    // The PUT goes through (and finds the copy gone); the create that follows is refused.
    Object.assign(proxy.faults, { errorAfter: 1, errorNext: 1_000_000 });
    await sync.pushOnce();
    const [row] = await store.query<{ state: string; attempts: number }>(
      "SELECT state, attempts FROM sync_outbox WHERE resource_type = 'Observation' ORDER BY id DESC LIMIT 1",
    );
    expect(row).toEqual({ state: 'pending', attempts: 0 });
    expect((await sync.status()).failures.lastError).toMatch(
      / sync-auth-1: the remote answered 401 to POST /,
    );

    proxy.faults.errorNext = 0;
    await drain(sync, 20_000);
    const copies = await peer.repo.searchResources<Observation>({ resourceType: 'Observation' });
    expect(copies.map((c) => [c.id === remoteId, c.valueInteger])).toEqual([[false, 7]]);
    expect((await sync.status()).states.dead).toBe(0);
  }, 60_000);

  it('one by one: a write that went before the refusal settles done; the refused one waits', async () => {
    const peer = await started(
      startMedplumPeer().then((p: MedplumPeer) => Object.assign(p, { stop: () => p.close() })),
    );
    const proxy = await started(
      startFaultProxy(peer.url.replace(/\/fhir$/, ''), { statuses: [401] }).then((x) =>
        Object.assign(x, { stop: () => x.close() }),
      ),
    );
    const { store } = await storeWith(['010181-946J']);
    const sync = worker(store, { baseUrl: `${proxy.url}/fhir`, bundle: 'none' });
    await drain(sync, 20_000);
    const [{ id: patientId }] = await store.query<{ id: string }>(
      "SELECT resource_id AS id FROM sync_outbox WHERE resource_type = 'Patient'",
    );
    for (const value of [2, 8]) await store.create(score(patientId!, value));
    // Both creates leave together (one wave); the first to arrive goes through, the other is refused.
    Object.assign(proxy.faults, { errorAfter: 1, errorNext: 1_000_000 });
    await sync.pushOnce();
    const rows = await store.query<{ state: string; attempts: number }>(
      "SELECT state, attempts FROM sync_outbox WHERE resource_type = 'Observation' ORDER BY state",
    );
    expect(rows).toEqual([
      { state: 'done', attempts: 1 },
      { state: 'pending', attempts: 0 },
    ]);
    expect(await peer.repo.searchResources({ resourceType: 'Observation' })).toHaveLength(1);
  }, 60_000);
});
