// The Kanta PHR push round's lease and counts. A round keeps its rows while it works client by client
// (a client's PHR Patient created under 503 + Retry-After can take longer than the lease): it renews
// the lease after each client and before the batch (the FHIR-store push's keepLease), and a round that
// lost its rows to another round sends none of them — each row leaves in one batch only. A round's
// result counts each row once, by what its settle actually changed (rows an earlier step of the round
// settled are not counted again when the batch fails). The sandbox is a facade in the test's process,
// behind the fault proxy; the stores PGlite.
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/index.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { type SyncService, createSync, remoteConfigFrom } from '../../src/sync/index.ts';
import { silent } from '../server/helpers.ts';
import { type FaultProxy, startFaultProxy } from '../sync/helpers/fault-proxy.ts';
import { consent, patient } from '../sync/helpers/fixtures.ts';
import { sdkResponse, startSandboxHere } from './helpers.ts';

let remoteStore: Store;
let sandbox: RunningServer;
let proxy: FaultProxy;
const opened: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  ({ remoteStore, sandbox } = await startSandboxHere());
  proxy = await startFaultProxy(`${sandbox.url}/fhir`);
}, 60_000);
afterEach(async () => {
  Object.assign(proxy.faults, { errorNext: 0, statuses: [503], retryAfter: undefined, refuse: undefined });
  for (const o of opened.splice(0).reverse()) await o.stop();
});
afterAll(async () => {
  await proxy?.close();
  await sandbox?.close();
  await remoteStore?.close();
});

interface Local {
  store: Store;
  sync: SyncService;
  /** A client (one per HETU) with a consent for kela; its local id. */
  client(hetu: string): Promise<string>;
  /** A finished self-assessment the client wrote. */
  response(of: string): Promise<QuestionnaireResponse & { id: string }>;
}

async function local(tuning: { leaseMs?: number; maxAttempts?: number }): Promise<Local> {
  const store = await openStore({ dataDir: 'memory://' });
  const remote = remoteConfigFrom({
    remote: proxy.url,
    party: 'kela',
    remoteKind: 'kanta-phr',
    applicationName: 'tyokyky-tests',
    applicationId: 'kela-test-app-5',
  });
  const retry = {
    initialDelayMs: 10,
    maxDelayMs: 20,
    ...(tuning.maxAttempts ? { maxAttempts: tuning.maxAttempts } : {}),
  };
  const sync = createSync({
    store,
    remote: { ...(remote as NonNullable<typeof remote>), retry, breaker: { halfOpenAfterMs: 100 } },
    retryBaseMs: 10,
    ...(tuning.leaseMs ? { leaseMs: tuning.leaseMs } : {}),
    logger: silent,
  });
  await sync.ready;
  opened.push({ stop: () => store.close() }, sync);
  return {
    store,
    sync,
    async client(hetu) {
      const id = (await store.create(patient(hetu))).resource.id as string;
      await store.create(consent(id, { parties: ['kela'] }));
      return id;
    },
    async response(of) {
      return (await store.create(sdkResponse(of))).resource as never;
    },
  };
}

const responseRows = (store: Store) =>
  store.query<{ state: string; attempts: number }>(
    `SELECT state, attempts FROM sync_outbox WHERE resource_type = 'QuestionnaireResponse' ORDER BY id`,
  );

describe('Kanta PHR push: the lease', () => {
  it('a round whose lease ran out while one client was slow sends nothing of what another round took: each row in one batch', async () => {
    const { store, sync, client, response } = await local({ leaseMs: 1500 });
    const b = await client('020202A912U');
    const rb = await response(b);
    await sync.pushOnce();
    const a = await client('010181-900C'); // new: its PHR Patient is created first in the round
    await response(a);
    await store.update({ ...rb, item: [{ linkId: 'overall', answer: [{ valueInteger: 3 }] }] } as never, {
      ifMatch: rb.meta?.versionId,
    });
    const from = proxy.requested.length;
    // a's PHR Patient: 503 with Retry-After 1 s four times, longer than the lease.
    Object.assign(proxy.faults, { errorNext: 4, statuses: [503], retryAfter: '1' });
    const first = sync.pushRound();
    await new Promise((r) => setTimeout(r, 2000));
    const second = await sync.pushRound();
    const firstResult = await first;
    const batches = proxy.requested.slice(from).filter((p) => p === '/fhir/');
    expect(batches, JSON.stringify({ firstResult, second })).toHaveLength(1);
    // The first round gave back what it held (nothing: the second took it all) and sent nothing.
    expect(firstResult).toMatchObject({ claimed: 4, done: 2, dead: 0, retrying: 0 });
    expect(second).toMatchObject({ dead: 0, retrying: 0 });
    expect((await responseRows(store)).map((r) => r.state)).toEqual(['done', 'done', 'done']);
    const there = await remoteStore.search('QuestionnaireResponse', {
      identifier: `urn:ietf:rfc:3986|${rb.identifier?.value}`,
    });
    expect(there.resources.map((q) => q.meta?.versionId)).toEqual(['2']);
    const exports = await store.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM security_audit WHERE events::text LIKE $1`,
      [`%QuestionnaireResponse/${rb.id}%`],
    );
    expect(exports[0]?.n).toBe(2); // its create in the first push, its update once
  });
});

describe('Kanta PHR push: the lease renewed client by client', () => {
  it('clients slow one by one, together longer than the lease: renewed after each, no other round takes the rows', async () => {
    const { store, sync, client, response } = await local({ leaseMs: 1500 });
    for (const hetu of ['010181-900C', '020202A912U']) await response(await client(hetu));
    const from = proxy.requested.length;
    // Each new client's PHR Patient takes 1 s: two of them outlast the 1.5 s lease of the claim.
    proxy.faults.slow = { path: /\/fhir\/Patient$/, ms: 1000 };
    try {
      const first = sync.pushRound();
      await new Promise((r) => setTimeout(r, 1700));
      const second = await sync.pushRound();
      const firstResult = await first;
      expect(second.claimed, JSON.stringify({ firstResult, second })).toBe(0);
      expect(firstResult).toMatchObject({ claimed: 6, done: 6, dead: 0, retrying: 0, waiting: 0 });
    } finally {
      proxy.faults.slow = undefined;
    }
    expect(proxy.requested.slice(from).filter((p) => p === '/fhir/')).toHaveLength(1);
    expect(await responseRows(store)).toEqual([
      { state: 'done', attempts: 1 },
      { state: 'done', attempts: 1 },
    ]);
  });
});

describe('Kanta PHR push: a round counts each row once', () => {
  it('a failed batch counts only the rows still in flight, not those a failed client already sent back', async () => {
    const { store, sync, client, response } = await local({ maxAttempts: 1 });
    const a = await client('010181-900C');
    await response(a);
    await sync.pushOnce(); // a has a PHR Patient now
    await response(a);
    const b = await client('020202A912U');
    await response(b);
    await response(b);
    // Every POST fails 503: b's PHR Patient create (b's rows back to the queue), then the batch.
    proxy.faults.refuse = { path: /\/fhir\/?(Patient)?$/, status: 503 };
    const round = await sync.pushRound();
    expect(round).toEqual({
      claimed: 5,
      done: 2, // b's Patient and Consent: not applicable to Kanta PHR
      dead: 0,
      blocked: 0,
      parked: 0,
      retrying: 3,
      waiting: 0,
      held: 0,
    });
    const rows = await store.query<{ state: string; n: number }>(
      `SELECT state, count(*)::int AS n FROM sync_outbox
        WHERE resource_type = 'QuestionnaireResponse' AND state <> 'done' GROUP BY state`,
    );
    expect(rows).toEqual([{ state: 'pending', n: 3 }]);
  });
});
