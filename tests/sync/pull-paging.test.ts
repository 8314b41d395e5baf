// A pull pages through a remote that pages by offset (@medplum/fhir-router's in-memory repository) while
// the remote changes under it: nothing may be skipped, since the cursor moves past whatever a pull missed.
import type { Consent, Patient, QuestionnaireResponse } from '@medplum/fhirtypes';
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import { openStore } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import { consent, patient, remotePost, remotePut, selfAssessment } from './helpers/fixtures.ts';
import { type MedplumPeer, startMedplumPeer } from './helpers/medplum-peer.ts';

interface Setup {
  peer: MedplumPeer;
  store: Store;
  sync: SyncService;
  /** Local and remote id of a client already pushed. */
  client: { local: string; remote: string };
  /** Five self-assessments filled in on the remote, each stamped later than the one before. */
  remoteQrs: QuestionnaireResponse[];
  /** Search requests the peer answered for self-assessments. */
  searches: string[];
}

let open: Setup | undefined;
afterEach(async () => {
  await open?.sync.stop();
  await open?.store.close();
  await open?.peer.close();
  open = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function setUp(peerOptions: { ignoreSort?: boolean } = {}, pullOverlapMs = 0): Promise<Setup> {
  const peer = await startMedplumPeer(peerOptions);
  const store = await openStore({ dataDir: 'memory://' });
  const sync = createSync({
    store,
    remote: { baseUrl: peer.url, party: 'other-health-care', bundle: 'batch', pullOverlapMs },
    pullPageSize: 2,
    pullTypes: ['QuestionnaireResponse'],
    today: () => '2026-06-01',
  });
  await sync.ready;
  open = { peer, store, sync } as Setup;
  const p = (await store.create(patient('221181-922P'))).resource as Patient;
  await store.create(consent(p.id!) as Consent);
  await sync.pushOnce();
  const [m] = await store.query<{ remote_id: string }>(
    "SELECT remote_id FROM sync_idmap WHERE resource_type = 'Patient' AND local_id = $1",
    [p.id],
  );
  const remoteQrs: QuestionnaireResponse[] = [];
  for (let i = 0; i < 5; i++) {
    remoteQrs.push(await remotePost(peer.url, selfAssessment(m.remote_id)));
    await sleep(3);
  }
  const searches: string[] = [];
  open = { ...open, client: { local: p.id!, remote: m.remote_id }, remoteQrs, searches };
  peer.afterSearch = (path) => {
    if (path.startsWith('/QuestionnaireResponse')) searches.push(path);
  };
  return open;
}

/** Business identifiers of the self-assessments stored here for the client. */
async function localIdentifiers(s: Setup): Promise<string[]> {
  const found = await s.store.search('QuestionnaireResponse', { subject: `Patient/${s.client.local}` });
  return found.resources.map((r) => (r as QuestionnaireResponse).identifier?.value ?? '?').sort();
}

const identifiers = (qrs: QuestionnaireResponse[]) => qrs.map((q) => q.identifier?.value ?? '?').sort();

/** Runs `change` once, right after the remote has answered the first page of self-assessments. */
function afterFirstPage(s: Setup, change: () => Promise<void>): void {
  const record = s.peer.afterSearch;
  let done = false;
  s.peer.afterSearch = async (path) => {
    await record?.(path);
    if (done || !path.startsWith('/QuestionnaireResponse')) return;
    done = true;
    await change();
  };
}

describe('pull paging while the remote changes', () => {
  it('a resource deleted on the remote after the first page does not make the pull skip another', async () => {
    const s = await setUp();
    afterFirstPage(s, () => s.peer.repo.deleteResource('QuestionnaireResponse', s.remoteQrs[0].id!));
    const first = await s.sync.pullOnce();
    expect(await localIdentifiers(s)).toEqual(identifiers(s.remoteQrs));
    expect(first.applied).toBe(5);
    // Nothing fetched twice counts twice: the entries a page repeats from the one before are dropped.
    expect(first.fetched).toBe(5);
    const again = await s.sync.pullOnce();
    expect(again).toMatchObject({ applied: 0, fetched: 0 });
  });

  it('a resource changed on the remote after the first page moves to the end of a sorted search: the pull takes the others and then its new version', async () => {
    const s = await setUp();
    const changed = { ...s.remoteQrs[0], item: [{ linkId: 'work-ability', answer: [{ valueInteger: 3 }] }] };
    afterFirstPage(s, async () => {
      await remotePut(s.peer.url, changed);
    });
    await s.sync.pullOnce();
    expect(await localIdentifiers(s)).toEqual(identifiers(s.remoteQrs));
    const local = (await s.store.search('QuestionnaireResponse', { identifier: changed.identifier!.value! }))
      .resources[0] as QuestionnaireResponse;
    expect(local.item?.[0].answer?.[0].valueInteger).toBe(3);
    // The pull asked the remote to sort by lastUpdated, and continued from the last stamp it had seen.
    expect(s.searches[0]).toContain('_sort=_lastUpdated');
    expect(s.searches.slice(1).every((p) => /_lastUpdated=ge/.test(decodeURIComponent(p)))).toBe(true);
  });

  it('a remote that does not sort is paged by its own next links, and every resource arrives', async () => {
    const s = await setUp({ ignoreSort: true });
    // The second one changed: its stamp is now the newest though the remote still lists it second, last
    // on the first page, so a search from the last stamp of that page would find nothing after it.
    const changed = { ...s.remoteQrs[1], item: [{ linkId: 'work-ability', answer: [{ valueInteger: 2 }] }] };
    await remotePut(s.peer.url, changed);
    const first = await s.sync.pullOnce();
    expect(await localIdentifiers(s)).toEqual(identifiers(s.remoteQrs));
    expect(first).toMatchObject({ applied: 5, fetched: 5 });
    expect(s.searches.slice(1).every((p) => p.includes('_offset='))).toBe(true);
    await sleep(3);
    await remotePut(s.peer.url, {
      ...s.remoteQrs[3],
      item: [{ linkId: 'work-ability', answer: [{ valueInteger: 9 }] }],
    });
    expect(await s.sync.pullOnce()).toMatchObject({ applied: 1, fetched: 1 });
  });

  it("each pull re-reads the remote's pullOverlapMs before its cursor, and what it holds already stays unchanged", async () => {
    const s = await setUp({}, 60_000);
    await s.sync.pullOnce();
    const newest = s.remoteQrs[4].meta!.lastUpdated!;
    s.searches.length = 0;
    expect(await s.sync.pullOnce()).toMatchObject({ fetched: 5, applied: 0, unchanged: 5 });
    const since = new Date(Date.parse(newest) - 60_000).toISOString();
    expect(decodeURIComponent(s.searches[0] ?? '')).toContain(`_lastUpdated=gt${since}`);
  });

  it('resources sharing one lastUpdated across a whole page are paged by next links, none twice, none lost', async () => {
    const s = await setUp();
    const stored = (
      s.peer.repo as unknown as { resources: Map<string, Map<string, QuestionnaireResponse>> }
    ).resources.get('QuestionnaireResponse');
    const stamp = s.remoteQrs[4].meta!.lastUpdated!;
    for (const r of stored?.values() ?? []) r.meta = { ...r.meta, lastUpdated: stamp };
    const first = await s.sync.pullOnce();
    expect(await localIdentifiers(s)).toEqual(identifiers(s.remoteQrs));
    expect(first).toMatchObject({ applied: 5, fetched: 5 });
  });
});
