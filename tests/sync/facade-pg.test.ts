// Against a second tyokyky facade (in the test process, its own PostgreSQL database) as the Kanta-style
// store; the local store on PostgreSQL; sync workers as separate processes (two at once; one
// killed with SIGKILL mid-batch and restarted).
import type { ChildProcess } from 'node:child_process';
import type { Consent, Observation, Patient, QuestionnaireResponse, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store, StoreTx } from '../../src/store/index.ts';
import { openStore } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import { consent, patient, remoteAll, remotePost, score, selfAssessment } from './helpers/fixtures.ts';
import { stopChild, tyokyky } from './helpers/processes.ts';
import { dropDatabase, freshDatabase, startRemote } from './helpers/remote.ts';
import { emptied, waitFor } from './helpers/waits.ts';

let facade: FacadeHere;
let localUrl: string;
let store: Store;
let sync: SyncService;
let hetuSeq = 930;
const children: ChildProcess[] = [];

let remoteDb = '';

beforeAll(async () => {
  remoteDb = await freshDatabase('tyokyky_sync_remote');
  localUrl = await freshDatabase('tyokyky_sync_local');
  facade = await startRemote(remoteDb);
  store = await openStore({ databaseUrl: localUrl });
  sync = createSync({ store, remote: { baseUrl: facade.url, party: 'other-health-care' }, batchSize: 50 });
  await sync.ready;
});
afterAll(async () => {
  for (const c of children) await stopChild(c, 'SIGKILL');
  await sync?.stop();
  await store?.close();
  await facade?.stop();
  for (const url of [remoteDb, localUrl]) if (url) await dropDatabase(url);
});

async function seed(clients: number, perClient: number, db: StoreTx = store): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (let c = 0; c < clients; c++) {
    const p = (await db.create(patient(`010181-${hetuSeq++}X`))).resource as Patient;
    ids.set(p.identifier![0].value!, 'Patient');
    const k = (await db.create(consent(p.id!))).resource as Consent;
    ids.set(k.identifier![0].value!, 'Consent');
    for (let i = 0; i < perClient; i++) {
      const o = (await db.create(score(p.id!, i % 11))).resource as Observation;
      ids.set(o.identifier![0].value!, 'Observation');
    }
  }
  return ids;
}

async function expectExactlyOnceRemotely(ids: Map<string, string>): Promise<void> {
  const counts = new Map<string, number>();
  for (const type of ['Patient', 'Consent', 'Observation']) {
    for (const r of await remoteAll(facade.url, type)) {
      const v = ((r as Patient).identifier ?? []).find((i) => i.system === 'urn:ietf:rfc:3986')?.value;
      if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
  }
  const wrong = [...ids.keys()].filter((v) => counts.get(v) !== 1);
  expect(wrong, 'identifiers not exactly once on the remote').toEqual([]);
}

/** Resolves when a `sync push --watch` worker says it runs. */
function workerStarted(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let said = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      if (said.includes('worker pushing to')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`sync worker exited (${code}) before it started`)));
  });
}

function worker(extra: string[] = []): ChildProcess {
  const child = tyokyky([
    'sync',
    'push',
    '--watch',
    '--database-url',
    localUrl,
    '--remote',
    facade.url,
    ...extra,
  ]);
  child.stdout?.resume();
  child.stderr?.resume();
  children.push(child);
  return child;
}

describe('sync with a second tyokyky facade on PostgreSQL', () => {
  it('pushes (transaction Bundles from the CapabilityStatement) and pulls back, idempotently', async () => {
    expect(await sync.remote.bundleMode()).toBe('transaction');
    const ids = await seed(2, 5);
    const pushed = await sync.pushOnce();
    expect(pushed.done).toBe(ids.size);
    await expectExactlyOnceRemotely(ids);
    // The remote facade's Server-Timing splits its time; both parts sit inside the network wait.
    const t = sync.timings;
    expect(t.remoteValidation).toBeGreaterThan(0);
    expect(t.remoteDatabase).toBeGreaterThan(0);
    expect(t.remoteValidation + t.remoteDatabase).toBeLessThanOrEqual(t.requests);

    const [m] = await store.query<{ local_id: string; remote_id: string }>(
      "SELECT local_id, remote_id FROM sync_idmap WHERE resource_type = 'Patient' ORDER BY local_id LIMIT 1",
    );
    const qr = await remotePost(facade.url, selfAssessment(m.remote_id));
    const pulled = await sync.pullOnce();
    expect(pulled.applied).toBeGreaterThanOrEqual(1);
    const local = (await store.search('QuestionnaireResponse', { subject: `Patient/${m.local_id}` }))
      .resources as QuestionnaireResponse[];
    expect(local.map((r) => r.identifier?.value)).toEqual([qr.identifier?.value]);
    const again = await sync.pullOnce();
    expect(again.applied).toBe(0);
    expect((await sync.status()).queueDepth).toBe(0); // nothing echoed back
  });

  it('a createMany enqueues every resource in one statement, in order, and they reach the remote', async () => {
    const p = (await store.create(patient(`010181-${hetuSeq++}X`))).resource as Patient;
    await store.create(consent(p.id!));
    const scores = [3, 8, 9].map((v) => score(p.id!, v));
    const written = await store.createMany(scores.map((resource) => ({ resource })));
    const ids = written.map((w) => (w as { resource: Observation }).resource.id);
    const rows = await store.query<{ resource_id: string; state: string }>(
      `SELECT resource_id, state FROM sync_outbox WHERE resource_id = ANY($1::text[]) ORDER BY id`,
      [ids],
    );
    expect(rows).toEqual(ids.map((id) => ({ resource_id: id, state: 'pending' })));
    const pushed = await sync.pushOnce();
    expect(pushed.done).toBeGreaterThanOrEqual(5);
    await expectExactlyOnceRemotely(new Map(scores.map((o) => [o.identifier![0].value!, 'Observation'])));
  });

  it('two worker processes at once: each row claimed once, each identifier once remotely', async () => {
    const [{ last }] = await store.query<{ last: string }>(
      'SELECT coalesce(max(id), 0)::text AS last FROM sync_outbox',
    );
    // Both workers are polling (every 500 ms when idle) before the rows appear, all at once in one
    // commit, and there are more rounds of work than one worker can finish before the other wakes.
    const a = worker(['--batch-size', '8']);
    const b = worker(['--batch-size', '8']);
    await Promise.all([workerStarted(a), workerStarted(b)]);
    const ids = await store.transaction((tx) => seed(12, 12, tx));
    await emptied(sync, 45_000);
    await Promise.all([stopChild(a), stopChild(b)]);
    await expectExactlyOnceRemotely(ids);
    const claimedTwice = await store.query(
      'SELECT id FROM sync_outbox WHERE attempts <> 1 AND id > $1::bigint',
      [last],
    );
    expect(claimedTwice).toEqual([]);
    const workers = await store.query<{ n: number }>(
      "SELECT count(DISTINCT settled_by)::int AS n FROM sync_outbox WHERE id > $1::bigint AND state = 'done'",
      [last],
    );
    expect(workers[0].n).toBe(2); // both processes took rows from the same queue
  }, 90_000);

  it('a worker killed with SIGKILL mid-batch loses nothing and duplicates nothing after restart', async () => {
    const ids = await seed(3, 30);
    const first = worker(['--batch-size', '10', '--lease', '1500']);
    await waitFor(
      async () => (await sync.status()).states.done > 0 && (await sync.status()).states.inflight > 0,
      30_000,
      'a batch in flight',
      () => sync.status(),
    );
    await stopChild(first, 'SIGKILL');
    const afterKill = await sync.status();
    expect(afterKill.queueDepth).toBeGreaterThan(0);
    const restarted = worker(['--batch-size', '10', '--lease', '1500']);
    await emptied(sync, 45_000, 'the outbox to drain after restart');
    await stopChild(restarted);
    await expectExactlyOnceRemotely(ids);
    const status = await sync.status();
    expect(status.states.dead).toBe(0);
    // nothing local lost
    const local = (await store.search('Observation', { _count: '1000' })).resources as Resource[];
    expect(local.length).toBeGreaterThanOrEqual(90);
  }, 90_000);
});
