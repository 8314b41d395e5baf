// Writes whose outcome the sync cannot know: the remote stored them but its answer is no answer (200
// with an empty body, `{}`, an OperationOutcome, an HTML page, a transaction-response without entries),
// or the answer was lost and every retry failed before the resource was deleted here. Neither is ever
// a dead letter, and the remote ends as the local side: every local edit there, nothing of a resource
// deleted here left behind, every reference resolvable. In-process: PGlite on both sides, our fault
// proxy between them (found by the fault campaign between two real facades).
import type { Observation, Patient, QuestionnaireResponse, Resource } from '@medplum/fhirtypes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { type BundleMode, type SyncService, createSync } from '../../src/sync/index.ts';
import { type FacadeHere, startFacadeHere } from '../helpers/facade.ts';
import { type FaultProxy, startFaultProxy } from './helpers/fault-proxy.ts';
import {
  consent,
  goal,
  patient,
  remoteAll,
  remoteCopiesOf,
  score,
  selfAssessment,
} from './helpers/fixtures.ts';
import { drain } from './helpers/waits.ts';

let remote: FacadeHere;
let proxy: FaultProxy;
let store: Store;
let client: Patient;
const syncs: SyncService[] = [];

/** A sync worker reaching the remote through the proxy; the first installs the outbox hook. */
function worker(bundle: BundleMode, retryBaseMs = 20): SyncService {
  const sync = createSync({
    store,
    remote: {
      baseUrl: proxy.url,
      party: 'other-health-care',
      bundle,
      retry: { maxAttempts: 1, initialDelayMs: 10 },
      breaker: { consecutiveFailures: 1_000 },
    },
    installHook: syncs.length === 0,
    retryBaseMs,
  });
  syncs.push(sync);
  return sync;
}

beforeAll(async () => {
  remote = await startFacadeHere({ dataDir: 'memory://' }, { strict: false });
  proxy = await startFaultProxy(remote.url);
  store = await openStore({ dataDir: 'memory://' });
  const first = worker('none');
  await first.ready;
  client = (await store.create(patient('251181-925R'))).resource as Patient;
  await store.create(consent(client.id as string));
  await drain(first);
}, 120_000);

afterAll(async () => {
  for (const s of syncs) await s.stop();
  await store?.close();
  await proxy?.close();
  await remote?.stop();
});

afterEach(() => {
  Object.assign(proxy.faults, { garbleNext: 0, errorNext: 0, errorAfter: 0, dropNext: 0 });
});

/** The last outbox row's id now: `notDone` looks at the rows queued after it. */
async function outboxMark(): Promise<string> {
  const [row] = await store.query<{ id: string }>('SELECT coalesce(max(id), 0)::text AS id FROM sync_outbox');
  return row?.id ?? '0';
}

/** Rows queued after `mark` that did not end delivered (done), with their state and reason. */
async function notDone(mark: string): Promise<string[]> {
  const rows = await store.query<{ what: string }>(
    `SELECT resource_type || ' ' || action || ': ' || state || ' (' || coalesce(reason, '') || ')' AS what
       FROM sync_outbox WHERE id > $1::bigint AND state <> 'done' ORDER BY id`,
    [mark],
  );
  return rows.map((r) => r.what);
}

async function conflicts(): Promise<number> {
  const [row] = await store.query<{ n: number }>('SELECT count(*)::int AS n FROM sync_conflict');
  return row?.n ?? 0;
}

/** The one remote copy of a local resource (by business identifier). */
async function onlyCopy<T extends Resource>(r: Resource): Promise<T> {
  const copies = await remoteCopiesOf(remote.url, r);
  expect(copies).toHaveLength(1);
  return copies[0] as T;
}

/** The remote id the id map holds for a local resource. */
async function mappedTo(r: Resource): Promise<string | undefined> {
  const [m] = await store.query<{ remote_id: string }>(
    'SELECT remote_id FROM sync_idmap WHERE resource_type = $1 AND local_id = $2',
    [r.resourceType, r.id],
  );
  return m?.remote_id;
}

/** Every reference of the remote's resources resolves there. */
async function expectRemoteResolvable(): Promise<void> {
  const types = ['Patient', 'Consent', 'Observation', 'Goal'];
  const all = (await Promise.all(types.map((t) => remoteAll(remote.url, t)))).flat();
  const there = new Set(all.map((r) => `${r.resourceType}/${r.id}`));
  const dangling = all.flatMap((r) =>
    [...JSON.stringify(r).matchAll(/"reference":"((?:Patient|Consent|Observation|Goal)\/[^"]+)"/g)]
      .map((m) => m[1])
      .filter((ref) => !there.has(ref)),
  );
  expect(dangling).toEqual([]);
}

const UNREADABLE = ['', '{}', '{"resourceType":"OperationOutcome"}', '<html>ok</html>'];

describe('a single write the remote stored, answered 200 with no answer', () => {
  it.each(UNREADABLE)(
    'a create answered %j is recognised on the remote, and later edits reach it',
    async (body) => {
      const sync = worker('none');
      await sync.ready;
      const mark = await outboxMark();
      const obs = (await store.create(score(client.id as string, 5))).resource as Observation;
      Object.assign(proxy.faults, { garbleNext: 1, garbleMethod: 'POST', garbleBody: body });
      const garbled = proxy.stats.garbled;
      await drain(sync);
      expect(proxy.stats.garbled).toBe(garbled + 1);
      expect(await notDone(mark)).toEqual([]);
      const copy = await onlyCopy<Observation>(obs);
      expect(copy.valueInteger).toBe(5);
      expect(await mappedTo(obs)).toBe(copy.id);
      await store.update({ ...obs, valueInteger: 3 }, { ifMatchOptional: true });
      await drain(sync);
      expect((await onlyCopy<Observation>(obs)).valueInteger).toBe(3);
      expect(await notDone(mark)).toEqual([]);
    },
  );

  it.each(UNREADABLE)(
    'an update answered %j is re-read: no conflict, the next edit goes over it',
    async (body) => {
      const sync = worker('none');
      await sync.ready;
      const mark = await outboxMark();
      const obs = (await store.create(score(client.id as string, 5))).resource as Observation;
      await drain(sync);
      const conflictsBefore = await conflicts();
      const edited = (await store.update({ ...obs, valueInteger: 4 }, { ifMatchOptional: true }))
        .resource as Observation;
      Object.assign(proxy.faults, { garbleNext: 1, garbleMethod: 'PUT', garbleBody: body });
      await drain(sync);
      const copy = await onlyCopy<Observation>(obs);
      expect(copy.valueInteger).toBe(4);
      const [m] = await store.query<{ remote_version: string | null }>(
        "SELECT remote_version FROM sync_idmap WHERE resource_type = 'Observation' AND local_id = $1",
        [obs.id],
      );
      expect(m?.remote_version).toBe(copy.meta?.versionId);
      await store.update({ ...edited, valueInteger: 2 }, { ifMatchOptional: true });
      await drain(sync);
      expect((await onlyCopy<Observation>(obs)).valueInteger).toBe(2);
      expect(await conflicts()).toBe(conflictsBefore);
      expect(await notDone(mark)).toEqual([]);
    },
  );
});

describe('a transaction the remote stored, answered 200 with no readable entries', () => {
  it.each([
    '',
    '{"resourceType":"Bundle","type":"transaction-response"}',
    '{"resourceType":"Bundle","type":"transaction-response","entry":[]}',
  ])('answered %j: every entry recognised, dependents resolvable, later edits there', async (body) => {
    const sync = worker('auto');
    await sync.ready;
    const mark = await outboxMark();
    const obs = (await store.create(score(client.id as string, 6))).resource as Observation;
    const aim = (await store.create(goal(client.id as string, obs.id as string))).resource;
    Object.assign(proxy.faults, { garbleNext: 1, garbleMethod: 'POST', garbleBody: body });
    const garbled = proxy.stats.garbled;
    await drain(sync);
    expect(proxy.stats.garbled).toBe(garbled + 1);
    expect(await notDone(mark)).toEqual([]);
    const copy = await onlyCopy<Observation>(obs);
    expect(await mappedTo(obs)).toBe(copy.id);
    expect(await mappedTo(aim)).toBe((await onlyCopy(aim)).id);
    await store.update({ ...obs, valueInteger: 1 }, { ifMatchOptional: true });
    await drain(sync);
    expect((await onlyCopy<Observation>(obs)).valueInteger).toBe(1);
    await expectRemoteResolvable();
  });
});

describe.each(['auto', 'none'] as const)(
  'bundle mode %s: a write whose answer was lost, then deleted here',
  (mode) => {
    it('a whole client applied on the remote, its answer lost and every retry failed, then deleted here: nothing of it left there', async () => {
      const sync = worker(mode);
      await sync.ready;
      // Warm up: the remote's capabilities are read (and cached) before the faults begin.
      const other = (await store.create(score(client.id as string, 2))).resource;
      await drain(sync);
      const mark = await outboxMark();
      const hetu = '261181-926S';
      const lost = (await store.create(patient(hetu))).resource as Patient;
      const permit = (await store.create(consent(lost.id as string))).resource;
      const obs = (await store.create(score(lost.id as string, 7))).resource;
      const aim = (await store.create(goal(lost.id as string, obs.id as string))).resource;
      // The first write is applied and its answer lost; every request after it fails, so the round gives up.
      Object.assign(proxy.faults, { dropNext: 1, errorAfter: 1, errorNext: 1_000_000 });
      const dropped = proxy.stats.dropped;
      await sync.pushOnce();
      expect(proxy.stats.dropped).toBe(dropped + 1);
      // Deleted here, referrers first, before the next round.
      for (const r of [aim, obs, permit, lost]) await store.delete(r.resourceType, r.id as string);
      Object.assign(proxy.faults, { errorNext: 0, errorAfter: 0 });
      await drain(sync);
      // Its creates wait for a consent that will not come (its Consent is deleted too): blocked, nothing more.
      const left = await notDone(mark);
      expect(left.filter((row) => !/^\w+ create: blocked \(not disclosed/.test(row))).toEqual([]);
      for (const r of [aim, obs, permit, lost]) expect(await remoteCopiesOf(remote.url, r)).toEqual([]);
      const patients = await remoteAll(
        remote.url,
        'Patient',
        `identifier=${encodeURIComponent(`urn:oid:1.2.246.21|${hetu}`)}`,
      );
      expect(patients).toEqual([]);
      expect(await remoteCopiesOf(remote.url, other)).toHaveLength(1);
      await expectRemoteResolvable();
    });
  },
);

/**
 * A new client whose transaction the remote stores and answers with nothing (every request after it
 * failing), pushed by `sync`, then a newer local edit of its self-assessment (a remote-wins family).
 */
async function storedUnansweredThenEdited(sync: ReturnType<typeof worker>, hetu: string) {
  await store.create(score(client.id as string, 2));
  await drain(sync);
  const mark = await outboxMark();
  const conflictsBefore = await conflicts();
  const other = (await store.create(patient(hetu))).resource as Patient;
  await store.create(consent(other.id as string));
  const answer = (await store.create(selfAssessment(other.id as string))).resource as QuestionnaireResponse;
  Object.assign(proxy.faults, {
    garbleNext: 1,
    garbleMethod: 'POST',
    garbleBody: '',
    errorAfter: 1,
    errorNext: 1_000_000,
  });
  const garbled = proxy.stats.garbled;
  await sync.pushOnce();
  expect(proxy.stats.garbled).toBe(garbled + 1);
  const edit = async () => {
    const edited = { ...answer, item: [{ linkId: 'work-ability', answer: [{ valueInteger: 9 }] }] };
    await store.update(edited, { ifMatchOptional: true });
  };
  /** Faults off, drained: nothing left, no conflict, the edit on both sides. */
  const settledWithEdit = async () => {
    Object.assign(proxy.faults, { errorNext: 0, errorAfter: 0 });
    await drain(sync);
    expect(await notDone(mark)).toEqual([]);
    expect(await conflicts()).toBe(conflictsBefore);
    const here = await store.read<QuestionnaireResponse>('QuestionnaireResponse', answer.id as string);
    expect(here.item?.[0]?.answer).toEqual([{ valueInteger: 9 }]);
    expect((await onlyCopy<QuestionnaireResponse>(answer)).item?.[0]?.answer).toEqual([{ valueInteger: 9 }]);
  };
  return { edit, settledWithEdit };
}

describe('a transaction the remote stored, answered 200 with no answer, then a newer local edit', () => {
  it('our earlier version there (an entry that referred to another by urn:uuid) is no conflict: the edit goes over it', async () => {
    const sync = worker('auto');
    await sync.ready;
    const { edit, settledWithEdit } = await storedUnansweredThenEdited(sync, '271181-9273');
    await edit();
    await settledWithEdit();
  });

  it('our earlier version there, its row superseded by the newer edit while its Patient waited: no conflict, the edit kept on both sides', async () => {
    // The Patient's retry backs off longer than its dependents wait, so the self-assessment's first
    // version is claimed alone, waits for the Patient and is superseded by the newer edit; that edit then
    // goes as a conditional create and meets the first version the lost transaction stored.
    const sync = worker('auto', 1_500);
    await sync.ready;
    const { edit, settledWithEdit } = await storedUnansweredThenEdited(sync, '281181-928S');
    await edit();
    await new Promise((r) => setTimeout(r, 400));
    await sync.pushOnce();
    await settledWithEdit();
  });
});
