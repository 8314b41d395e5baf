// A record deleted here while its client's consent is withdrawn: the delete goes at once (it carries no
// client data), and the edits consent blocked before it are never sent once consent is given again —
// neither re-creating on the remote a record never sent, nor bringing back (as a 404/410 re-create) one
// the remote has deleted. A local delete is the last word. In-process: PGlite on both sides.
import type { Consent, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import type { SyncService } from '../../src/sync/index.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import { consent, patient, remoteCopiesOf, score, withdrawn } from './helpers/fixtures.ts';
import { type SyncPair, openMemorySyncPair } from './helpers/remote.ts';
import { drain } from './helpers/waits.ts';

let pair: SyncPair;
let remote: FacadeHere;
let store: Store;
let sync: SyncService;

beforeAll(async () => {
  pair = await openMemorySyncPair({ pullTypes: ['Consent', 'Observation'] });
  ({ remote, store, sync } = pair);
}, 120_000);

afterAll(() => pair?.close());

async function withdraw(c: Consent): Promise<Consent> {
  return (await store.update(withdrawn(c), { ifMatchOptional: true })).resource as Consent;
}

/** The client agrees again: a new consent (a withdrawn one stays withdrawn, consent-withdrawal-final). */
async function consentAgain(c: Consent): Promise<Consent> {
  const clientId = (c.patient?.reference as string).split('/')[1] as string;
  return (await store.create(consent(clientId))).resource as Consent;
}

const onRemote = (r: Resource) => remoteCopiesOf(remote.url, r);

/** Why each outbox row of `r` was settled (null: sent), oldest first. */
async function reasonsOf(r: Resource): Promise<Array<string | null>> {
  const rows = await store.query<{ reason: string | null }>(
    'SELECT reason FROM sync_outbox WHERE resource_type = $1 AND resource_id = $2 ORDER BY id',
    [r.resourceType, r.id],
  );
  return rows.map((row) => row.reason);
}

describe('deleted here while consent is withdrawn', () => {
  it('a record never sent: its blocked create is not sent when consent returns', async () => {
    const client = (await store.create(patient('251181-925R'))).resource as Patient;
    let given = (await store.create(consent(client.id as string))).resource as Consent;
    await drain(sync);
    given = await withdraw(given);
    const o = (await store.create(score(client.id as string, 3))).resource as Observation;
    await drain(sync);
    expect((await sync.status()).states.blocked).toBeGreaterThan(0);

    await store.delete('Observation', o.id as string);
    await drain(sync);
    await consentAgain(given);
    await drain(sync);
    expect(await onRemote(o)).toEqual([]);
    expect((await sync.status()).states.blocked ?? 0).toBe(0);
  });

  it('a record on the remote: the delete goes while withdrawn, and the blocked edit before it is not sent (nor re-created) when consent returns', async () => {
    const client = (await store.create(patient('261181-926D'))).resource as Patient;
    let given = (await store.create(consent(client.id as string))).resource as Consent;
    const o = (await store.create(score(client.id as string, 3))).resource as Observation;
    await drain(sync);
    expect(await onRemote(o)).toHaveLength(1);
    given = await withdraw(given);
    await store.update({ ...o, valueInteger: 4 }, { ifMatchOptional: true });
    await drain(sync);
    expect((await sync.status()).states.blocked).toBeGreaterThan(0);

    await store.delete('Observation', o.id as string);
    await drain(sync);
    expect(await onRemote(o)).toEqual([]);
    const deadBefore = (await sync.status()).states.dead ?? 0;
    await consentAgain(given);
    await drain(sync);
    expect(await onRemote(o)).toEqual([]);
    const { states } = await sync.status();
    expect(states.blocked ?? 0).toBe(0);
    // Not sent at all: sent, it met the remote's 410 for the copy the delete removed, a dead letter.
    expect(states.dead ?? 0).toBe(deadBefore);
    expect(await reasonsOf(o)).toEqual([
      null,
      'not sent: the delete that followed it has gone to the remote',
      null,
    ]);
  });

  it('an edit and the delete after it queued together while withdrawn: the delete goes, the edit never does', async () => {
    const client = (await store.create(patient('271181-9273'))).resource as Patient;
    const given = (await store.create(consent(client.id as string))).resource as Consent;
    const o = (await store.create(score(client.id as string, 3))).resource as Observation;
    await drain(sync);
    const deadBefore = (await sync.status()).states.dead ?? 0;
    const withdrawnNow = await withdraw(given);
    await store.update({ ...o, valueInteger: 0 }, { ifMatchOptional: true });
    await store.delete('Observation', o.id as string);
    await drain(sync);
    expect(await onRemote(o)).toEqual([]);
    await consentAgain(withdrawnNow);
    await drain(sync);
    expect(await onRemote(o)).toEqual([]);
    const { states } = await sync.status();
    expect(states.blocked ?? 0).toBe(0);
    expect(states.dead ?? 0).toBe(deadBefore);
  });
});
