// Loss-free and duplicate-free push under faults injected between us and a Medplum peer:
// 500/503/429 answers, lost answers, hangs past the timeout, the remote going down and back.
import type { Consent, Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import { openStore } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import { type FaultProxy, startFaultProxy } from './helpers/fault-proxy.ts';
import { consent, patient, remoteAll, score } from './helpers/fixtures.ts';
import { type MedplumPeer, startMedplumPeer } from './helpers/medplum-peer.ts';

let peer: MedplumPeer;
let proxy: FaultProxy;
let store: Store;
let hooks: SyncService;
let sync: SyncService;
let hetuSeq = 920;

// Medplum's in-memory search scans every resource, so each test gets a fresh, small peer. One
// service owns the outbox hook; each test's worker (same outbox) talks to that test's proxy.
function worker(timeoutMs: number, batchSize: number): SyncService {
  return createSync({
    store,
    remote: {
      baseUrl: proxy.url,
      party: 'other-health-care',
      bundle: 'batch',
      timeoutMs,
      retry: { maxAttempts: 4, initialDelayMs: 5, maxDelayMs: 40, maxRetryAfterMs: 50 },
      breaker: { consecutiveFailures: 6, halfOpenAfterMs: 150 },
    },
    batchSize,
    retryBaseMs: 20,
    today: () => '2026-06-01',
    installHook: false,
  });
}

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  hooks = createSync({ store, remote: { baseUrl: 'http://127.0.0.1:9/unused', party: 'other-health-care' } });
  await hooks.ready;
});
afterAll(async () => {
  await store.close();
});
beforeEach(async () => {
  // Each test's peer is a new server: the store forgets the last one's ids, as a fresh store would
  // (sync-config-2 refuses a store whose id map belongs to a server that holds none of them).
  await store.query('DELETE FROM sync_idmap');
  await store.query("DELETE FROM sync_state WHERE key = 'remote'");
  peer = await startMedplumPeer();
  proxy = await startFaultProxy(peer.url);
  sync = worker(15_000, 20);
});
afterEach(async () => {
  await proxy.close();
  await peer.close();
});

/** Clients with consent and `perClient` observations each; returns every business identifier. */
async function seed(clients: number, perClient: number): Promise<Map<string, string>> {
  const ids = new Map<string, string>(); // identifier value → type
  for (let c = 0; c < clients; c++) {
    const hetu = `0101${String(81).padStart(2, '0')}-${hetuSeq++}X`;
    const p = (await store.create(patient(hetu))).resource as Patient;
    ids.set(p.identifier![0].value!, 'Patient');
    const k = (await store.create(consent(p.id!))).resource;
    ids.set((k as Consent).identifier![0].value!, 'Consent');
    for (let i = 0; i < perClient; i++) {
      const o = (await store.create(score(p.id!, i % 11))).resource as Observation;
      ids.set(o.identifier![0].value!, 'Observation');
    }
  }
  return ids;
}

async function drain(deadlineMs = 20_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    await sync.pushOnce();
    if ((await sync.status()).queueDepth === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`outbox not drained: ${JSON.stringify(await sync.status())}`);
}

async function expectExactlyOnce(ids: Map<string, string>): Promise<void> {
  for (const type of ['Patient', 'Consent', 'Observation']) {
    const remote = await remoteAll(peer.url, type);
    const counts = new Map<string, number>();
    for (const r of remote) {
      const v = ((r as Patient).identifier ?? []).find((i) => i.system === 'urn:ietf:rfc:3986')?.value;
      if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    for (const [value, t] of ids) {
      if (t === type) expect(counts.get(value), `${type} ${value}`).toBe(1);
    }
  }
  const states = (await sync.status()).states;
  expect(states.dead).toBe(0);
  expect(states.pending + states.inflight).toBe(0);
}

describe('push under injected faults (Medplum peer)', () => {
  it('30% 500/503/429 answers with Retry-After and 10% lost answers: all delivered exactly once', async () => {
    Object.assign(proxy.faults, {
      errorRate: 0.3,
      statuses: [500, 503, 429],
      retryAfter: '0',
      dropRate: 0.1,
      errorNext: 1,
      dropNext: 1,
    });
    const ids = await seed(2, 8);
    await drain();
    expect(proxy.stats.injected).toBeGreaterThan(0);
    expect(proxy.stats.dropped).toBeGreaterThan(0);
    await expectExactlyOnce(ids);
    // nothing local lost
    expect((await store.search('Observation', { _count: '1000' })).resources.length).toBeGreaterThanOrEqual(
      16,
    );
  });

  it('hangs past the per-attempt timeout are abandoned and retried: exactly once', async () => {
    // A second worker on the same outbox with a short per-attempt timeout (the Medplum peer needs
    // up to a few seconds for a large batch, so the main worker's timeout is generous).
    const quick = worker(1_000, 4);
    Object.assign(proxy.faults, { hangNext: 2, hangRate: 0.1, hangMs: 1_500 });
    const ids = await seed(2, 3);
    const until = Date.now() + 30_000;
    while ((await quick.status()).queueDepth > 0 && Date.now() < until) {
      await quick.pushOnce();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(proxy.stats.hung).toBeGreaterThanOrEqual(2);
    await expectExactlyOnce(ids);
  }, 60_000);

  it('the remote going down keeps rows queued (circuit opens, no dead letters); they drain when it returns', async () => {
    await proxy.down();
    const ids = await seed(2, 4);
    await sync.pushOnce();
    const during = await sync.status();
    expect(during.queueDepth).toBe(12);
    expect(during.states.dead).toBe(0);
    await proxy.up();
    await drain();
    await expectExactlyOnce(ids);
  });
});
