// References between resources the pull brings down are local references once their target is here:
// one to a resource of a type pulled later (Consent.sourceReference → QuestionnaireResponse) and one
// to a resource of the same page (a self-assessment answering with another). Until its target is
// mapped a reference names the remote's absolute URL; the pull rewrites it here, without queueing
// anything for the remote (review 32, finding 4). In-process: PGlite on both sides.
import type { Consent, Patient, QuestionnaireResponse, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import type { SyncService } from '../../src/sync/index.ts';
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
