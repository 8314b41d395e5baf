// A remote that answers writes as no FHIR server should: the push settles each row with a reason and
// never stops on the answer (a push that throws would leave the rows to a later round, and the same
// answer again). The remote is scripted (helpers/scripted-remote.ts), the local store PGlite.
import type { Observation } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import type { SyncService } from '../../src/sync/index.ts';
import { score } from './helpers/fixtures.ts';
import {
  type FollowedClient,
  type ScriptedAnswer,
  type ScriptedRemote,
  followOnScripted,
  startScriptedRemote,
} from './helpers/scripted-remote.ts';

let remote: ScriptedRemote;
let followed: FollowedClient;
let store: Store;
let sync: SyncService;
let client: string;

beforeAll(async () => {
  remote = await startScriptedRemote();
  followed = await followOnScripted(remote, '251181-925R');
  ({ store, sync, patientId: client } = followed);
});
afterAll(async () => {
  await followed?.close();
  await remote?.close();
});

async function rowOf(id: string) {
  const [row] = await store.query<{ state: string; reason: string | null }>(
    "SELECT state, reason FROM sync_outbox WHERE resource_type = 'Observation' AND resource_id = $1",
    [id],
  );
  return row;
}

describe('push to a remote answering malformed', () => {
  it('an answer naming an id that is no FHIR id is a dead letter saying so', async () => {
    remote.writeAnswer = {
      status: 201,
      body: { ...score(client), id: 'a\u0000b', meta: { versionId: '1' } },
    };
    const obs = (await store.create(score(client))).resource as Observation;
    await sync.pushOnce();
    remote.writeAnswer = undefined;
    expect(await rowOf(obs.id!)).toEqual({
      state: 'dead',
      reason: 'sync-push-1: remote answer to Observation write names no valid id (in its body or Location)',
    });
  });

  it('an answer naming the remote id another local resource maps to is a dead letter; the first keeps its map', async () => {
    remote.writeAnswer = { status: 201, body: { ...score(client), id: 'same-id', meta: { versionId: '1' } } };
    const first = (await store.create(score(client))).resource as Observation;
    await sync.pushOnce();
    const second = (await store.create(score(client))).resource as Observation;
    await sync.pushOnce();
    remote.writeAnswer = undefined;
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
    batch = await followOnScripted(remote, '281181-928S', { bundle: 'batch' });
  });
  afterAll(async () => {
    remote.bundleAnswer = undefined;
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
    ];
    for (const [answer, states] of answers) {
      remote.bundleAnswer = answer;
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
