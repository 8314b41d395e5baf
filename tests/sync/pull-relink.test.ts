// References between resources the pull brings down are local references once their target is here:
// one to a resource of a type pulled later (Consent.sourceReference → QuestionnaireResponse) and one
// to a resource of the same page (a self-assessment answering with another). Until its target is
// mapped a reference names the remote's absolute URL; the pull rewrites it here, without queueing
// anything for the remote. In-process: PGlite on both sides.
import type { Consent, Observation, Patient, QuestionnaireResponse, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, type StoreTx, openStore } from '../../src/store/index.ts';
import type { SyncContext } from '../../src/sync/context.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import { relinkAfterPull } from '../../src/sync/relink.ts';
import { markPulledWrites } from '../../src/sync/repository.ts';
import { SYNC_SCHEMA } from '../../src/sync/schema.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import { consent, patient, remoteCopiesOf, remotePost, selfAssessment } from './helpers/fixtures.ts';
import { type SyncPair, openMemorySyncPair } from './helpers/remote.ts';
import { drain } from './helpers/waits.ts';

let pair: SyncPair;
let remote: FacadeHere;
let store: Store;
let sync: SyncService;

beforeAll(async () => {
  pair = await openMemorySyncPair({ pullTypes: ['Consent', 'QuestionnaireResponse'] });
  ({ remote, store, sync } = pair);
}, 120_000);

afterAll(() => pair?.close());

/** The local copy of a remote resource, found by its business identifier. */
async function localCopy<T extends Resource>(there: T): Promise<T> {
  const raw = (there as { identifier?: unknown }).identifier;
  const ident = (Array.isArray(raw) ? raw[0] : raw) as { system: string; value: string };
  const [found] = (await store.findByIdentifiers(there.resourceType, [ident]))[0] ?? [];
  if (!found) throw new Error(`${there.resourceType} was not pulled`);
  return found as T;
}

describe('references to resources pulled in the same pull', () => {
  it('name the local copies once the pull has brought them, and nothing is queued for the remote', async () => {
    const client = (await store.create(patient('011281-9329'))).resource as Patient;
    await store.create(consent(client.id as string));
    await drain(sync);
    const [clientThere] = await remoteCopiesOf(remote.url, client);
    const remoteClient = clientThere?.id as string;

    const form = await remotePost(remote.url, selfAssessment(remoteClient));
    const sourced = await remotePost(remote.url, {
      ...consent(remoteClient),
      sourceReference: { reference: `QuestionnaireResponse/${form.id}` },
    } as Consent);
    const first = await remotePost(remote.url, selfAssessment(remoteClient));
    const second = await remotePost(remote.url, {
      ...selfAssessment(remoteClient),
      item: [
        {
          linkId: 'work-ability',
          answer: [{ valueReference: { reference: `QuestionnaireResponse/${first.id}` } }],
        },
      ],
    } as QuestionnaireResponse);

    await sync.pullOnce();
    const formHere = await localCopy(form);
    const firstHere = await localCopy(first);
    expect((await localCopy(sourced)).sourceReference).toEqual({
      reference: `QuestionnaireResponse/${formHere.id}`,
    });
    expect((await localCopy(second)).item?.[0]?.answer?.[0]?.valueReference).toEqual({
      reference: `QuestionnaireResponse/${firstHere.id}`,
    });
    expect((await sync.status()).queueDepth).toBe(0);

    // A later pull leaves them as they are.
    const again = await sync.pullOnce();
    expect(again.applied).toBe(0);
    expect((await localCopy(sourced)).sourceReference?.reference).toBe(
      `QuestionnaireResponse/${formHere.id}`,
    );
  });
});

describe('copies a pass leaves waiting', () => {
  it('wait behind the copies not looked at yet, so a full pass of them starves none', async () => {
    // Its own stores: the rows below are written as the pull would, straight into the sync's tables.
    const local = await openStore({ dataDir: 'memory://' });
    const base = 'http://127.0.0.1:9/fhir';
    const own = createSync({ store: local, remote: { baseUrl: base, party: 'kela' }, installHook: true });
    await own.ready;
    try {
      const mapped = (sql: string, params: unknown[]) => local.query(sql, params);
      const pulled = (fn: (tx: StoreTx) => Promise<unknown>) =>
        local.transaction(async (tx) => {
          markPulledWrites(tx);
          return fn(tx);
        });
      const target = (await pulled((tx) => tx.create({ resourceType: 'Patient', active: true }))) as {
        resource: Patient;
      };
      await mapped(
        `INSERT INTO sync_idmap (resource_type, local_id, remote_id, local_version, remote_version)
         VALUES ('Patient', $1, 'rp', '1', '1')`,
        [target.resource.id],
      );
      const copy = async (id: string, editedHere: boolean) => {
        const obs = {
          resourceType: 'Observation',
          id,
          status: 'final',
          code: { text: 'x' },
          subject: { reference: `${base}/Patient/rp` },
        } as Observation;
        await pulled((tx) => tx.create(obs, { keepId: true }));
        await mapped(
          `INSERT INTO sync_idmap (resource_type, local_id, remote_id, local_version, remote_version)
           VALUES ('Observation', $1, $2, '1', '1')`,
          [id, `r-${id}`],
        );
        await mapped(
          "INSERT INTO sync_unlinked (resource_type, local_id, target_type, target_remote_id) VALUES ('Observation', $1, 'Patient', 'rp')",
          [id],
        );
        // Edited here (its push not gone): a pass leaves it as it is.
        if (editedHere) await local.update({ ...obs, status: 'amended' }, { ifMatchOptional: true });
      };
      // More waiting copies than one pass looks at, sorted before the one that can be relinked.
      for (let i = 0; i < 201; i++) await copy(`a${String(i).padStart(4, '0')}`, true);
      await copy('zlast', false);
      const ctx = { store: local, remote: { baseUrl: base } } as unknown as SyncContext;
      const subject = async () =>
        ((await local.read('Observation', 'zlast')) as Observation).subject?.reference;
      expect(await relinkAfterPull(ctx)).toBe(0); // the first pass: 200 waiting ones, none relinked
      expect(await subject()).toBe(`${base}/Patient/rp`);
      expect(await relinkAfterPull(ctx)).toBe(1); // not looked at yet: ahead of those left waiting
      expect(await subject()).toBe(`Patient/${target.resource.id}`);
    } finally {
      await own.stop();
      await local.close();
    }
  }, 60_000);
});

describe('a store migrated before copies could be left waiting', () => {
  it('gains the column when the sync next opens it, and its relink passes run', async () => {
    const local = await openStore({ dataDir: 'memory://' });
    try {
      // As a store migrated up to sync-12 was left: sync_unlinked without checked_at.
      for (const [name, statements] of SYNC_SCHEMA.filter(([name]) => name !== 'sync-13'))
        await local.migrate(name, statements);
      const columns = async () =>
        (
          await local.query<{ column_name: string }>(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'sync_unlinked'",
          )
        ).map((r) => r.column_name);
      expect(await columns()).not.toContain('checked_at');
      const own = createSync({ store: local, remote: { baseUrl: 'http://127.0.0.1:9/fhir', party: 'kela' } });
      await own.ready;
      expect(await columns()).toContain('checked_at');
      const ctx = { store: local, remote: { baseUrl: 'http://127.0.0.1:9/fhir' } } as unknown as SyncContext;
      expect(await relinkAfterPull(ctx)).toBe(0);
      await own.stop();
    } finally {
      await local.close();
    }
  });
});
