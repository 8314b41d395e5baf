// The Kanta PHR adapter keeps each client's data with that client: what goes to Kanta PHR is built from
// the answers (no local narrative, item text or extension travels), a conditional create that meets
// another person's response there is no delivery, and a citizen's response whose business identifier
// another client's response holds here is not imported into it. The sandbox is a facade in the test's
// process (`mode: 'kanta-phr'`), both stores PGlite.
import { randomUUID } from 'node:crypto';
import type { Patient, QuestionnaireResponse } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toResources } from '../../src/mapping/index.ts';
import { type RunningServer, startServer } from '../../src/server/index.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { type SyncService, createSync, kantaStatus, remoteConfigFrom } from '../../src/sync/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { silent } from '../server/helpers.ts';
import { consent, patient } from '../sync/helpers/fixtures.ts';
import { CREATING_APPLICATION, call, citizenResponse, phrPatient, sdkResponse, urn } from './helpers.ts';

const APP = { name: 'tyokyky-tests', applicationId: 'kela-test-app-2' };

let remoteStore: Store;
let sandbox: RunningServer;
let base: string;
let store: Store;
let sync: SyncService;
/** Local Patient ids: `blocked` has no consent for kela, `b` and `c` have one. */
const client: Record<'blocked' | 'b' | 'c', string> = { blocked: '', b: '', c: '' };

beforeAll(async () => {
  const validator = await loadProjectValidator();
  remoteStore = await openStore({ dataDir: 'memory://' });
  sandbox = await startServer({
    store: remoteStore as never,
    validator: validator as never,
    logger: silent,
    mode: 'kanta-phr',
  });
  base = `${sandbox.url}/fhir`;
  store = await openStore({ dataDir: 'memory://' });
  const remote = remoteConfigFrom({
    remote: base,
    party: 'kela',
    remoteKind: 'kanta-phr',
    applicationName: APP.name,
    applicationId: APP.applicationId,
  });
  if (!remote) throw new Error('no remote configured');
  sync = createSync({
    store,
    remote: { ...remote, pullOverlapMs: 0, retry: { initialDelayMs: 10, maxDelayMs: 50 } },
  });
  await sync.ready;
  for (const [name, hetu] of [
    ['blocked', '030879-904X'],
    ['b', '120395-902S'],
    ['c', '250675Y906J'],
  ] as const) {
    client[name] = (await store.create(patient(hetu))).resource.id as string;
    if (name !== 'blocked') await store.create(consent(client[name], { parties: ['kela'] }));
  }
});

afterAll(async () => {
  await sync?.stop();
  await store?.close();
  await sandbox?.close();
  await remoteStore?.close();
});

/** A self-assessment response of a local client, as the SDK writes it (with `change` over it). */
async function localResponse(
  of: string,
  overall: number,
  change: Partial<QuestionnaireResponse> = {},
): Promise<QuestionnaireResponse & { id: string }> {
  const written = await store.create(sdkResponse(of, overall, change));
  return written.resource as QuestionnaireResponse & { id: string };
}

/** The copies on Kanta PHR of a business identifier. */
const onKanta = async (identifier: string) =>
  (await remoteStore.search('QuestionnaireResponse', { identifier: `urn:ietf:rfc:3986|${identifier}` }))
    .resources as QuestionnaireResponse[];

/** The state and reason of a local resource's newest outbox row. */
const lastRow = async (id: string) =>
  (
    await store.query<{ state: string; reason: string | null }>(
      'SELECT state, reason FROM sync_outbox WHERE resource_id = $1 ORDER BY id DESC LIMIT 1',
      [id],
    )
  )[0];

const mappingOf = (id: string) =>
  store.query('SELECT remote_id FROM sync_kanta_resource WHERE local_id = $1', [id]);

const phrOf = async (local: string) =>
  (
    await store.query<{ remote_id: string }>('SELECT remote_id FROM sync_kanta_patient WHERE local_id = $1', [
      local,
    ])
  )[0]?.remote_id as string;

describe('Kanta PHR push: what goes is built from the answers', () => {
  /** The copy on Kanta PHR of a local response, pushed. */
  async function pushed(local: QuestionnaireResponse & { id: string }) {
    expect(await sync.pushOnce()).toMatchObject({ dead: 0 });
    expect(await lastRow(local.id)).toMatchObject({ state: 'done' });
    const [there] = await onKanta(local.identifier?.value as string);
    expect(there).toBeDefined();
    return there as QuestionnaireResponse;
  }

  it('the local narrative and extensions stay here: the narrative is the SDK’s for the answers sent', async () => {
    const hetu = '120395-902S';
    const local = await localResponse(client.b, 8, {
      text: {
        status: 'generated',
        div: `<div xmlns="http://www.w3.org/1999/xhtml" lang="fi">Suvi Testaaja (${hetu}), Kykyviisari</div>`,
      },
    });
    // An extension Kanta PHR's validator lets by (an example domain: a warning).
    local.extension = [
      ...(local.extension ?? []),
      { url: 'http://example.org/fhir/StructureDefinition/client-hetu', valueString: hetu },
    ];
    const there = await pushed((await store.update(local, { ifMatch: local.meta?.versionId })).resource);
    expect(JSON.stringify(there)).not.toMatch(/120395|Testaaja|client-hetu/);
    // The narrative the SDK writes for these answers, in the response's language.
    const [sdk] = toResources(
      'selfAssessment',
      { id: randomUUID(), clientId: 'x', date: '2026-04-01', overall: 8 },
      { language: 'fi', application: APP },
    ) as QuestionnaireResponse[];
    expect(there.text).toEqual(sdk?.text);
    expect(there.language).toBe('fi');
    expect(there.extension).toEqual([
      {
        url: CREATING_APPLICATION,
        extension: [
          { url: 'name', valueString: APP.name },
          { url: 'applicationId', valueString: APP.applicationId },
        ],
      },
    ]);
  });

  it('item texts and items that are not answers of the self-assessment stay here: the answers go', async () => {
    const hetu = '120395-902S';
    const local = await localResponse(client.b, 6, {
      item: [
        { linkId: 'overall', text: `Suvi Testaaja ${hetu}`, answer: [{ valueInteger: 6 }] },
        { linkId: 'note', text: 'Muistiinpano', answer: [{ valueString: `Testaaja ${hetu}` }] },
        { linkId: 'competence', answer: [{ valueInteger: 4 }] },
      ],
    });
    const there = await pushed(local);
    expect(JSON.stringify(there)).not.toMatch(/120395|Testaaja|Muistiinpano/);
    expect(there.item).toEqual([
      { linkId: 'overall', answer: [{ valueInteger: 6 }] },
      { linkId: 'competence', answer: [{ valueInteger: 4 }] },
    ]);
  });

  it('a response the SDK cannot read as a self-assessment is not sent: a dead letter naming the element', async () => {
    const local = await localResponse(client.b, 5, {
      item: [{ linkId: 'overall', answer: [{ valueString: 'viisi' }] }],
    });
    expect(await sync.pushOnce()).toMatchObject({ dead: 1 });
    expect(await lastRow(local.id)).toEqual({
      state: 'dead',
      reason:
        'not sent: not readable as a self-assessment (QuestionnaireResponse.item[0].answer[0].valueInteger)',
    });
    expect(await onKanta(local.identifier?.value as string)).toEqual([]);
  });
});

describe('Kanta PHR push: a conditional create that meets another person’s response', () => {
  it('is a dead letter with nothing mapped, and a later edit does not overwrite that response', async () => {
    const other = await call(base, 'POST', '/Patient', phrPatient(urn()));
    expect(other.status).toBe(201);
    const local = await localResponse(client.c, 2);
    const identifier = local.identifier?.value as string;
    // Another citizen's response on Kanta PHR already has this business identifier.
    const theirs = await call(
      base,
      'POST',
      '/QuestionnaireResponse',
      citizenResponse(other.body.id, identifier),
    );
    expect(theirs.status).toBe(201);
    expect(await sync.pushOnce()).toMatchObject({ dead: 1 });
    const reason =
      "not sent: Kanta PHR holds another person's response under this business identifier (the conditional create matched it); nothing mapped";
    expect(await lastRow(local.id)).toEqual({ state: 'dead', reason });
    expect(await mappingOf(local.id)).toEqual([]);
    // Edited here: still not written over theirs.
    const current = await store.read<QuestionnaireResponse>('QuestionnaireResponse', local.id);
    await store.update(
      { ...current, item: [{ linkId: 'overall', answer: [{ valueInteger: 1 }] }] },
      { ifMatch: current.meta?.versionId },
    );
    expect(await sync.pushOnce()).toMatchObject({ dead: 1 });
    expect(await lastRow(local.id)).toEqual({ state: 'dead', reason });
    const there = await onKanta(identifier);
    expect(there).toHaveLength(1);
    expect(there[0]).toMatchObject({
      id: theirs.body.id,
      meta: { versionId: '1' },
      subject: { reference: `Patient/${other.body.id}` },
      item: [{ linkId: 'overall', answer: [{ valueInteger: 9 }] }],
    });
  });
});

describe('Kanta PHR pull: a business identifier another client holds here', () => {
  it("is not imported into that client's response: recorded as skipped, nothing written or mapped", async () => {
    // The blocked client's response never went to Kanta PHR (no consent for kela).
    const theirs = await localResponse(client.blocked, 7);
    await localResponse(client.b, 6);
    expect(await sync.pushOnce()).toMatchObject({ dead: 0 });
    expect((await sync.blocked()).map((b) => b.resource_id)).toContain(theirs.id);
    const phr = await phrOf(client.b);
    expect(phr).toBeTruthy();
    // Client b fills in a response at home whose business identifier is that of the blocked client's.
    const home = await call(
      base,
      'POST',
      '/QuestionnaireResponse',
      citizenResponse(phr, theirs.identifier?.value as string, { overall: 0 }),
    );
    expect(home.status).toBe(201);
    const pulled = await sync.pullOnce();
    expect(pulled).toMatchObject({ applied: 0 });
    expect(pulled.skipped).toBeGreaterThanOrEqual(1);
    const after = await store.read<QuestionnaireResponse>('QuestionnaireResponse', theirs.id);
    expect(after.meta?.versionId).toBe('1');
    expect(after.item).toEqual(theirs.item);
    expect(after.subject).toEqual({ reference: `Patient/${client.blocked}` });
    expect(await mappingOf(theirs.id)).toEqual([]);
    const { notImported } = await kantaStatus(store);
    expect(notImported).toContainEqual({
      resourceType: 'QuestionnaireResponse',
      remoteId: home.body.id,
      reason: 'identifier held by another client: not imported',
    });
    // Nor is it made client b's.
    const bs = (
      await store.search('QuestionnaireResponse', { subject: `Patient/${client.b}`, _count: '100' })
    ).resources as QuestionnaireResponse[];
    expect(bs.some((q) => q.identifier?.value === theirs.identifier?.value)).toBe(false);
    const patientHere = await store.read<Patient>('Patient', client.blocked);
    expect(patientHere.id).toBe(client.blocked);
  });
});
