// A response restricted here goes to Kanta PHR with its restriction label; reading it back is our own
// echo, not the citizen's choice: the pull passes it over as held at that version and records nothing
// "restricted by the citizen". A version the citizen restricts there afterwards still is recorded so.
// The sandbox is a facade in the test's process (`mode: 'kanta-phr'`), both stores PGlite.
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import { type SyncService, kantaStatus } from '../../src/sync/index.ts';
import { kantaSyncPerSuite, sdkResponse } from './helpers.ts';

const R = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' };
let remoteStore: Store;
let store: Store;
let sync: SyncService;
let client: string;

const suite = kantaSyncPerSuite();
beforeAll(() => {
  ({ remoteStore, store, sync, client } = suite);
});

async function pushedResponse(restricted: boolean): Promise<QuestionnaireResponse & { id: string }> {
  const qr = sdkResponse(client);
  await store.create(restricted ? { ...qr, meta: { ...qr.meta, security: [R] } } : qr);
  expect(await sync.pushOnce()).toMatchObject({ dead: 0, blocked: 0 });
  const found = await remoteStore.search('QuestionnaireResponse', {
    identifier: `urn:ietf:rfc:3986|${qr?.identifier?.value}`,
  });
  expect(found.resources).toHaveLength(1);
  return found.resources[0] as QuestionnaireResponse & { id: string };
}

const reasonsOf = async (remoteId: string) =>
  (await kantaStatus(store)).notImported.filter((s) => s.remoteId === remoteId).map((s) => s.reason);

describe('Kanta PHR pull: our own restriction read back', () => {
  it('a response we restricted and sent is passed over as held, not recorded as the citizen’s restriction', async () => {
    const there = await pushedResponse(true);
    // Sent in the coding Kanta PHR's ValueSet names (fiphr-vs-confidentiality).
    expect(there.meta?.security).toEqual([{ system: 'http://hl7.org/fhir/v3/Confidentiality', code: 'R' }]);
    const pulled = await sync.pullOnce();
    expect(pulled).toMatchObject({ skipped: 0 });
    expect(await reasonsOf(there.id)).toEqual([]);
  });

  it('a version the citizen restricts there afterwards is still recorded as restricted by the citizen', async () => {
    const there = await pushedResponse(false);
    await sync.pullOnce();
    await remoteStore.update({ ...there, meta: { ...there.meta, security: [R] } } as QuestionnaireResponse, {
      ifMatch: there.meta?.versionId,
    });
    await sync.pullOnce();
    expect(await reasonsOf(there.id)).toEqual([
      expect.stringMatching(/^restricted by the citizen \(meta\.security v3 Confidentiality R\)/),
    ]);
  });
});
