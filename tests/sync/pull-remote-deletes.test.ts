// Remote deletes come down with the pull: a copy the remote deleted (its type history says so, the
// delete being the newest entry for that id) is deleted here — as a pulled write, never queued back —
// unless the local resource has changes not on the remote (their push creates it there again), other
// resources here still refer to it, or the remote holds it again (brought back under its id, or
// entered again under its business identifier). A remote that answers no type history leaves deletes
// unpulled, says so in the pull's result and logs it once. In-process: PGlite on both sides, the remote
// a tyokyky facade (its `_history`).
import { Writable } from 'node:stream';
import type { CarePlan, Goal, Observation, Patient, Resource } from '@medplum/fhirtypes';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import { historyItem } from '../../src/sync/remote-client.ts';
import { type FacadeHere, startFacadeHere } from '../helpers/facade.ts';
import { type FaultProxy, startFaultProxy } from './helpers/fault-proxy.ts';
import {
  carePlan,
  consent,
  goal,
  identifierOf,
  patient,
  remoteCopiesOf,
  remotePost,
  remotePut,
  score,
} from './helpers/fixtures.ts';
import { type SyncPair, openMemorySyncPair } from './helpers/remote.ts';
import { drain } from './helpers/waits.ts';

/** A logger whose lines the test reads. */
function capturedLog(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

let pair: SyncPair;
let remote: FacadeHere;
let store: Store;
let sync: SyncService;
const log = capturedLog();

beforeAll(async () => {
  pair = await openMemorySyncPair({
    pullTypes: ['Consent', 'QuestionnaireResponse', 'Observation', 'Goal'],
    logger: log.logger,
  });
  ({ remote, store, sync } = pair);
}, 120_000);

afterAll(() => pair?.close());

async function client(hetu: string): Promise<Patient> {
  const p = (await store.create(patient(hetu))).resource as Patient;
  await store.create(consent(p.id as string));
  return p;
}

/** Deletes the remote copy of a local resource (another writer there, or the client in Omakanta). */
async function deletedRemotely<T extends Resource>(local: T): Promise<T> {
  const [copy] = await remoteCopiesOf(remote.url, local);
  if (!copy) throw new Error(`${local.resourceType}/${local.id} is not on the remote`);
  const res = await fetch(`${remote.url}/${copy.resourceType}/${copy.id}`, { method: 'DELETE' });
  expect(res.status).toBe(204);
  return copy as T;
}

/** Whether the local store holds `type/id` as deleted (410). */
const deletedHere = (type: string, id: string) =>
  store.read(type, id).then(
    () => false,
    (err: { status?: number }) => err.status === 410,
  );

const outboxActions = async (id: string) =>
  (
    await store.query<{ action: string }>(
      'SELECT action FROM sync_outbox WHERE resource_id = $1 ORDER BY id',
      [id],
    )
  ).map((r) => r.action);

/** The sync's audit records naming `entity`. */
async function auditOf(entity: string): Promise<{ interaction: string; transfer?: { direction: string } }[]> {
  const rows = await store.query<{ events: string }>('SELECT events FROM security_audit');
  return rows
    .flatMap(
      (r) =>
        JSON.parse(r.events) as {
          entities: string[];
          interaction: string;
          transfer?: { direction: string };
        }[],
    )
    .filter((e) => e.entities.includes(entity));
}

describe('a resource deleted on the remote', () => {
  it('is deleted here by the pull: counted, audited as an import, not sent back', async () => {
    const p = await client('020281-931U');
    const o = (await store.create(score(p.id as string, 6))).resource as Observation;
    await drain(sync);
    await deletedRemotely(o);

    const pulled = await sync.pullOnce();
    expect(pulled.deleted).toBe(1);
    expect(pulled.deletesNotChecked).toEqual([]);
    expect(await deletedHere('Observation', o.id as string)).toBe(true);
    // Nothing queued for the remote: the delete is the remote's own.
    expect(await outboxActions(o.id as string)).toEqual(['create']);
    await drain(sync);
    expect(await remoteCopiesOf(remote.url, o)).toEqual([]);
    expect(await auditOf(`Observation/${o.id}`)).toContainEqual(
      expect.objectContaining({
        interaction: 'delete',
        transfer: expect.objectContaining({ direction: 'import' }),
      }),
    );
    expect(await sync.metrics.getSingleMetricAsString('tyokyky_sync_pulled_total')).toMatch(
      /tyokyky_sync_pulled_total\{type="Observation",result="deleted"\} 1$/m,
    );
    // A repeat pull reads the delete again (the overlap) and changes nothing.
    const again = await sync.pullOnce();
    expect(again.deleted).toBe(0);
    expect(again.skipped).toBe(0);
  });

  it('with a local edit not yet pushed: the edit stays (skipped), and its push creates the resource again there', async () => {
    const p = await client('030281-932H');
    const o = (await store.create(score(p.id as string, 6))).resource as Observation;
    await drain(sync);
    await deletedRemotely(o);
    const cur = (await store.read('Observation', o.id as string)) as Observation;
    await store.update({ ...cur, valueInteger: 3 }, { ifMatch: cur.meta?.versionId });

    const pulled = await sync.pullOnce();
    expect(pulled.deleted).toBe(0);
    expect(pulled.skipped).toBe(1);
    expect(pulled.skippedDeletes).toEqual([
      { resource: `Observation/${o.id}`, reason: expect.stringMatching(/local changes/) },
    ]);
    expect(((await store.read('Observation', o.id as string)) as Observation).valueInteger).toBe(3);

    await drain(sync);
    const copies = (await remoteCopiesOf(remote.url, o)) as Observation[];
    expect(copies.map((c) => c.valueInteger)).toEqual([3]);
    expect((await sync.pullOnce()).deleted).toBe(0);
    expect(((await store.read('Observation', o.id as string)) as Observation).valueInteger).toBe(3);
  });

  it('and brought back there under its id before the pull: not deleted here', async () => {
    const p = await client('040281-9336');
    const o = (await store.create(score(p.id as string, 6))).resource as Observation;
    await drain(sync);
    const copy = await deletedRemotely(o);
    // The delete is version 2 there; bringing it back names it.
    await remotePut(remote.url, { ...copy, meta: { versionId: '2' }, valueInteger: 8 });

    const pulled = await sync.pullOnce();
    expect(pulled.deleted).toBe(0);
    expect(((await store.read('Observation', o.id as string)) as Observation).valueInteger).toBe(8);
  });

  it('and entered again there under its business identifier (a new id) before the pull: not deleted here', async () => {
    const p = await client('050281-934V');
    const o = (await store.create(score(p.id as string, 6))).resource as Observation;
    await drain(sync);
    const { id: _id, meta: _meta, ...content } = await deletedRemotely(o);
    const again = await remotePost(remote.url, content as Observation);
    expect(identifierOf(again)).toBe(identifierOf(o));

    const pulled = await sync.pullOnce();
    expect(pulled.deleted).toBe(0);
    expect(await deletedHere('Observation', o.id as string)).toBe(false);
  });

  it('still referred to here by a resource the pull does not fetch: left, skipped with the reason', async () => {
    const p = await client('060281-935J');
    const o = (await store.create(score(p.id as string, 6))).resource as Observation;
    const plan = (
      await store.create({
        ...(carePlan(p.id as string) as CarePlan),
        supportingInfo: [{ reference: `Observation/${o.id}` }],
      })
    ).resource;
    await drain(sync);
    await deletedRemotely(plan);
    await deletedRemotely(o);

    const pulled = await sync.pullOnce();
    expect(pulled.deleted).toBe(0);
    expect(pulled.skippedDeletes).toEqual([
      { resource: `Observation/${o.id}`, reason: expect.stringMatching(/referenced/) },
    ]);
    expect(await deletedHere('Observation', o.id as string)).toBe(false);
    expect(log.lines.join('')).not.toContain('060281-935J');
  });

  it('together with the resource here that refers to it: both deleted, the referrer first', async () => {
    const p = await client('070281-9367');
    const o = (await store.create(score(p.id as string, 6))).resource as Observation;
    const g = (await store.create(goal(p.id as string, o.id as string))).resource as Goal;
    await drain(sync);
    await deletedRemotely(g);
    await deletedRemotely(o);

    const pulled = await sync.pullOnce();
    expect(pulled.deleted).toBe(2);
    // (The copy the test before left may show again: its delete is within this pull's overlap.)
    const mine = [`Goal/${g.id}`, `Observation/${o.id}`];
    expect(pulled.skippedDeletes.filter((s) => mine.includes(s.resource))).toEqual([]);
    expect(await deletedHere('Goal', g.id as string)).toBe(true);
    expect(await deletedHere('Observation', o.id as string)).toBe(true);
  });
});

describe('a remote delete left here while resources here refer to the copy', () => {
  /** The remote deletes a plan and the score it refers to; a local edit keeps the plan here. */
  async function leftReferenced(
    hetu: string,
  ): Promise<{ o: Observation; plan: CarePlan; copy: Observation }> {
    const p = await client(hetu);
    const o = (await store.create(score(p.id as string, 6))).resource as Observation;
    const plan = (
      await store.create({
        ...(carePlan(p.id as string) as CarePlan),
        supportingInfo: [{ reference: `Observation/${o.id}` }],
      })
    ).resource as CarePlan;
    await drain(sync);
    await deletedRemotely(plan);
    const copy = await deletedRemotely(o);
    const edited = (
      await store.update({ ...plan, description: 'kept here' }, { ifMatch: plan.meta?.versionId })
    ).resource as CarePlan;
    const pulled = await sync.pullOnce();
    expect(pulled.skippedDeletes).toContainEqual({
      resource: `Observation/${o.id}`,
      reason: expect.stringMatching(/referenced/),
    });
    expect(await deletedHere('Observation', o.id as string)).toBe(false);
    return { o, plan: edited, copy };
  }

  /**
   * A pull with every type's history window moved past now (the remote's history shows none of the
   * deletes), the windows put back after it for the tests that follow.
   */
  async function pullBeyondTheWindow() {
    const saved = await store.query<{ key: string; value: string }>(
      "SELECT key, value FROM sync_state WHERE key LIKE 'deletes_since:%'",
    );
    await store.query("UPDATE sync_state SET value = $1 WHERE key LIKE 'deletes_since:%'", [
      new Date(Date.now() + 3_600_000).toISOString(),
    ]);
    try {
      return await sync.pullOnce();
    } finally {
      for (const { key, value } of saved)
        await store.query('UPDATE sync_state SET value = $2 WHERE key = $1', [key, value]);
    }
  }

  const listedAsLeft = async (o: Observation) =>
    (await sync.status()).deletesLeft.newest.filter((d) => d.resource === `Observation/${o.id}`);

  it('is listed, and deleted by a later pull once the referrer has gone here — beyond the history window, counted once', async () => {
    const { o, plan } = await leftReferenced('080281-937W');
    expect(await listedAsLeft(o)).toEqual([
      expect.objectContaining({
        resource: `Observation/${o.id}`,
        reason: expect.stringMatching(/referenced/),
      }),
    ]);
    const still = await sync.pullOnce();
    expect(still.skippedDeletes.map((s) => s.resource)).not.toContain(`Observation/${o.id}`);

    await store.delete('CarePlan', plan.id as string);
    await drain(sync);
    const pulled = await pullBeyondTheWindow();
    expect(pulled.deleted).toBe(1);
    expect(await deletedHere('Observation', o.id as string)).toBe(true);
    expect(await listedAsLeft(o)).toEqual([]);
    expect(await outboxActions(o.id as string)).toEqual(['create']);
  });

  it('brought back there under its id: taken off the list, and the copy stays when the referrer goes', async () => {
    const { o, plan, copy } = await leftReferenced('090281-938K');
    await remotePut(remote.url, { ...copy, meta: { versionId: '2' }, valueInteger: 8 });
    await pullBeyondTheWindow();
    expect(await listedAsLeft(o)).toEqual([]);

    await store.delete('CarePlan', plan.id as string);
    await drain(sync);
    expect((await sync.pullOnce()).deleted).toBe(0);
    expect(((await store.read('Observation', o.id as string)) as Observation).valueInteger).toBe(8);
  });
});

describe('a remote without type history (404 on _history)', () => {
  let facade: FacadeHere;
  let proxy: FaultProxy;
  let local: Store;
  let worker: SyncService;
  const quiet = capturedLog();

  beforeAll(async () => {
    facade = await startFacadeHere({ dataDir: 'memory://' }, { strict: false });
    proxy = await startFaultProxy(facade.url, { refuse: { path: /\/_history$/, status: 404 } });
    local = await openStore({ dataDir: 'memory://' });
    worker = createSync({
      store: local,
      remote: { baseUrl: proxy.url, party: 'other-health-care' },
      pullTypes: ['Consent', 'Observation'],
      logger: quiet.logger,
    });
    await worker.ready;
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await local?.close();
    await proxy?.close();
    await facade?.stop();
  });

  it('pulls as before, says which types it could not check for deletes, and logs it once', async () => {
    const p = (await local.create(patient('080281-937W'))).resource as Patient;
    await local.create(consent(p.id as string));
    const o = (await local.create(score(p.id as string, 6))).resource as Observation;
    await drain(worker);
    const [copy] = await remoteCopiesOf(facade.url, o);
    expect((await fetch(`${facade.url}/Observation/${copy?.id}`, { method: 'DELETE' })).status).toBe(204);

    const pulled = await worker.pullOnce();
    expect(pulled.deleted).toBe(0);
    expect(pulled.deletesNotChecked).toEqual([
      { type: 'Consent', reason: expect.stringContaining('404') },
      { type: 'Observation', reason: expect.stringContaining('404') },
    ]);
    expect(await local.read('Observation', o.id as string)).toMatchObject({ id: o.id });

    expect((await worker.pullOnce()).deletesNotChecked).toHaveLength(2);
    const noted = quiet.lines.filter((l) => l.includes('no type history'));
    expect(noted).toHaveLength(2);
    expect(quiet.lines.join('')).not.toContain('080281-937W');
  });
});

describe('a history entry as the pull reads it', () => {
  const at = '2026-06-01T10:00:00.000Z';
  it('a delete: request.method DELETE, the id from its URL, whatever else names it', () => {
    expect(
      historyItem(
        {
          request: { method: 'DELETE', url: 'Observation/abc/_history/3' },
          response: { status: '204', lastModified: at },
        },
        'Observation',
      ),
    ).toEqual({ id: 'abc', deleted: true, at });
    expect(
      historyItem(
        { fullUrl: 'https://r.example/fhir/Observation/abc', response: { status: '410 Gone' } },
        'Observation',
      ),
    ).toEqual({ id: 'abc', deleted: true });
  });

  it('a version: not a delete; another type, no FHIR id or no shape of an entry: not read', () => {
    const version = { resourceType: 'Observation', id: 'abc', meta: { lastUpdated: at } };
    expect(
      historyItem({ resource: version, request: { method: 'PUT', url: 'Observation/abc' } }, 'Observation'),
    ).toEqual({
      id: 'abc',
      deleted: false,
      at,
    });
    // No method, no resource, no 410: nothing says it was deleted.
    expect(historyItem({ fullUrl: 'Observation/abc' }, 'Observation')).toEqual({ id: 'abc', deleted: false });
    expect(historyItem({ resource: { ...version, resourceType: 'Goal' } }, 'Observation')).toBeUndefined();
    expect(
      historyItem({ request: { method: 'DELETE', url: 'Observation/a b' } }, 'Observation'),
    ).toBeUndefined();
    expect(
      historyItem({ request: { method: 'DELETE', url: 'Observation/abc/extra' } }, 'Observation'),
    ).toBeUndefined();
    expect(historyItem('Observation/abc', 'Observation')).toBeUndefined();
  });
});
