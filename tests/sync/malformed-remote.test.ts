// A remote that sends or answers what no FHIR server should: the pull refuses what no store should
// hold (pull-check) and the push settles each row with a reason — neither ever stops on it, since a
// remote sending the same again would stop every later pull or push. The remote is scripted
// (helpers/scripted-remote.ts), the local store PGlite.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Observation, QuestionnaireResponse } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import { RemoteClient, type SyncService } from '../../src/sync/index.ts';
import { remoteStamp } from '../../src/sync/pull-pages.ts';
import { score, selfAssessment } from './helpers/fixtures.ts';
import {
  type FollowedClient,
  type ScriptedAnswer,
  followOnScripted,
  scriptedPerSuite,
} from './helpers/scripted-remote.ts';
import { waitFor } from './helpers/waits.ts';

const suite = scriptedPerSuite('221181-922P');
let store: Store;
let sync: SyncService;
/** The client's Patient here and on the remote. */
let client: string;
let remotePatient: string;

beforeAll(() => {
  ({ store, sync, patientId: client, remotePatientId: remotePatient } = suite.followed);
});

/** The outbox row of a local Observation. */
async function rowOf(id: string) {
  const [row] = await store.query<{ state: string; reason: string | null }>(
    "SELECT state, reason FROM sync_outbox WHERE resource_type = 'Observation' AND resource_id = $1",
    [id],
  );
  return row;
}

describe('pull from a remote sending malformed data', () => {
  it('a meta.lastUpdated that is no instant is refused and never becomes the cursor', async () => {
    suite.remote.answers.QuestionnaireResponse = [
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
    suite.remote.answers.QuestionnaireResponse = [];
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
    suite.remote.answers.QuestionnaireResponse = [
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

  it('a stamp on a day no month has is no instant (JavaScript would take it for 2 March)', () => {
    const stamped = (lastUpdated: string) => ({ ...selfAssessment(remotePatient), meta: { lastUpdated } });
    expect(remoteStamp(stamped('2026-02-30T00:00:00Z'))).toBeUndefined();
    expect(remoteStamp(stamped('2026-02-28T23:00:00+02:00'))).toEqual({
      text: '2026-02-28T23:00:00+02:00',
      at: Date.parse('2026-02-28T21:00:00Z'),
    });
  });

  it('a resource without an id, or with one that is no FHIR id, is refused; the pull and the store go on', async () => {
    const { id: _id, ...withoutId } = { ...selfAssessment(remotePatient), id: 'x' };
    suite.remote.answers.QuestionnaireResponse = [
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
    suite.remote.answers.QuestionnaireResponse = [];
    await expect(sync.pullOnce()).resolves.toMatchObject({ fetched: 0 });
  });

  it('a string the store cannot keep (U+0000) is refused before the page is stored; the rest of the page is', async () => {
    const stamp = () => ({ versionId: '1', lastUpdated: new Date().toISOString() });
    const withNul = selfAssessment(remotePatient);
    withNul.item = [{ linkId: 'work-ability', text: 'a\u0000b', answer: [{ valueInteger: 7 }] }];
    suite.remote.answers.QuestionnaireResponse = [
      { ...withNul, id: 'nul', meta: stamp() },
      { ...selfAssessment(remotePatient), id: 'fine-too', meta: stamp() },
    ];
    const pulled = await sync.pullOnce();
    expect(pulled).toMatchObject({ fetched: 2, refused: 1, applied: 1 });
  });

  it('store-ref-1: a reference to a Bundle entry (urn:uuid:) outside any Bundle is refused, as a write here would be', async () => {
    const stamp = () => ({ versionId: '1', lastUpdated: new Date().toISOString() });
    suite.remote.answers.QuestionnaireResponse = [
      {
        ...selfAssessment(remotePatient),
        id: 'names-an-entry',
        meta: stamp(),
        author: { reference: `urn:uuid:${crypto.randomUUID()}` },
      },
      { ...selfAssessment(remotePatient), id: 'fine-three', meta: stamp() },
    ];
    const pulled = await sync.pullOnce();
    expect(pulled).toMatchObject({ fetched: 2, refused: 1, applied: 1 });
    const refused = await store.query<{ count: number }>(
      "SELECT count(*)::int AS count FROM resources WHERE resource_type = 'QuestionnaireResponse' AND content->'author'->>'reference' LIKE 'urn:%'",
    );
    expect(refused[0]?.count).toBe(0);
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
      baseUrl: suite.remote.url,
      party: 'other-health-care',
      headers: { authorization: 'Bearer for-the-remote-only' },
      retry: { maxAttempts: 1 },
    });
    try {
      for (const next of [`${other}/QuestionnaireResponse?page=2`, `${suite.remote.url}.evil.example/x`]) {
        suite.remote.nextLink = next;
        const pages = client.search('QuestionnaireResponse', { patient: `Patient/${remotePatient}` });
        await expect(
          (async () => {
            for await (const _ of pages);
          })(),
        ).rejects.toThrow("sync-search-2: the remote's next link leaves its base URL; not followed");
      }
      expect(seen).toEqual([]);
    } finally {
      suite.remote.nextLink = undefined;
      await new Promise<void>((resolve) => elsewhere.close(() => resolve()));
    }
  });

  it('a next link naming the same loopback server by another name (127.0.0.1 for localhost) is followed', async () => {
    const port = new URL(suite.remote.url).port;
    const client = new RemoteClient({ baseUrl: `http://localhost:${port}`, party: 'other-health-care' });
    suite.remote.answers.QuestionnaireResponse = [];
    let served = 0;
    suite.remote.nextLink = `http://127.0.0.1:${port}/QuestionnaireResponse?page=2`;
    try {
      for await (const _ of client.search('QuestionnaireResponse', { patient: `Patient/${remotePatient}` })) {
        // The scripted remote answers every page with the same link: two pages prove the link was suite.followed.
        if (++served === 2) break;
      }
    } finally {
      suite.remote.nextLink = undefined;
    }
    expect(served).toBe(2);
  });

  it('sync-search-3: a next link naming a page the pull has read already stops the pull, instead of reading it forever', async () => {
    suite.remote.answers.QuestionnaireResponse = [];
    suite.remote.nextLink = `${suite.remote.url}/QuestionnaireResponse?page=2`;
    try {
      await expect(sync.pullOnce()).rejects.toThrow(
        "sync-search-3: the remote's next link names a page this search has read already; paging stopped",
      );
    } finally {
      suite.remote.nextLink = undefined;
    }
  });

  it('sync-pull-4: a search answered with what is no searchset Bundle fails the pull; it is no empty result', async () => {
    const before = (await sync.status()).lastPullSuccess;
    for (const body of [
      { resourceType: 'OperationOutcome', issue: [] },
      { resourceType: 'Patient', id: 'x' },
      { resourceType: 'Bundle', type: 'searchset', entry: {} },
      '<html>portal</html>',
      null,
    ]) {
      suite.remote.searchAnswer = { status: 200, body };
      try {
        await expect(sync.pullOnce(), JSON.stringify(body)).rejects.toThrow(
          'sync-pull-4: the remote answered a search with no searchset Bundle',
        );
      } finally {
        suite.remote.searchAnswer = undefined;
      }
    }
    expect((await sync.status()).lastPullSuccess).toBe(before);
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
    suite.remote.answers.QuestionnaireResponse = [
      { ...twin, id: 'ambiguous', meta: stamp() },
      { ...selfAssessment(remotePatient), id: 'clear', meta: stamp() },
    ];
    await expect(sync.pullOnce()).resolves.toMatchObject({ fetched: 2, refused: 1, applied: 1 });
  });
});

describe('push to a remote answering malformed', () => {
  it('an answer naming an id that is no FHIR id leaves the outcome unknown: retried, never a dead letter', async () => {
    suite.remote.writeAnswer = {
      status: 201,
      body: { ...score(client), id: 'a\u0000b', meta: { versionId: '1' } },
    };
    const obs = (await store.create(score(client))).resource as Observation;
    await sync.pushOnce();
    suite.remote.writeAnswer = undefined;
    // The remote may have stored it: sent again (conditional on its identifier) once it answers readably.
    expect(await rowOf(obs.id!)).toEqual({
      state: 'pending',
      reason: 'remote answer to Observation write names no valid id (in its body or Location)',
    });
    await waitFor(
      async () => {
        await sync.pushOnce();
        return (await rowOf(obs.id!)).state === 'done';
      },
      15_000,
      'the write retried',
    );
  });

  it('an answer naming the remote id another local resource maps to is a dead letter; the first keeps its map', async () => {
    suite.remote.writeAnswer = {
      status: 201,
      body: { ...score(client), id: 'same-id', meta: { versionId: '1' } },
    };
    const first = (await store.create(score(client))).resource as Observation;
    await sync.pushOnce();
    const second = (await store.create(score(client))).resource as Observation;
    await sync.pushOnce();
    suite.remote.writeAnswer = undefined;
    expect((await rowOf(first.id!)).state).toBe('done');
    expect(await rowOf(second.id!)).toEqual({
      state: 'dead',
      reason: `sync-push-3: the remote answered with Observation/same-id, which another local resource (Observation/${first.id}) already maps to`,
    });
    const mapped = await store.query<{ local_id: string }>(
      "SELECT local_id FROM sync_idmap WHERE resource_type = 'Observation' AND remote_id = 'same-id'",
    );
    expect(mapped).toEqual([{ local_id: first.id }]);
  });
});

describe('push in batch Bundles to a remote answering malformed', () => {
  let batch: FollowedClient;

  beforeAll(async () => {
    batch = await followOnScripted(suite.remote, '281181-928S', { bundle: 'batch' });
  });
  afterAll(async () => {
    suite.remote.bundleAnswer = undefined;
    await batch?.close();
  });

  it('an answer that is no Bundle, or whose entries carry an outcome of the wrong shape, settles every row', async () => {
    // No readable Bundle: the writes go again one by one (conditional on their identifiers), and land.
    // Entries refused with a malformed outcome: dead letters, the outcome no obstacle.
    const answers: Array<[ScriptedAnswer, string[]]> = [
      [{ status: 200 }, ['done', 'done']],
      [{ status: 200, body: null }, ['done', 'done']],
      [
        { status: 200, body: { resourceType: 'Bundle', type: 'batch-response', entry: 'x' } },
        ['done', 'done'],
      ],
      [
        {
          status: 200,
          body: {
            resourceType: 'Bundle',
            type: 'batch-response',
            entry: [
              { response: { status: '400', outcome: { issue: 'x' } } },
              { response: { status: '400', outcome: 5 } },
            ],
          },
        },
        ['dead', 'dead'],
      ],
      [
        // A status that is no text (one that cannot even be made text): unreadable, so no answer for
        // that entry — it goes back to the queue, as for a 5xx.
        {
          status: 200,
          body: {
            resourceType: 'Bundle',
            type: 'batch-response',
            entry: [{ response: { status: { toString: 'x' } } }, { response: { status: 201 } }],
          },
        },
        ['pending', 'pending'],
      ],
    ];
    for (const [answer, states] of answers) {
      suite.remote.bundleAnswer = answer;
      const ids: string[] = [];
      for (let i = 0; i < 2; i++)
        ids.push((await batch.store.create(score(batch.patientId))).resource.id as string);
      await batch.sync.pushOnce();
      const rows = await batch.store.query<{ state: string }>(
        "SELECT state FROM sync_outbox WHERE resource_type = 'Observation' AND resource_id = ANY($1::text[])",
        [ids],
      );
      expect(
        rows.map((r) => r.state),
        JSON.stringify(answer),
      ).toEqual(states);
    }
  });
});
