// Backfill on first attach: a store filled while no sync was attached, then a sync attached against a
// second tyokyky facade (in the test process, own PostgreSQL database). What was written before arrives on
// the remote once, its references resolved there; clients without consent stay blocked with the
// reason; pull follows every local client and names those it skips.
import type { Observation, Patient, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import { openStore } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import { runHere } from '../helpers/cli.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import { consent, goal, linkedPlan, patient, remoteAll, score } from './helpers/fixtures.ts';
import { referencesIn } from './helpers/integrity.ts';
import { dropDatabase, freshDatabase, startRemote } from './helpers/remote.ts';
import { drain } from './helpers/waits.ts';

const TYPES = ['Patient', 'Consent', 'Observation', 'Goal', 'CarePlan'];

let facade: FacadeHere;
const databases: string[] = [];
const stores: Store[] = [];
const services: SyncService[] = [];
let hetu = 960;

beforeAll(async () => {
  const remoteDb = await freshDatabase('tyokyky_backfill_remote');
  databases.push(remoteDb);
  facade = await startRemote(remoteDb);
}, 120_000);
afterAll(async () => {
  for (const s of services) await s.stop();
  for (const s of stores) await s.close();
  await facade?.stop();
  for (const url of databases) await dropDatabase(url);
});

async function localStore(): Promise<{ store: Store; url: string }> {
  const url = await freshDatabase('tyokyky_backfill_local');
  databases.push(url);
  const store = await openStore({ databaseUrl: url });
  stores.push(store);
  return { store, url };
}

function attach(store: Store, extra: { installHook?: boolean; backfillPageSize?: number } = {}): SyncService {
  const sync = createSync({
    store,
    remote: { baseUrl: facade.url, party: 'other-health-care', timeoutMs: 10_000 },
    batchSize: 5,
    heldRecheckMs: 100,
    ...extra,
  });
  services.push(sync);
  return sync;
}

const identifierOf = (r: Resource) =>
  ((r as Patient).identifier ?? []).find((i) => i.system === 'urn:ietf:rfc:3986')?.value;

/** A client with a consent for the remote's party: Patient, Consent, 3 Observations, Goal, CarePlan. */
async function permittedClient(store: Store): Promise<Resource[]> {
  const p = (await store.create(patient(`010181-${hetu++}X`))).resource as Patient;
  const k = (await store.create(consent(p.id!))).resource;
  const obs: Observation[] = [];
  for (let i = 0; i < 3; i++) obs.push((await store.create(score(p.id!, i + 3))).resource as Observation);
  const g = (await store.create(goal(p.id!, obs[0].id!))).resource;
  const plan = (await store.create(linkedPlan(p.id!, g.id!, obs[1].id!))).resource;
  return [p, k, ...obs, g, plan];
}

/** A client whose consents do not let the party have their identification (`parties`: consent for others). */
async function blockedClient(store: Store, parties?: string[]): Promise<Resource[]> {
  const p = (await store.create(patient(`010181-${hetu++}X`))).resource as Patient;
  const out: Resource[] = [p];
  if (parties) out.push((await store.create(consent(p.id!, { parties }))).resource);
  const o = (await store.create(score(p.id!, 5))).resource as Observation;
  out.push(o, (await store.create(goal(p.id!, o.id!))).resource);
  return out;
}

async function remoteByIdentifier(): Promise<{ all: Resource[]; counts: Map<string, number> }> {
  const all = (await Promise.all(TYPES.map((t) => remoteAll(facade.url, t)))).flat();
  const counts = new Map<string, number>();
  for (const r of all) {
    const v = identifierOf(r);
    if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return { all, counts };
}

async function outboxRows(store: Store): Promise<number> {
  const [{ n }] = await store.query<{ n: number }>('SELECT count(*)::int AS n FROM sync_outbox');
  return n;
}

describe('backfill on first attach', () => {
  it('data written before the sync arrives once, references resolved; blocked clients stay blocked; pull follows every client', async () => {
    const { store } = await localStore();
    const permitted = await permittedClient(store);
    const noConsent = await blockedClient(store);
    const otherParty = await blockedClient(store, ['kela']);
    const written = [...permitted, ...noConsent, ...otherParty];

    // Pages of 2: the backfill is read and queued in many small statements.
    const sync = attach(store, { backfillPageSize: 2 });
    await sync.ready;
    expect((await sync.status()).backfill).toMatchObject({ state: 'not started', enqueued: 0 });
    await drain(sync);

    const status = await sync.status();
    expect(status.backfill).toMatchObject({
      state: 'done',
      enqueued: written.length,
      scanned: written.length,
      clients: 3,
    });
    expect(status.backfill.finishedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(status.states).toMatchObject({ done: permitted.length, blocked: 7, dead: 0, held: 0 });

    // The permitted client's data is on the remote once each, every reference resolving there.
    const { all, counts } = await remoteByIdentifier();
    for (const r of permitted) expect(counts.get(identifierOf(r)!)).toBe(1);
    const remoteIds = new Set(all.map((r) => `${r.resourceType}/${r.id}`));
    const localIds = new Set(written.map((r) => `${r.resourceType}/${r.id}`));
    const mine = all.filter((r) => permitted.some((p) => identifierOf(p) === identifierOf(r)));
    const refs = mine.flatMap((r) => referencesIn(r));
    expect(refs.length).toBeGreaterThan(8);
    expect(refs.filter((ref) => !remoteIds.has(ref))).toEqual([]);
    expect(refs.filter((ref) => localIds.has(ref))).toEqual([]);
    const remoteGoal = mine.find((r) => r.resourceType === 'Goal') as { addresses: { reference: string }[] };
    const remoteObs = mine.find((r) => identifierOf(r) === identifierOf(permitted[2]))!;
    expect(remoteGoal.addresses[0].reference).toBe(`Observation/${remoteObs.id}`);

    // The blocked clients: nothing of theirs on the remote, every row blocked with the reason.
    for (const r of [...noConsent, ...otherParty]) expect(counts.get(identifierOf(r)!)).toBeUndefined();
    const blocked = await sync.blocked(100);
    expect(blocked.map((r) => `${r.resource_type}/${r.resource_id}`).sort()).toEqual(
      [...noConsent, ...otherParty].map((r) => `${r.resourceType}/${r.id}`).sort(),
    );
    for (const row of blocked)
      expect(row.reason).toMatch(/^not disclosed: identification to other-health-care on \d{4}-\d\d-\d\d — /);
    expect(blocked.find((r) => r.resource_id === noConsent[0].id)?.reason).toMatch(/no consent recorded/);

    // Pull follows all three local clients: one pulled, the two blocked ones named with the reason.
    const pulled = await sync.pullOnce();
    expect(pulled.patients).toBe(1);
    expect(pulled.skippedClients.map((c) => c.patient).sort()).toEqual(
      [noConsent[0].id, otherParty[0].id].sort(),
    );
    for (const c of pulled.skippedClients)
      expect(c.reason).toMatch(/^its Patient is not on the remote \(blocked: not disclosed: identification/);
    expect((await sync.status()).followedClients).toBe(3);

    // Running it again queues nothing twice; a later service on the store does not run it again.
    const rows = await outboxRows(store);
    expect(await sync.backfill({ force: true })).toMatchObject({ state: 'done', enqueued: 0, clients: 3 });
    expect(await outboxRows(store)).toBe(rows);
    sync.detach();
    const again = attach(store);
    await drain(again);
    expect((await again.status()).backfill).toMatchObject({ state: 'done', enqueued: 0 });
    expect(await outboxRows(store)).toBe(rows);
    expect((await remoteByIdentifier()).counts.get(identifierOf(permitted[0])!)).toBe(1);
    again.detach();
  }, 120_000);

  it('a blocked backfilled client goes through the same gate: a consent written later lets its data go whole', async () => {
    const { store } = await localStore();
    const client = await blockedClient(store);
    const sync = attach(store);
    await drain(sync);
    expect((await sync.status()).states).toMatchObject({ blocked: client.length, done: 0 });
    // Written with the sync attached: queued by the outbox hook, and the client's blocked rows re-checked.
    const k = (await store.create(consent(client[0].id!))).resource;
    await drain(sync);
    const { counts } = await remoteByIdentifier();
    for (const r of [...client, k]) expect(counts.get(identifierOf(r)!)).toBe(1);
    expect((await sync.status()).states).toMatchObject({ blocked: 0, done: client.length + 1 });
    sync.detach();
  }, 120_000);

  it('two services attaching at once queue each resource once', async () => {
    const { store } = await localStore();
    const written = [...(await permittedClient(store)), ...(await permittedClient(store))];
    const a = attach(store, { backfillPageSize: 3 });
    const b = attach(store, { installHook: false, backfillPageSize: 3 });
    const [ra, rb] = await Promise.all([a.backfill(), b.backfill()]);
    expect(await outboxRows(store)).toBe(written.length);
    expect([ra.state, rb.state]).toEqual(['done', 'done']);
    await drain(a);
    const { counts } = await remoteByIdentifier();
    for (const r of written) expect(counts.get(identifierOf(r)!)).toBe(1);
    a.detach();
  }, 120_000);

  it('`tyokyky sync push` to a remote that does not answer keeps every row queued and exits 75, not 0', async () => {
    const { store, url } = await localStore();
    const written = await permittedClient(store);
    const blocked = await blockedClient(store);
    await store.close();
    stores.splice(stores.indexOf(store), 1);
    const run = (args: string[]) => runHere(['sync', ...args, '--database-url', url]);
    const down = await run(['push', '--remote', 'http://127.0.0.1:9/fhir']);
    expect(down.out).toContain(`pushed 0, dead letters 0, blocked by consent ${blocked.length}`);
    expect(down.out).toMatch(new RegExp(`queue depth now ${written.length}$`, 'm'));
    expect(down.code).toBe(75);
    // The listing names the rows and the reason; the queued content (a HETU here) stays out of it.
    const listed = await run(['dead-letters', '--state', 'blocked', '--json']);
    const rows = JSON.parse(listed.out) as Array<Record<string, unknown>>;
    expect(rows.map((r) => `${r.resource_type}/${r.resource_id}`).sort()).toEqual(
      blocked.map((r) => `${r.resourceType}/${r.id}`).sort(),
    );
    expect(rows.every((r) => !('payload' in r) && typeof r.reason === 'string')).toBe(true);
    expect(listed.out).not.toContain((blocked[0] as Patient).identifier?.[0].value);
  }, 120_000);

  it('`tyokyky sync push` on a store filled without sync sends it; `sync status` says how many were backfilled', async () => {
    const { store, url } = await localStore();
    const written = await permittedClient(store);
    await store.close();
    stores.splice(stores.indexOf(store), 1);
    const run = (args: string[]) => runHere(['sync', ...args, '--database-url', url]);
    const push = await run(['push', '--remote', facade.url, '--party', 'other-health-care']);
    expect(push.out).toContain(`pushed ${written.length}, dead letters 0`);
    expect(push.code).toBe(0);
    const status = await run(['status']);
    expect(status.out).toMatch(
      new RegExp(
        `backfilled +${written.length} written before the sync was attached \\(done; 1 local clients followed\\)`,
      ),
    );
    // Written later by a process without the sync (no outbox hook): only `sync backfill` queues it.
    const plain = await openStore({ databaseUrl: url });
    const later = await permittedClient(plain);
    await plain.close();
    const queued = await run(['backfill']);
    expect(queued.out).toMatch(
      new RegExp(
        `^scanned \\d+ stored resource\\(s\\); queued ${later.length} not queued at their current version`,
      ),
    );
    expect(queued.code).toBe(0);
    expect((await run(['backfill'])).out).toMatch(
      /^scanned \d+ stored resource\(s\); queued 0 not queued at their current version/,
    );
    const again = await run(['push', '--remote', facade.url, '--party', 'other-health-care']);
    expect(again.out).toContain(`pushed ${later.length}, dead letters 0`);
    const { counts } = await remoteByIdentifier();
    for (const r of [...written, ...later]) expect(counts.get(identifierOf(r)!)).toBe(1);
  }, 120_000);
});
