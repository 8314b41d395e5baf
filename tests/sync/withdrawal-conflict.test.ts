// A withdrawal made here never loses to a concurrent edit on the remote (consent-withdrawal-final):
// Consent's 412 policy is remote-wins, but a remote version that would undo our withdrawal is not kept;
// ours is written over it, the conflict recorded with the rule, and the client's new data stays here.
// A pull does not bring such a version down either. In-process: PGlite on both sides.
import type { Consent, Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import type { SyncService } from '../../src/sync/index.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import {
  consent,
  patient,
  remoteCopiesOf,
  remoteCopy,
  remotePut,
  score,
  withdrawn,
} from './helpers/fixtures.ts';
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

describe('a withdrawal here against a concurrent remote edit', () => {
  it('is written over the remote edit, the conflict names the rule, and new data is not sent', async () => {
    const client = (await store.create(patient('281181-928J'))).resource as Patient;
    const k = (await store.create(consent(client.id as string))).resource as Consent;
    await drain(sync);
    // An unrelated edit there, before our withdrawal reaches it.
    await remotePut(remote.url, { ...(await remoteCopy(remote.url, k)), dateTime: '2026-01-03' });
    await store.update(withdrawn(k), { ifMatchOptional: true });
    await drain(sync);

    expect((await remoteCopy(remote.url, k)).status).toBe('inactive');
    expect((await store.read<Consent>('Consent', k.id as string)).status).toBe('inactive');
    const conflicts = await store.query<{ policy: string; resolution: string }>(
      'SELECT policy, resolution FROM sync_conflict WHERE resource_id = $1',
      [k.id],
    );
    expect(conflicts).toEqual([
      { policy: 'local-wins', resolution: 'local written (kept by consent-withdrawal-final)' },
    ]);
    await sync.pullOnce();
    expect((await store.read<Consent>('Consent', k.id as string)).status).toBe('inactive');
    const o = (await store.create(score(client.id as string, 5))).resource as Observation;
    await drain(sync);
    expect(await remoteCopiesOf(remote.url, o)).toEqual([]);
  });

  it('a pull keeps a withdrawal whose push is dead-lettered here, though the family lets the remote win over stuck edits', async () => {
    const client = (await store.create(patient('291181-9297'))).resource as Patient;
    const k = (await store.create(consent(client.id as string))).resource as Consent;
    await drain(sync);
    await store.update(withdrawn(k), { ifMatchOptional: true });
    // The withdrawal's push failed for good (a dead letter), and the remote edits the consent meanwhile.
    await store.query(
      `UPDATE sync_outbox SET state = 'dead', reason = 'test: dead letter' WHERE resource_id = $1 AND state = 'pending'`,
      [k.id],
    );
    await remotePut(remote.url, { ...(await remoteCopy(remote.url, k)), dateTime: '2026-01-04' });
    const pulled = await sync.pullOnce();
    expect(pulled.applied).toBe(0);
    const here = await store.read<Consent>('Consent', k.id as string);
    expect([here.status, here.dateTime]).toEqual(['inactive', k.dateTime]);
  });
});
