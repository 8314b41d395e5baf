// Whose a response is, read off its subject by the one reader of a Patient reference
// (src/shared/references.ts `patientOfReferenceUnder`): a relative reference, versioned or not, or an
// absolute one under Kanta PHR's own base — never one under another base, whatever id it ends with.
// A conditional create that matched a response there naming `http://evil.example/…/Patient/<our PHR
// Patient>` is another person's (a dead letter, nothing mapped); a local response naming its client
// by another server's URL is not the client's, so a citizen's version is not imported into it. The
// sandbox is a facade in the test's process (`mode: 'kanta-phr'`), the stores PGlite.
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/index.ts';
import { patientOfReferenceUnder } from '../../src/shared/references.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { type SyncService, createSync, kantaStatus } from '../../src/sync/index.ts';
import { consent, patient } from '../sync/helpers/fixtures.ts';
import { call, citizenResponse, sdkResponse, startSandboxHere } from './helpers.ts';

const EVIL = 'http://evil.example/fhir';

describe('patientOfReferenceUnder', () => {
  const base = 'https://phr.example.fi/fhir/R4';
  it('reads a relative reference to a Patient, a versioned one by its Patient', () => {
    expect(patientOfReferenceUnder('Patient/p-1', base)).toBe('Patient/p-1');
    expect(patientOfReferenceUnder('Patient/p-1/_history/3', base)).toBe('Patient/p-1');
    expect(patientOfReferenceUnder('Patient/p-1')).toBe('Patient/p-1');
  });

  it('reads an absolute reference under the given base only', () => {
    expect(patientOfReferenceUnder(`${base}/Patient/p-1`, base)).toBe('Patient/p-1');
    expect(patientOfReferenceUnder(`${base}/Patient/p-1/_history/2`, base)).toBe('Patient/p-1');
    expect(patientOfReferenceUnder(`${base}/Patient/p-1`, `${base}/`)).toBe('Patient/p-1');
    expect(patientOfReferenceUnder(`${EVIL}/Patient/p-1`, base)).toBeUndefined();
    expect(patientOfReferenceUnder(`${base}x/Patient/p-1`, base)).toBeUndefined();
    expect(patientOfReferenceUnder(`${base}/Patient/p-1`)).toBeUndefined();
  });

  it('reads nothing else as a Patient', () => {
    for (const ref of [
      'Group/p-1',
      'Patient/p-1?x=1',
      'Patient/',
      `${base}/Patient/p-1?x=1`,
      `${base}/Group/p-1`,
      `${base}/x/Patient/p-1`,
      'urn:uuid:6f1c9f0e-2a7b-4c1d-9e3f-5a6b7c8d9e0f',
      '',
    ])
      expect(patientOfReferenceUnder(ref, base)).toBeUndefined();
    for (const notText of [undefined, null, 7, { reference: 'Patient/p-1' }])
      expect(patientOfReferenceUnder(notText, base)).toBeUndefined();
  });
});

let remoteStore: Store;
let sandbox: RunningServer;
let base: string;
let store: Store;
let sync: SyncService;
let clientId: string;

beforeAll(async () => {
  ({ remoteStore, sandbox } = await startSandboxHere());
  base = `${sandbox.url}/fhir`;
  store = await openStore({ dataDir: 'memory://' });
  sync = createSync({
    store,
    remote: {
      baseUrl: base,
      party: 'kela',
      kind: 'kanta-phr',
      application: { name: 'tyokyky-tests', applicationId: 'kela-test-app-5' },
      pullOverlapMs: 0,
    },
    today: () => '2026-06-01',
  });
  await sync.ready;
  clientId = (await store.create(patient('010181-970A'))).resource.id as string;
  await store.create(consent(clientId, { parties: ['kela'] }));
}, 60_000);
afterAll(async () => {
  await sync?.stop();
  await store?.close();
  await sandbox?.close();
  await remoteStore?.close();
});

/** A self-assessment response here, of the client `subject` names. */
async function localResponse(subject: string): Promise<QuestionnaireResponse & { id: string }> {
  return (await store.create(sdkResponse(subject, 4))).resource as QuestionnaireResponse & {
    id: string;
  };
}

const lastRow = async (id: string) =>
  (
    await store.query<{ state: string; reason: string | null }>(
      'SELECT state, reason FROM sync_outbox WHERE resource_id = $1 ORDER BY id DESC LIMIT 1',
      [id],
    )
  )[0];
const mappingOf = (id: string) =>
  store.query<{ remote_id: string }>('SELECT remote_id FROM sync_kanta_resource WHERE local_id = $1', [id]);

/** The client's PHR Patient on Kanta PHR, made by pushing a first response. */
async function phrPatient(): Promise<string> {
  const first = await localResponse(`Patient/${clientId}`);
  expect(await sync.pushOnce()).toMatchObject({ dead: 0 });
  expect(await lastRow(first.id)).toMatchObject({ state: 'done' });
  const [row] = await store.query<{ remote_id: string }>(
    'SELECT remote_id FROM sync_kanta_patient WHERE local_id = $1',
    [clientId],
  );
  return row?.remote_id as string;
}

describe("Kanta PHR push: a conditional create's match is the client's only under Kanta PHR's own base", () => {
  it("another base's absolute URL ending in the PHR Patient's id is another person's: a dead letter, nothing mapped", async () => {
    const phr = await phrPatient();
    const local = await localResponse(`Patient/${clientId}`);
    const theirs = await call(
      base,
      'POST',
      '/QuestionnaireResponse',
      citizenResponse(phr, local.identifier?.value as string, { subject: `${EVIL}/Patient/${phr}` }),
    );
    expect(theirs.status).toBe(201);
    expect(theirs.body.subject).toEqual({ reference: `${EVIL}/Patient/${phr}` });
    expect(await sync.pushOnce()).toMatchObject({ dead: 1, done: 0 });
    expect(await lastRow(local.id)).toEqual({
      state: 'dead',
      reason:
        "not sent: Kanta PHR holds another person's response under this business identifier (the conditional create matched it); nothing mapped",
    });
    expect(await mappingOf(local.id)).toEqual([]);
  }, 60_000);

  it("Kanta PHR's own base, absolute, names the client's PHR Patient: the match is ours, mapped", async () => {
    const phr = await phrPatient();
    const local = await localResponse(`Patient/${clientId}`);
    const theirs = await call(
      base,
      'POST',
      '/QuestionnaireResponse',
      citizenResponse(phr, local.identifier?.value as string, { subject: `${base}/Patient/${phr}` }),
    );
    expect(theirs.status).toBe(201);
    expect(await sync.pushOnce()).toMatchObject({ dead: 0, done: 1 });
    expect(await lastRow(local.id)).toEqual({
      state: 'done',
      reason: 'already on Kanta PHR (conditional create matched)',
    });
    expect(await mappingOf(local.id)).toEqual([{ remote_id: theirs.body.id }]);
  }, 60_000);
});

describe("Kanta PHR pull: a local response naming its client by another server's URL", () => {
  it("is not the client's: the citizen's version under its business identifier is not imported into it", async () => {
    const phr = await phrPatient();
    const local = await localResponse(`${EVIL}/Patient/${clientId}`);
    // Naming no client as Patient/<local id>, it never goes (blocked); its business identifier stays here.
    await sync.pushOnce();
    expect((await lastRow(local.id))?.state).toBe('blocked');
    const home = await call(
      base,
      'POST',
      '/QuestionnaireResponse',
      citizenResponse(phr, local.identifier?.value as string, { subject: `Patient/${phr}` }),
    );
    expect(home.status).toBe(201);
    await sync.pullOnce();
    const after = await store.read<QuestionnaireResponse>('QuestionnaireResponse', local.id);
    expect(after.meta?.versionId).toBe('1');
    expect(after.item).toEqual(local.item);
    expect(await mappingOf(local.id)).toEqual([]);
    expect((await kantaStatus(store)).notImported).toContainEqual({
      resourceType: 'QuestionnaireResponse',
      remoteId: home.body.id,
      reason: 'identifier held by another client: not imported',
    });
  }, 60_000);
});
