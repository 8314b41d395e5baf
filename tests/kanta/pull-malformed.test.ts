// Kanta PHR pull from a remote answering with what no Kanta store would hold: responses without an id,
// or with one no FHIR id is, are skipped and counted; the pull finishes. And a push whose batch answer
// is malformed: each row settles, the push finishes; one with no bodies at all still maps by Location
// and ETag (the versioned update goes over the version they name). The remote is scripted
// (tests/sync/helpers/scripted-remote.ts), the local store PGlite.
import type { Patient, QuestionnaireResponse } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { type SyncService, createSync, remoteConfigFrom } from '../../src/sync/index.ts';
import { consent, patient } from '../sync/helpers/fixtures.ts';
import { type ScriptedRemote, startScriptedRemote } from '../sync/helpers/scripted-remote.ts';
import { sdkResponse } from './helpers.ts';

let remote: ScriptedRemote;
let store: Store;
let sync: SyncService;
let patientId: string;

beforeAll(async () => {
  remote = await startScriptedRemote();
  store = await openStore({ dataDir: 'memory://' });
  const config = remoteConfigFrom({
    remote: remote.url,
    party: 'kela',
    remoteKind: 'kanta-phr',
    applicationName: 'tyokyky-fhir test',
    applicationId: 'urn:oid:1.2.246.10.1234567.10.1',
  });
  if (!config) throw new Error('no remote configured');
  sync = createSync({ store, remote: config });
  await sync.ready;
  const p = (await store.create(patient('261181-926D'))).resource as Patient;
  patientId = p.id as string;
  await store.query('INSERT INTO sync_kanta_patient (local_id, pseudonym, remote_id) VALUES ($1, $2, $3)', [
    p.id,
    'urn:uuid:2f0a8c1e-5b7d-4d8e-9c3a-6b1f0e2d4a57',
    'phr-patient',
  ]);
});
afterAll(async () => {
  await sync?.stop();
  await store?.close();
  await remote?.close();
});

/**
 * A client's self-assessment response as the SDK writes it: what the adapter sends (read through the
 * SDK, as the pull reads what comes back).
 */
function selfAssessment(patientId: string): QuestionnaireResponse {
  return sdkResponse(patientId, 7);
}

/** The state and reason of a resource's newest outbox row. */
const lastRow = async (resourceId: string) =>
  (
    await store.query<{ state: string; reason: string }>(
      'SELECT state, reason FROM sync_outbox WHERE resource_id = $1 ORDER BY id DESC LIMIT 1',
      [resourceId],
    )
  )[0];

describe('Kanta PHR pull from a remote answering malformed', () => {
  it('a response without an id, or with one that is no FHIR id, is skipped and counted; the pull finishes', async () => {
    const response = { resourceType: 'QuestionnaireResponse', status: 'completed' };
    remote.answers.QuestionnaireResponse = [response, { ...response, id: 'a\u0000b' }];
    await expect(sync.pullOnce()).resolves.toMatchObject({ fetched: 2, skipped: 2, applied: 0 });
  });

  it("a client whose Patient was deleted here is skipped with the reason; the others' pull goes on", async () => {
    remote.answers.QuestionnaireResponse = [];
    const gone = (await store.create(patient('111181-910Y'))).resource as Patient;
    await store.query('INSERT INTO sync_kanta_patient (local_id, pseudonym, remote_id) VALUES ($1, $2, $3)', [
      gone.id,
      'urn:uuid:7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
      'phr-gone',
    ]);
    await store.delete('Patient', gone.id as string);
    const result = await sync.pullOnce();
    expect(result).toMatchObject({
      patients: 1,
      skippedClients: [{ patient: gone.id, reason: 'its Patient was deleted here' }],
    });
    expect((await sync.status()).lastPullSkipped).toEqual(result.skippedClients);
  });
});

describe('Kanta PHR push to a remote answering malformed', () => {
  beforeAll(async () => {
    await store.create(consent(patientId, { parties: ['kela'] }));
  });
  afterAll(() => {
    remote.bundleAnswer = undefined;
  });

  it('an entry whose status is no text (even one that cannot be made text) is refused like one unreadable: a dead letter, and the push finishes', async () => {
    const answers = [{ toString: 'x' }, 201];
    for (const status of answers) {
      remote.bundleAnswer = {
        status: 200,
        body: { resourceType: 'Bundle', type: 'batch-response', entry: [{ response: { status } }] },
      };
      const written = (await store.create(selfAssessment(patientId))).resource;
      await expect(sync.pushOnce()).resolves.toMatchObject({ dead: 1 });
      const [row] = await store.query<{ state: string; reason: string }>(
        "SELECT state, reason FROM sync_outbox WHERE resource_type = 'QuestionnaireResponse' AND resource_id = $1",
        [written.id],
      );
      expect(row).toEqual({ state: 'dead', reason: 'Kanta PHR refused the response (no readable status)' });
    }
  });

  it('a created entry whose resource carries an id that is no FHIR id is done, and nothing is mapped to that id', async () => {
    remote.bundleAnswer = {
      status: 200,
      body: {
        resourceType: 'Bundle',
        type: 'batch-response',
        entry: [
          {
            response: { status: '201 Created' },
            resource: { resourceType: 'QuestionnaireResponse', id: { x: 1 } },
          },
        ],
      },
    };
    const written = (await store.create(selfAssessment(patientId))).resource;
    await expect(sync.pushOnce()).resolves.toMatchObject({ dead: 0 });
    const rows = await store.query<{ state: string }>(
      "SELECT state FROM sync_outbox WHERE resource_type = 'QuestionnaireResponse' AND resource_id = $1",
      [written.id],
    );
    expect(rows).toEqual([{ state: 'done' }]);
    expect(
      await store.query('SELECT remote_id FROM sync_kanta_resource WHERE local_id = $1', [written.id]),
    ).toEqual([]);
  });

  it("a 412 met by an edit of a client deleted here meanwhile leaves the citizen's version there, unsent", async () => {
    const client = (await store.create(patient('210181-921Y'))).resource as Patient;
    await store.create(consent(client.id as string, { parties: ['kela'] }));
    await store.query('INSERT INTO sync_kanta_patient (local_id, pseudonym, remote_id) VALUES ($1, $2, $3)', [
      client.id,
      'urn:uuid:0b6f3c2a-1d4e-4f5a-9b8c-7d6e5f4a3b2c',
      'phr-2',
    ]);
    remote.bundleAnswer = {
      status: 200,
      body: {
        resourceType: 'Bundle',
        type: 'batch-response',
        entry: [{ response: { status: '201 Created', location: 'QuestionnaireResponse/qr-9/_history/1' } }],
      },
    };
    const written = (await store.create(selfAssessment(client.id as string))).resource;
    await expect(sync.pushOnce()).resolves.toMatchObject({ dead: 0 });
    expect(
      await store.query('SELECT remote_id FROM sync_kanta_resource WHERE local_id = $1', [written.id]),
    ).toEqual([{ remote_id: 'qr-9' }]);
    // The citizen's version there (the scripted remote keeps what is PUT to it).
    const there = await fetch(`${remote.url}/QuestionnaireResponse/qr-9`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ ...selfAssessment('phr-2'), status: 'amended' }),
    });
    expect(there.status).toBe(201);
    remote.bundleAnswer = {
      status: 200,
      body: { resourceType: 'Bundle', type: 'batch-response', entry: [{ response: { status: '412' } }] },
    };
    await store.update(
      { ...written, item: [{ linkId: 'overall', answer: [{ valueInteger: 3 }] }] } as never,
      { ifMatch: written.meta?.versionId },
    );
    await store.delete('Patient', client.id as string);
    await expect(sync.pushOnce()).resolves.toMatchObject({ dead: 0, parked: 0, retrying: 0 });
    expect(await lastRow(written.id as string)).toEqual({
      state: 'done',
      reason:
        "conflict: the citizen's version on Kanta PHR kept there; the client's Patient was deleted here",
    });
  });

  it('answers with no body map by Location and ETag: the update goes as a PUT over that version, and moves it; a 412 on a response gone there is not sent', async () => {
    const batchAnswer = (response: Record<string, string>) => ({
      status: 200,
      body: { resourceType: 'Bundle', type: 'batch-response', entry: [{ response }] },
    });
    remote.bundleAnswer = batchAnswer({
      status: '201 Created',
      location: 'QuestionnaireResponse/qr-1/_history/1',
      etag: 'W/"1"',
    });
    const written = (await store.create(selfAssessment(patientId))).resource;
    await expect(sync.pushOnce()).resolves.toMatchObject({ done: 1, dead: 0 });
    const mapped = () =>
      store.query('SELECT remote_id, remote_version FROM sync_kanta_resource WHERE local_id = $1', [
        written.id,
      ]);
    expect(await mapped()).toEqual([{ remote_id: 'qr-1', remote_version: '1' }]);

    remote.bundleAnswer = batchAnswer({ status: '200 OK', etag: 'W/"2"' });
    await store.update({ ...written, status: 'amended' } as never, { ifMatch: written.meta?.versionId });
    await expect(sync.pushOnce()).resolves.toMatchObject({ done: 1, dead: 0 });
    const sent = remote.lastBundle as { entry: { request: unknown; resource: { id?: string } }[] };
    expect(sent.entry.map((e) => e.request)).toEqual([
      { method: 'PUT', url: 'QuestionnaireResponse/qr-1', ifMatch: 'W/"1"' },
    ]);
    expect(sent.entry[0]?.resource.id).toBe('qr-1');
    expect(await mapped()).toEqual([{ remote_id: 'qr-1', remote_version: '2' }]);

    // Next: a 412, and the response found gone when read again (deleted there meanwhile): not sent.
    remote.bundleAnswer = batchAnswer({ status: '412 Precondition Failed' });
    const now = await store.read(written.resourceType, written.id as string);
    await store.update({ ...now, status: 'completed' } as never, { ifMatch: now.meta?.versionId });
    await expect(sync.pushOnce()).resolves.toMatchObject({ done: 1, dead: 0 });
    expect(await lastRow(written.id as string)).toEqual({
      state: 'done',
      reason:
        'not sent: the response is no longer on Kanta PHR (the citizen deleted it there; deletes stay where they are made)',
    });
  });
});
