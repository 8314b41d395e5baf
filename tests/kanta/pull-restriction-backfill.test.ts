// The pull labels a local copy restricted when the citizen restricts the response on Kanta PHR. That
// label's version is the sync's own write: `sync backfill` must not queue it (its push would meet a
// 412 and record a conflict no one made). A local edit still meets the restricted version as a
// conflict — made after the label, or queued before the pull labelled it (never settled unsent as
// "superseded"). The sandbox is a facade in the test's process (`mode: 'kanta-phr'`), both stores PGlite.
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { isRestricted } from '../../src/mapping/index.ts';
import type { Store } from '../../src/store/index.ts';
import type { SyncService } from '../../src/sync/index.ts';
import { kantaSyncPerSuite, sdkResponse } from './helpers.ts';

const R = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' };
const RESTRICTED_THERE =
  'conflict: the citizen restricted the response on Kanta PHR; the local version was not sent';
let remoteStore: Store;
let store: Store;
let sync: SyncService;
let client: string;

const suite = kantaSyncPerSuite();
beforeAll(() => {
  ({ remoteStore, store, sync, client } = suite);
});

type Local = QuestionnaireResponse & { id: string };

/** A response written here and pushed, and read back once: its local copy and its copy on Kanta PHR. */
async function pushedAndPulled(): Promise<{ local: Local; there: Local }> {
  const qr = sdkResponse(client);
  const local = (await store.create(qr)).resource as Local;
  expect(await sync.pushOnce()).toMatchObject({ dead: 0, blocked: 0, parked: 0 });
  await sync.pullOnce();
  const found = await remoteStore.search('QuestionnaireResponse', {
    identifier: `urn:ietf:rfc:3986|${qr.identifier?.value}`,
  });
  expect(found.resources).toHaveLength(1);
  return { local, there: found.resources[0] as Local };
}

/** The citizen restricts the response on Kanta PHR (a versioned update there). */
const citizenRestricts = (there: Local) =>
  remoteStore.update({ ...there, meta: { ...there.meta, security: [R] } } as QuestionnaireResponse, {
    ifMatch: there.meta?.versionId,
  });

const conflictsOf = (localId: string) =>
  store.query<{ policy: string; resolution: string }>(
    'SELECT policy, resolution FROM sync_conflict WHERE resource_id = $1 ORDER BY id',
    [localId],
  );

const rowsOf = (localId: string) =>
  store.query<{ version_id: string; state: string; reason: string | null }>(
    'SELECT version_id, state, reason FROM sync_outbox WHERE resource_id = $1 ORDER BY id',
    [localId],
  );

const labelledHere = async (local: Local) => {
  const now = await store.read<Local>('QuestionnaireResponse', local.id);
  expect(isRestricted(now)).toBe(true);
  return now;
};

describe('Kanta PHR pull: the restriction label it writes here', () => {
  it('is not queued by sync backfill; nothing meets a 412, no conflict is recorded', async () => {
    const { local, there } = await pushedAndPulled();
    await citizenRestricts(there);
    await sync.pullOnce();
    await labelledHere(local);
    const rowsBefore = await rowsOf(local.id);
    await sync.backfill({ force: true });
    expect(await rowsOf(local.id)).toEqual(rowsBefore);
    expect(await sync.pushOnce()).toMatchObject({ dead: 0, parked: 0 });
    expect(await conflictsOf(local.id)).toEqual([]);
  }, 60_000);

  it('a local edit after the label still meets the restricted version as a conflict, never overwrites it', async () => {
    const { local, there } = await pushedAndPulled();
    await citizenRestricts(there);
    await sync.pullOnce();
    const now = await labelledHere(local);
    await store.update({ ...now, authored: '2026-04-02' }, { ifMatch: now.meta?.versionId });
    expect(await sync.pushOnce()).toMatchObject({ dead: 0, parked: 0 });
    expect((await rowsOf(local.id)).at(-1)).toMatchObject({ state: 'done', reason: RESTRICTED_THERE });
    expect(await conflictsOf(local.id)).toEqual([
      { policy: 'remote-wins', resolution: 'remote kept (restricted by the citizen)' },
    ]);
    expect((await remoteStore.read<Local>('QuestionnaireResponse', there.id)).authored).toBe(there.authored);
  }, 60_000);

  it('a local edit queued before the pull labelled it meets the restricted version as a conflict (not "superseded")', async () => {
    const { local, there } = await pushedAndPulled();
    const held = await store.read<Local>('QuestionnaireResponse', local.id);
    await store.update({ ...held, authored: '2026-04-03' }, { ifMatch: held.meta?.versionId });
    await citizenRestricts(there);
    await sync.pullOnce();
    await labelledHere(local);
    expect(await sync.pushOnce()).toMatchObject({ dead: 0, parked: 0 });
    const edit = (await rowsOf(local.id)).find((r) => r.reason !== null);
    expect(edit).toMatchObject({ state: 'done', reason: RESTRICTED_THERE });
    expect(await conflictsOf(local.id)).toEqual([
      { policy: 'remote-wins', resolution: 'remote kept (restricted by the citizen)' },
    ]);
    expect((await remoteStore.read<Local>('QuestionnaireResponse', there.id)).authored).toBe(there.authored);
    // Settled, the labelled copy is the sync's own version: backfill leaves it, no second conflict.
    await sync.pullOnce();
    const rowsBefore = await rowsOf(local.id);
    await sync.backfill({ force: true });
    expect(await rowsOf(local.id)).toEqual(rowsBefore);
    expect(await sync.pushOnce()).toMatchObject({ dead: 0, parked: 0 });
    expect(await conflictsOf(local.id)).toHaveLength(1);
  }, 60_000);
});
