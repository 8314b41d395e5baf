// The Kanta PHR adapter against a Kanta PHR-mode facade with auth on, as a deployment runs it: the sync
// authenticates with private_key_jwt and is registered for the two types it writes and reads there —
// the pseudonymous Patient and QuestionnaireResponse — and nothing else. A push (a new response, then
// an edit as a versioned update) and a pull of what the citizen filled in go through with those
// scopes only; a rule that needed a scope on another type would show here as a dead letter or a
// refused round. Both stores PGlite, the Kanta facade in the test's process.
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addClient } from '../../src/server/security/index.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { type Secured, startSecured } from '../security/helpers.ts';
import { silent } from '../server/helpers.ts';
import { consent, patient } from '../sync/helpers/fixtures.ts';
import { drain } from '../sync/helpers/waits.ts';
import { citizenResponse, sdkResponse, urn } from './helpers.ts';

/** The sync client's whole registration on the Kanta side. */
const SYNC_SCOPE = 'system/Patient.cruds system/QuestionnaireResponse.cruds';

let kantaStore: Store;
let kanta: Secured;
let store: Store;
let sync: SyncService;

beforeAll(async () => {
  [kantaStore, store] = await Promise.all([
    openStore({ dataDir: 'memory://' }),
    openStore({ dataDir: 'memory://' }),
  ]);
  const validator = await loadProjectValidator();
  kanta = await startSecured(kantaStore, validator, { mode: 'kanta-phr' });
  const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = 'kanta-sync-key';
  await addClient(kantaStore as never, {
    id: 'kanta-sync',
    scope: SYNC_SCOPE,
    jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES384' }] },
  });
  sync = createSync({
    store,
    logger: silent,
    remote: {
      baseUrl: kanta.fhir,
      party: 'kela',
      kind: 'kanta-phr',
      application: { name: 'tyokyky-tests', applicationId: 'kela-test-app-secured' },
      pullOverlapMs: 0,
      auth: {
        tokenUrl: `${kanta.url}/auth/token`,
        clientId: 'kanta-sync',
        method: 'private_key_jwt',
        privateKey: { ...(await exportJWK(privateKey)), kid, alg: 'ES384' },
      },
    },
  } as Parameters<typeof createSync>[0]);
  await sync.ready;
}, 120_000);

afterAll(async () => {
  await sync?.stop();
  await kanta?.running.close();
  await store?.close();
  await kantaStore?.close();
});

/** What the Kanta facade's store holds under `identifier`. */
const onKanta = async (identifier: string) =>
  (await kantaStore.search('QuestionnaireResponse', { identifier })).resources as QuestionnaireResponse[];

const outboxStates = async () =>
  store.query<{ state: string; n: number }>(
    'SELECT state, count(*)::int AS n FROM sync_outbox GROUP BY state ORDER BY state',
  );

describe(`Kanta PHR sync registered for ${SYNC_SCOPE} only`, () => {
  it('pushes a self-assessment and its edit, and pulls what the citizen filled in there', async () => {
    const client = (await store.create(patient('010181-900C'))).resource.id as string;
    await store.create(consent(client, { parties: ['kela'] }));
    const who = { reference: `Patient/${client}` };
    const local = (await store.create(sdkResponse(client, 6, { source: who })))
      .resource as QuestionnaireResponse & { id: string };
    const identifier = local.identifier?.value as string;

    await drain(sync);
    // The Patient and Consent rows are settled too (Kanta PHR takes neither); nothing dead or waiting.
    expect(await outboxStates()).toEqual([{ state: 'done', n: 3 }]);
    const [sent] = await onKanta(identifier);
    expect(sent?.meta?.versionId).toBe('1');
    expect(sent?.item?.[0]?.answer?.[0]?.valueInteger).toBe(6);

    // An edit goes as a versioned update of the same Kanta resource.
    await store.update(
      { ...local, item: [{ linkId: 'overall', answer: [{ valueInteger: 4 }] }] },
      { ifMatch: '1' },
    );
    await drain(sync);
    const [edited] = await onKanta(identifier);
    expect(edited?.id).toBe(sent?.id);
    expect(edited?.meta?.versionId).toBe('2');
    expect(edited?.item?.[0]?.answer?.[0]?.valueInteger).toBe(4);

    // The citizen fills one in on Kanta PHR, under the PHR Patient the push created.
    const phr = (sent?.subject?.reference as string).split('/')[1] as string;
    const theirs = citizenResponse(phr, urn(), { overall: 8 });
    const citizenApp = (await kanta.client({ id: 'citizen-app', scope: 'system/*.cruds' })).token;
    const posted = await kanta.call(citizenApp, '/QuestionnaireResponse', {
      method: 'POST',
      body: JSON.stringify(theirs),
    });
    expect(posted.status).toBe(201);
    await sync.pullOnce();
    const here = (await store.search('QuestionnaireResponse', { subject: `Patient/${client}`, _count: '10' }))
      .resources as QuestionnaireResponse[];
    expect(here.map((q) => q.identifier?.value).sort()).toEqual(
      [identifier, theirs.identifier?.value as string].sort(),
    );
    expect((await sync.status()).failures.lastError ?? null).toBeNull();
  }, 60_000);
});
