// A remote that sends what no store should hold: the pull refuses it (pull-check) and stays usable —
// nothing a remote sends may stop every later pull. The remote is scripted (helpers/scripted-remote.ts),
// the local store PGlite.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import { RemoteClient, type SyncService } from '../../src/sync/index.ts';
import { selfAssessment } from './helpers/fixtures.ts';
import {
  type FollowedClient,
  type ScriptedRemote,
  followOnScripted,
  startScriptedRemote,
} from './helpers/scripted-remote.ts';

let remote: ScriptedRemote;
let followed: FollowedClient;
let store: Store;
let sync: SyncService;
let remotePatient: string;

beforeAll(async () => {
  remote = await startScriptedRemote();
  followed = await followOnScripted(remote, '221181-922P', { retry: { initialDelayMs: 5, maxDelayMs: 20 } });
  ({ store, sync, remotePatientId: remotePatient } = followed);
});
afterAll(async () => {
  await followed?.close();
  await remote?.close();
});

describe('pull from a remote sending malformed data', () => {
  it('a meta.lastUpdated that is no instant is refused and never becomes the cursor', async () => {
    remote.answers.QuestionnaireResponse = [
      {
        ...selfAssessment(remotePatient),
        id: 'garbled',
        meta: { versionId: '1', lastUpdated: 'not an instant' },
      } satisfies QuestionnaireResponse,
    ];
    const first = await sync.pullOnce();
    expect(first.refused).toBe(1);
    expect(first.applied).toBe(0);
    // The next pull reads the cursor this one wrote: still a pull, not a RangeError.
    remote.answers.QuestionnaireResponse = [];
    await expect(sync.pullOnce()).resolves.toMatchObject({ fetched: 0 });
  });

  it('a meta.lastUpdated in the future does not carry the cursor past what later changes will be stamped', async () => {
    const cursor = async () =>
      (
        await store.query<{ last_updated: string }>(
          "SELECT last_updated FROM sync_cursor WHERE resource_type = 'QuestionnaireResponse'",
        )
      )[0]?.last_updated;
    const now = new Date().toISOString();
    remote.answers.QuestionnaireResponse = [
      { ...selfAssessment(remotePatient), id: 'now', meta: { versionId: '1', lastUpdated: now } },
      {
        ...selfAssessment(remotePatient),
        id: 'future',
        meta: { versionId: '1', lastUpdated: '9999-12-31T00:00:00Z' },
      },
    ];
    await sync.pullOnce();
    expect(await cursor()).toBe(now);
  });

  it('a resource without an id, or with one that is no FHIR id, is refused; the pull and the store go on', async () => {
    const { id: _id, ...withoutId } = { ...selfAssessment(remotePatient), id: 'x' };
    remote.answers.QuestionnaireResponse = [
      { ...withoutId, meta: { versionId: '1', lastUpdated: new Date().toISOString() } },
      {
        ...selfAssessment(remotePatient),
        id: 'bad\u0000id',
        meta: { versionId: '1', lastUpdated: new Date().toISOString() },
      },
      {
        ...selfAssessment(remotePatient),
        id: 'fine',
        meta: { versionId: '1', lastUpdated: new Date().toISOString() },
      },
    ];
    const pulled = await sync.pullOnce();
    expect(pulled).toMatchObject({ fetched: 3, refused: 2, applied: 1 });
    remote.answers.QuestionnaireResponse = [];
    await expect(sync.pullOnce()).resolves.toMatchObject({ fetched: 0 });
  });

  it('a string the store cannot keep (U+0000) is refused before the page is stored; the rest of the page is', async () => {
    const stamp = () => ({ versionId: '1', lastUpdated: new Date().toISOString() });
    const withNul = selfAssessment(remotePatient);
    withNul.item = [{ linkId: 'work-ability', text: 'a\u0000b', answer: [{ valueInteger: 7 }] }];
    remote.answers.QuestionnaireResponse = [
      { ...withNul, id: 'nul', meta: stamp() },
      { ...selfAssessment(remotePatient), id: 'fine-too', meta: stamp() },
    ];
    const pulled = await sync.pullOnce();
    expect(pulled).toMatchObject({ fetched: 2, refused: 1, applied: 1 });
  });

  it("sync-search-2: a next link that leaves the remote's base URL is not followed, so no credential goes elsewhere", async () => {
    const seen: string[] = [];
    const elsewhere = createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      res.end('{"resourceType":"Bundle","type":"searchset"}');
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    const other = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
    const client = new RemoteClient({
      baseUrl: remote.url,
      party: 'other-health-care',
      headers: { authorization: 'Bearer for-the-remote-only' },
      retry: { maxAttempts: 1 },
    });
    try {
      for (const next of [`${other}/QuestionnaireResponse?page=2`, `${remote.url}.evil.example/x`]) {
        remote.nextLink = next;
        const pages = client.search('QuestionnaireResponse', { patient: `Patient/${remotePatient}` });
        await expect(
          (async () => {
            for await (const _ of pages);
          })(),
        ).rejects.toThrow("sync-search-2: the remote's next link leaves its base URL; not followed");
      }
      expect(seen).toEqual([]);
    } finally {
      remote.nextLink = undefined;
      await new Promise<void>((resolve) => elsewhere.close(() => resolve()));
    }
  });

  it('a next link naming the same loopback server by another name (127.0.0.1 for localhost) is followed', async () => {
    const port = new URL(remote.url).port;
    const client = new RemoteClient({ baseUrl: `http://localhost:${port}`, party: 'other-health-care' });
    remote.answers.QuestionnaireResponse = [];
    let served = 0;
    remote.nextLink = `http://127.0.0.1:${port}/QuestionnaireResponse?page=2`;
    try {
      for await (const _ of client.search('QuestionnaireResponse', { patient: `Patient/${remotePatient}` })) {
        // The scripted remote answers every page with the same link: two pages prove the link was followed.
        if (++served === 2) break;
      }
    } finally {
      remote.nextLink = undefined;
    }
    expect(served).toBe(2);
  });

  it('a resource whose business identifier more than one local resource holds is refused; the rest of the page is stored', async () => {
    const twin = selfAssessment(remotePatient);
    const [localPatient] = await store.query<{ local_id: string }>(
      "SELECT local_id FROM sync_idmap WHERE resource_type = 'Patient' AND remote_id = $1",
      [remotePatient],
    );
    // Two local responses share one identifier (the store does not forbid it; a remote's data may).
    for (let i = 0; i < 2; i++)
      await store.create({ ...selfAssessment(localPatient!.local_id), identifier: twin.identifier });
    const stamp = () => ({ versionId: '1', lastUpdated: new Date().toISOString() });
    remote.answers.QuestionnaireResponse = [
      { ...twin, id: 'ambiguous', meta: stamp() },
      { ...selfAssessment(remotePatient), id: 'clear', meta: stamp() },
    ];
    await expect(sync.pullOnce()).resolves.toMatchObject({ fetched: 2, refused: 1, applied: 1 });
  });
});
