// What the sync stores from the remote keeps this store's referential integrity (store-ref-1), as a write
// to the facade must: a remote resource whose reference maps to a resource deleted here is not stored
// — on a pull it is refused, on a remote-wins resolution of a 412 the row is parked — while one whose
// references map to live resources comes down with them mapped. In-process: PGlite on both sides.
import type { Observation, Patient, QuestionnaireResponse } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import type { SyncService } from '../../src/sync/index.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import {
  consent,
  patient,
  remoteCopy,
  remotePost,
  remotePut,
  score,
  selfAssessment,
} from './helpers/fixtures.ts';
import { type SyncPair, openMemorySyncPair } from './helpers/remote.ts';
import { drain } from './helpers/waits.ts';

let pair: SyncPair;
let remote: FacadeHere;
let store: Store;
let sync: SyncService;

beforeAll(async () => {
  pair = await openMemorySyncPair({ pullTypes: ['Consent', 'QuestionnaireResponse', 'Observation'] });
  ({ remote, store, sync } = pair);
}, 120_000);

afterAll(() => pair?.close());

describe('referential integrity of what the sync stores here', () => {
  it('a pull refuses a remote resource that refers to one deleted here, and stores one that refers to a live one', async () => {
    const client = (await store.create(patient('231181-923C'))).resource as Patient;
    await store.create(consent(client.id as string));
    const gone = (await store.create(selfAssessment(client.id as string))).resource as QuestionnaireResponse;
    const kept = (await store.create(selfAssessment(client.id as string))).resource as QuestionnaireResponse;
    await drain(sync);
    const goneThere = await remoteCopy(remote.url, gone);
    const keptThere = await remoteCopy(remote.url, kept);
    const remoteClient = goneThere.subject?.reference?.slice('Patient/'.length) as string;

    // Deleted here (the delete not yet pushed), while the remote gains a score derived from it.
    await store.delete('QuestionnaireResponse', gone.id as string);
    const dangling = await remotePost(remote.url, {
      ...score(remoteClient, 4),
      derivedFrom: [{ reference: `QuestionnaireResponse/${goneThere.id}` }],
    });
    const live = await remotePost(remote.url, {
      ...score(remoteClient, 6),
      derivedFrom: [{ reference: `QuestionnaireResponse/${keptThere.id}` }],
    });

    const pulled = await sync.pullOnce();
    expect(pulled.refused).toBe(1);
    expect((await store.search('Observation', { identifier: identOf(dangling) })).resources).toEqual([]);
    const [down] = (await store.search('Observation', { identifier: identOf(live) }))
      .resources as Observation[];
    expect(down?.derivedFrom).toEqual([{ reference: `QuestionnaireResponse/${kept.id}` }]);
  });

  it('a remote-wins resolution does not store a remote version that refers to one deleted here: the row is parked, naming store-ref-1', async () => {
    const client = (await store.create(patient('241181-9242'))).resource as Patient;
    await store.create(consent(client.id as string));
    const o = (await store.create(score(client.id as string, 5))).resource as Observation;
    const qr = (await store.create(selfAssessment(client.id as string))).resource as QuestionnaireResponse;
    await drain(sync);
    const oThere = await remoteCopy(remote.url, o);
    const qrThere = await remoteCopy(remote.url, qr);

    // Here: the self-assessment amended, then the score deleted; there: the self-assessment made part of
    // the score. The amendment's PUT meets a 412, and remote-wins would store the remote version.
    await store.update({ ...qr, status: 'amended' }, { ifMatchOptional: true });
    await store.delete('Observation', o.id as string);
    await remotePut(remote.url, { ...qrThere, partOf: [{ reference: `Observation/${oThere.id}` }] });
    const parkedBefore = (await sync.status()).states.parked ?? 0;
    await drain(sync);

    const here = await store.read<QuestionnaireResponse>('QuestionnaireResponse', qr.id as string);
    expect(here.status).toBe('amended');
    expect(here.partOf).toBeUndefined();
    expect((await sync.status()).states.parked).toBe(parkedBefore + 1);
    const reasons = await store.query<{ reason: string }>(
      "SELECT reason FROM sync_outbox WHERE state = 'parked' AND resource_type = 'QuestionnaireResponse' AND resource_id = $1",
      [qr.id],
    );
    expect(reasons.map((r) => r.reason)).toEqual([
      `conflict: remote QuestionnaireResponse/${qrThere.id} changed, and its version fails what a write here must pass (store-ref-1); local version kept; parked for manual resolution`,
    ]);
  });
});

function identOf(r: { identifier?: { system?: string; value?: string }[] }): string {
  const ident = r.identifier?.[0];
  return `${ident?.system}|${ident?.value}`;
}
