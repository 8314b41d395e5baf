// The citizen's restriction as Kanta PHR's own ValueSet writes it (fiphr-vs-confidentiality:
// `http://hl7.org/fhir/v3/Confidentiality` R, the CodeSystem's pre-R4 URI) is the restriction: the
// pull does not import such a response and labels a copy held here, the 412 path never overwrites it,
// and a response restricted here goes to Kanta PHR with the coding its ValueSet names. The sandbox is
// a facade in the test's process (`mode: 'kanta-phr'`), both stores PGlite.
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { RESTRICTED_LABEL, isRestricted, isRestrictedLabel } from '../../src/mapping/index.ts';
import { KANTA_RESTRICTED_LABEL } from '../../src/mapping/index.ts';
import type { Store } from '../../src/store/index.ts';
import { type SyncService, kantaStatus } from '../../src/sync/index.ts';
import { hiddenReason, toKantaResponse } from '../../src/sync/kanta/convert.ts';
import { TEST_APPLICATION, citizenResponse, kantaSyncPerSuite, sdkResponse, urn } from './helpers.ts';

/** The restriction as Kanta PHR's ValueSet fiphr-vs-confidentiality names it. */
const KANTA_R = { system: 'http://hl7.org/fhir/v3/Confidentiality', code: 'R' };
const RESTRICTED_BY_CITIZEN = /^restricted by the citizen \(meta\.security v3 Confidentiality R\)/;

describe('convert: the Kanta PHR coding of the restriction', () => {
  it("is read as the restriction (hiddenReason), by the mapping's one rule", () => {
    expect(KANTA_RESTRICTED_LABEL).toEqual(KANTA_R);
    expect(isRestrictedLabel(KANTA_RESTRICTED_LABEL)).toBe(true);
    expect(hiddenReason({ meta: { security: [KANTA_R] } })).toMatch(RESTRICTED_BY_CITIZEN);
    expect(hiddenReason({ meta: { security: [{ ...KANTA_R, code: 'U' }] } })).toBeUndefined();
  });

  it.each([
    ['the R4 label', RESTRICTED_LABEL],
    ["Kanta PHR's", KANTA_R],
  ])('a response restricted here with %s goes with the coding Kanta PHR names', (_name, label) => {
    const ours = sdkResponse('local-1');
    const sent = toKantaResponse(
      { ...ours, meta: { ...ours.meta, security: [{ ...label }] } },
      { remoteId: 'phr-1', pseudonym: urn() },
      { application: TEST_APPLICATION },
    );
    expect(sent.meta?.security).toEqual([KANTA_R]);
    expect(
      toKantaResponse(ours, { remoteId: 'phr-1', pseudonym: urn() }, { application: TEST_APPLICATION }).meta,
    ).not.toHaveProperty('security');
  });
});

describe('Kanta PHR sync: a restriction in the Kanta PHR coding', () => {
  let remoteStore: Store;
  let store: Store;
  let sync: SyncService;
  let client: string;

  const suite = kantaSyncPerSuite();
  beforeAll(() => {
    ({ remoteStore, store, sync, client } = suite);
  });

  /** A response of the client written here and pushed: the local copy and the one on Kanta PHR. */
  async function pushed(restricted = false) {
    const qr = sdkResponse(client);
    const local = (
      await store.create(restricted ? { ...qr, meta: { ...qr.meta, security: [RESTRICTED_LABEL] } } : qr)
    ).resource as QuestionnaireResponse & { id: string };
    expect(await sync.pushOnce()).toMatchObject({ dead: 0, blocked: 0 });
    const found = await remoteStore.search('QuestionnaireResponse', {
      identifier: `urn:ietf:rfc:3986|${qr.identifier?.value}`,
    });
    expect(found.resources).toHaveLength(1);
    return { local, there: found.resources[0] as QuestionnaireResponse & { id: string } };
  }

  const citizenEdits = (there: QuestionnaireResponse, change: Partial<QuestionnaireResponse>) =>
    remoteStore.update({ ...there, ...change } as QuestionnaireResponse, { ifMatch: there.meta?.versionId });

  const reasonsOf = async (remoteId: string) =>
    (await kantaStatus(store)).notImported.filter((s) => s.remoteId === remoteId).map((s) => s.reason);

  const localByIdentifier = async (value: string) =>
    (await store.search('QuestionnaireResponse', { identifier: `urn:ietf:rfc:3986|${value}` }))
      .resources as QuestionnaireResponse[];

  it('a response restricted here reaches Kanta PHR with the coding its ValueSet names', async () => {
    const { there } = await pushed(true);
    expect(there.meta?.security).toEqual([KANTA_R]);
  });

  it('a response the citizen filled in restricted is not imported, and its reason recorded', async () => {
    const { there: own } = await pushed();
    const phr = own.subject!.reference!.replace('Patient/', '');
    const identifier = urn();
    const home = citizenResponse(phr, identifier, { overall: 3 });
    const { resource } = await remoteStore.create({ ...home, meta: { ...home.meta, security: [KANTA_R] } });
    await sync.pullOnce();
    expect(await localByIdentifier(identifier)).toEqual([]);
    expect(await reasonsOf(resource.id as string)).toEqual([expect.stringMatching(RESTRICTED_BY_CITIZEN)]);
  });

  it('a response held here that the citizen restricts later is labelled restricted here', async () => {
    const { local, there } = await pushed();
    await sync.pullOnce();
    await citizenEdits(there, { meta: { ...there.meta, security: [KANTA_R] } });
    expect(await sync.pullOnce()).toMatchObject({ skipped: 1, applied: 0 });
    const held = await store.read<QuestionnaireResponse>('QuestionnaireResponse', local.id);
    expect(isRestricted(held)).toBe(true);
    expect(held.meta?.security).toEqual([RESTRICTED_LABEL]);
  });

  it('a local edit that meets the restricted version there (412) is not sent over it', async () => {
    const { local, there } = await pushed();
    const restricted = (await citizenEdits(there, { meta: { ...there.meta, security: [KANTA_R] } })).resource;
    const held = await store.read<QuestionnaireResponse>('QuestionnaireResponse', local.id);
    await store.update({ ...held, authored: '2026-04-02' }, { ifMatch: held.meta?.versionId });
    expect(await sync.pushOnce()).toMatchObject({ dead: 0, parked: 0 });
    const now = await remoteStore.read<QuestionnaireResponse>('QuestionnaireResponse', there.id);
    expect(now.meta?.versionId).toBe(restricted.meta?.versionId);
    expect(now.meta?.security).toEqual([KANTA_R]);
    const [row] = await store.query<{ state: string; reason: string }>(
      "SELECT state, reason FROM sync_outbox WHERE resource_id = $1 AND resource_type = 'QuestionnaireResponse' ORDER BY id DESC LIMIT 1",
      [local.id],
    );
    expect(row).toEqual({
      state: 'done',
      reason: 'conflict: the citizen restricted the response on Kanta PHR; the local version was not sent',
    });
  });
});
