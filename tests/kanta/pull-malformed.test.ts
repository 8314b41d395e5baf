// Kanta PHR pull from a remote answering with what no Kanta store would hold: responses without an id,
// or with one no FHIR id is, are skipped and counted; the pull finishes. The remote is scripted
// (tests/sync/helpers/scripted-remote.ts), the local store PGlite.
import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { type SyncService, createSync, remoteConfigFrom } from '../../src/sync/index.ts';
import { patient } from '../sync/helpers/fixtures.ts';
import { type ScriptedRemote, startScriptedRemote } from '../sync/helpers/scripted-remote.ts';

let remote: ScriptedRemote;
let store: Store;
let sync: SyncService;

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

describe('Kanta PHR pull from a remote answering malformed', () => {
  it('a response without an id, or with one that is no FHIR id, is skipped and counted; the pull finishes', async () => {
    const response = { resourceType: 'QuestionnaireResponse', status: 'completed' };
    remote.answers.QuestionnaireResponse = [response, { ...response, id: 'a\u0000b' }];
    await expect(sync.pullOnce()).resolves.toMatchObject({ fetched: 2, skipped: 2, applied: 0 });
  });
});
