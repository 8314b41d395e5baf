// Each push round claims under its own claim id, and its Bundle leaves only in one of the service's
// send slots: rounds are prepared and settled while another round's Bundle is at the remote, so a
// round may wait — and a round whose rows went to someone else while it waited sends none of them.
// Local PostgreSQL store, second tyokyky facade as the remote (behind the fault proxy).
import type { Patient, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import { openStore } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import {
  claim,
  reclaimExpired,
  release,
  renewLease,
  roundClaimId,
  settle,
  workerOfClaim,
} from '../../src/sync/repository.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import { type FaultProxy, startFaultProxy } from './helpers/fault-proxy.ts';
import { consent, patient, remoteAll, score } from './helpers/fixtures.ts';
import { dropDatabase, freshDatabase, startRemote } from './helpers/remote.ts';
import { drain, waitFor } from './helpers/waits.ts';

let facade: FacadeHere;
let proxy: FaultProxy;
let store: Store;
let hooks: SyncService;
const databases: string[] = [];

beforeAll(async () => {
  databases.push(await freshDatabase('tyokyky_claims_remote'), await freshDatabase('tyokyky_claims_local'));
  facade = await startRemote(databases[0]);
  proxy = await startFaultProxy(facade.url, {});
  store = await openStore({ databaseUrl: databases[1] });
  // The outbox hook only; the workers below push.
  hooks = createSync({ store, remote: { baseUrl: facade.url, party: 'other-health-care' } });
  await hooks.ready;
}, 120_000);
afterAll(async () => {
  proxy?.releaseHeld();
  await proxy?.close();
  await store?.close();
  await facade?.stop();
  for (const url of databases) await dropDatabase(url);
});

const identifierOf = (r: Resource) => (r as Patient).identifier?.[0]?.value;

/** A permitted client: Patient, Consent, one Observation (the last two refer to the Patient); their identifiers. */
async function client(hetu: string): Promise<string[]> {
  const p = (await store.create(patient(hetu))).resource as Patient;
  const c = (await store.create(consent(p.id!))).resource;
  const o = (await store.create(score(p.id!, 5))).resource;
  return [p, c, o].map((r) => identifierOf(r)!);
}

describe('claims per round', () => {
  it('a row whose lease ran out and that a sibling round claimed is the sibling’s: renewal, settle and release of the first leave it alone', async () => {
    await client('010181-961H');
    const worker = 'test-host:1:abcd1234';
    const first = roundClaimId(worker, 1);
    const second = roundClaimId(worker, 2);
    expect(workerOfClaim(first)).toBe(worker);
    expect(workerOfClaim(worker)).toBe(worker); // a worker that claims under its bare id (Kanta adapter)
    const rows = await claim(store, first, 100, 100);
    expect(rows).toHaveLength(3);
    const ids = rows.map((r) => r.id);
    expect(await renewLease(store, first, ids, 100)).toBe(3); // still ours
    await new Promise((r) => setTimeout(r, 250));
    expect(await reclaimExpired(store)).toBe(3);
    expect((await claim(store, second, 100, 60_000)).map((r) => r.id)).toEqual(ids);

    expect(await renewLease(store, first, ids, 60_000)).toBe(0);
    await settle(store, first, ids, 'dead', { reason: 'must not land' });
    await release(store, first, ids, 0, 'must not land either');
    const held = await store.query<{ state: string; claimed_by: string; reason: string | null }>(
      'SELECT state, claimed_by, reason FROM sync_outbox WHERE id = ANY($1::bigint[])',
      [ids],
    );
    expect(held.map((r) => [r.state, r.claimed_by, r.reason])).toEqual(
      ids.map(() => ['inflight', second, null]),
    );

    await settle(store, second, ids, 'pending');
    const settled = await store.query<{ state: string; settled_by: string; claimed_by: string | null }>(
      'SELECT state, settled_by, claimed_by FROM sync_outbox WHERE id = ANY($1::bigint[])',
      [ids],
    );
    // settled_by names the worker, not the round (several workers sharing a queue stay countable).
    expect(settled.map((r) => [r.state, r.settled_by, r.claimed_by])).toEqual(
      ids.map(() => ['pending', worker, null]),
    );
    await drain(
      createSync({ store, remote: { baseUrl: facade.url, party: 'other-health-care' }, installHook: false }),
    );
  }, 60_000);

  it('one Bundle at the remote at a time with pushConcurrency 1; a round that lost its rows while it waited for the send slot sends none of them; everything arrives once', async () => {
    const wanted = [...(await client('010181-962J')), ...(await client('010181-963K'))];
    const a = createSync({
      store,
      remote: { baseUrl: proxy.url, party: 'other-health-care', timeoutMs: 30_000 },
      installHook: false,
      batchSize: 3,
      pushConcurrency: 1,
      leaseMs: 400,
    });
    await a.ready;
    proxy.faults.holdNext = 1;
    proxy.faults.holdMethod = 'POST';
    const pushing = a.pushOnce();
    // The first round's Bundle is at the remote (its answer held); the second round is claimed and
    // prepared meanwhile, and waits for the one send slot — status says so.
    await waitFor(
      async () =>
        (await a.status()).waiting.some((w) => w.what.includes('send slot')) && proxy.stats.held === 1,
      20_000,
      'a round waiting for the send slot behind a held Bundle',
      async () => (await a.status()).waiting,
    );
    const [{ n: inflight }] = await store.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM sync_outbox WHERE state = 'inflight'",
    );
    expect(inflight).toBe(6); // both rounds' rows: one round sending, one prepared
    // Only the held Bundle has reached the remote: one of the two clients is there, the other not yet.
    const there = (await remoteAll(facade.url, 'Patient')).map(identifierOf);
    expect(there.filter((id) => id === wanted[0] || id === wanted[3])).toHaveLength(1);

    // Both leases run out; another worker takes every row back and delivers it.
    await new Promise((r) => setTimeout(r, 600));
    const b = createSync({
      store,
      remote: { baseUrl: facade.url, party: 'other-health-care' },
      installHook: false,
      batchSize: 10,
    });
    await drain(b);
    const bundlesBefore = proxy.stats.forwarded;
    proxy.releaseHeld();
    await pushing;
    // The waiting round found its rows gone at its turn and sent nothing.
    expect(proxy.stats.forwarded).toBe(bundlesBefore);
    await drain(a);

    const remote = (
      await Promise.all(['Patient', 'Consent', 'Observation'].map((t) => remoteAll(facade.url, t)))
    ).flat();
    const counts = new Map<string, number>();
    for (const r of remote) counts.set(identifierOf(r)!, (counts.get(identifierOf(r)!) ?? 0) + 1);
    for (const id of wanted) expect(counts.get(id)).toBe(1);
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
    const present = new Set(remote.map((r) => `${r.resourceType}/${r.id}`));
    for (const r of remote)
      for (const m of JSON.stringify(r).matchAll(/"reference":"([A-Za-z]+\/[^"]+)"/g))
        expect(present.has(m[1]), `${r.resourceType} → ${m[1]}`).toBe(true);
    const states = await store.query<{ state: string; n: number }>(
      'SELECT state, count(*)::int AS n FROM sync_outbox GROUP BY state',
    );
    expect(states).toEqual([{ state: 'done', n: 9 }]);
  }, 90_000);

  it('a claim takes clients whole: the client the limit would cut waits whole for the next round, unless it is all there is', async () => {
    const first = await client('010181-964L');
    await client('010181-965M');
    const worker = 'test-host:1:whole123';
    const patientOf = async (ids: string[]) =>
      (
        await store.query<{ patient_id: string }>(
          'SELECT DISTINCT patient_id FROM sync_outbox WHERE id = ANY($1::bigint[])',
          [ids],
        )
      ).map((r) => r.patient_id);
    // Limit 4 over two clients of 3: the first client only, not the first row of the second.
    const one = await claim(store, roundClaimId(worker, 1), 4, 60_000);
    expect(one).toHaveLength(3);
    expect(one.map((r) => identifierOf(r.payload))).toEqual(first);
    // Limit 2, and the only client left has 3 rows: it is cut after all (else it could never go).
    const two = await claim(store, roundClaimId(worker, 2), 2, 60_000);
    expect(two).toHaveLength(2);
    expect(await patientOf(two.map((r) => r.id))).toHaveLength(1);
    for (const [n, rows] of [one, two].entries())
      await release(
        store,
        roundClaimId(worker, n + 1),
        rows.map((r) => r.id),
        0,
      );
    await drain(
      createSync({ store, remote: { baseUrl: facade.url, party: 'other-health-care' }, installHook: false }),
    );
  }, 60_000);
});
