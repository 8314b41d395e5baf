// A local edit not on the remote — blocked by consent (the client withdrew it) or dead-lettered (the
// remote refused it) — is still a local change on a local-wins family: a pull does not overwrite it with
// the remote's version, and once consent is given again it goes over the remote edit. On a remote-wins
// family the remote version comes down and the old edit is never sent. A dead letter stops counting
// once a later version of the resource is delivered. In-process: PGlite on both sides.
import type { Consent, Observation, Patient, QuestionnaireResponse, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import type { SyncService } from '../../src/sync/index.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import {
  consent,
  patient,
  remoteCopiesOf,
  remotePost,
  remotePut,
  score,
  selfAssessment,
  withdrawn,
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

const onRemote = async <T extends Resource>(r: T) => (await remoteCopiesOf(remote.url, r)) as T[];

describe('a local edit not on the remote', () => {
  it('blocked by a withdrawn consent: not overwritten by a pull, and goes over the remote edit once consent is given again', async () => {
    const client = (await store.create(patient('271181-9273'))).resource as Patient;
    let given = (await store.create(consent(client.id as string))).resource as Consent;
    const o = (await store.create(score(client.id as string, 3))).resource as Observation;
    await drain(sync);
    const [there] = await onRemote(o);

    given = (await store.update(withdrawn(given), { ifMatchOptional: true })).resource as Consent;
    await store.update({ ...o, valueInteger: 4 }, { ifMatchOptional: true });
    await drain(sync);
    expect((await sync.status()).states.blocked).toBeGreaterThan(0);

    await remotePut(remote.url, { ...(there as Observation), valueInteger: 9 });
    await sync.pullOnce();
    expect((await store.read<Observation>('Observation', o.id as string)).valueInteger).toBe(4);

    await store.create(consent(client.id as string)); // agreeing again is a new consent
    await drain(sync);
    await sync.pullOnce();
    expect((await store.read<Observation>('Observation', o.id as string)).valueInteger).toBe(4);
    const [after] = await onRemote(o);
    expect(after?.valueInteger).toBe(4);
    expect((await sync.status()).states.blocked).toBe(0);
  });

  it('blocked, on a remote-wins family: the remote version comes down, and the old edit is not sent when consent returns', async () => {
    const client = (await store.create(patient('210181-921Y'))).resource as Patient;
    let given = (await store.create(consent(client.id as string))).resource as Consent;
    const qr = (await store.create(selfAssessment(client.id as string))).resource as QuestionnaireResponse;
    await drain(sync);
    const [there] = await onRemote(qr);
    given = (await store.update(withdrawn(given), { ifMatchOptional: true })).resource as Consent;
    await store.update({ ...qr, status: 'amended' }, { ifMatchOptional: true });
    await drain(sync);
    expect((await sync.status()).states.blocked).toBeGreaterThan(0);

    await remotePut(remote.url, { ...(there as QuestionnaireResponse), status: 'entered-in-error' });
    await sync.pullOnce();
    expect((await store.read<QuestionnaireResponse>('QuestionnaireResponse', qr.id as string)).status).toBe(
      'entered-in-error',
    );
    await store.create(consent(client.id as string)); // agreeing again is a new consent
    await drain(sync);
    const [after] = await onRemote(qr);
    expect(after?.status).toBe('entered-in-error');
    expect((await sync.status()).states.blocked).toBe(0);
  });

  it('a dead-lettered delete on a remote-wins family: a pull does not bring the resource back, and the delete goes on retry', async () => {
    const client = (await store.create(patient('221181-922P'))).resource as Patient;
    await store.create(consent(client.id as string));
    const qr = (await store.create(selfAssessment(client.id as string))).resource as QuestionnaireResponse;
    await drain(sync);
    const [there] = await onRemote(qr);
    // Something on the remote refers to it, so the remote refuses the delete (409): a dead letter.
    const referrer = await remotePost(remote.url, {
      ...score(there?.subject?.reference?.slice('Patient/'.length) as string, 5),
      derivedFrom: [{ reference: `QuestionnaireResponse/${there?.id}` }],
    });
    const deadBefore = (await sync.status()).states.dead;
    await store.delete('QuestionnaireResponse', qr.id as string);
    await drain(sync);
    expect((await sync.status()).states.dead).toBe(deadBefore + 1);
    await remotePut(remote.url, { ...(there as QuestionnaireResponse), status: 'entered-in-error' });
    await sync.pullOnce();
    await expect(store.read('QuestionnaireResponse', qr.id as string)).rejects.toMatchObject({ status: 410 });
    const gone = await fetch(`${remote.url}/Observation/${referrer.id}`, { method: 'DELETE' });
    expect(gone.status).toBe(204);
    await sync.retry();
    await drain(sync);
    expect(await onRemote(qr)).toEqual([]);
  });

  it('dead-lettered: not overwritten by a pull until a later version of it is delivered', async () => {
    const client = (await store.create(patient('281181-928S'))).resource as Patient;
    await store.create(consent(client.id as string));
    const o = (await store.create(score(client.id as string, 3))).resource as Observation;
    await drain(sync);
    const deadBefore = (await sync.status()).states.dead;
    // The store API takes it; the remote refuses it (not a code of the required value set).
    await store.update({ ...o, status: 'bogus' as Observation['status'] }, { ifMatchOptional: true });
    await drain(sync);
    expect((await sync.status()).states.dead).toBe(deadBefore + 1);

    const [there] = await onRemote(o);
    await remotePut(remote.url, { ...(there as Observation), valueInteger: 9 });
    await sync.pullOnce();
    expect((await store.read<Observation>('Observation', o.id as string)).status).toBe('bogus');

    const fixed = await store.read<Observation>('Observation', o.id as string);
    await store.update({ ...fixed, status: 'final', valueInteger: 5 }, { ifMatchOptional: true });
    await drain(sync);
    expect((await onRemote(o))[0]?.valueInteger).toBe(5);
    // The dead letter is an older version now: a remote edit comes down again.
    const [now] = await onRemote(o);
    await remotePut(remote.url, { ...(now as Observation), valueInteger: 7 });
    await sync.pullOnce();
    expect((await store.read<Observation>('Observation', o.id as string)).valueInteger).toBe(7);
  });
});
