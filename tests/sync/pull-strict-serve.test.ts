// `tyokyky serve --remote …` judges what its sync pulls in the facade's own mode: strict by default,
// a pulled Consent without one of our profiles is refused and listed as the facade would refuse the
// write (strict-profile at Consent.meta.profile); `--no-strict` stores it. `tyokyky sync pull` judges
// in the same mode, with the same flag and environment variable.
import type { Consent, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.ts';
import { type SyncStatus, createSync } from '../../src/sync/index.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import { run } from '../helpers/processes.ts';
import { consent, patient, remoteCopiesOf, remotePost } from './helpers/fixtures.ts';
import { type ServeProcess, dropDatabase, freshDatabase, startServe } from './helpers/processes.ts';
import { startRemote } from './helpers/remote.ts';
import { drain, waitFor } from './helpers/waits.ts';

let remote: FacadeHere;
const databases: string[] = [];
const serves: ServeProcess[] = [];

beforeAll(async () => {
  const db = await freshDatabase('tyokyky_strict_remote');
  databases.push(db);
  remote = await startRemote(db);
}, 120_000);

afterAll(async () => {
  for (const s of serves) await s.stop();
  await remote?.stop();
  for (const db of databases) await dropDatabase(db);
});

/**
 * A local database whose client is on the remote (pushed by an in-process sync, then closed), and a
 * Consent the remote gained for that client without meta.profile.
 */
async function clientWithBareConsent(hetu: string): Promise<{ database: string; bare: Consent }> {
  const database = await freshDatabase('tyokyky_strict_local');
  databases.push(database);
  const store = await openStore({ databaseUrl: database });
  const sync = createSync({ store, remote: { baseUrl: remote.url, party: 'other-health-care' } });
  await sync.ready;
  const client = (await store.create(patient(hetu))).resource as Patient;
  await store.create(consent(client.id as string));
  await drain(sync);
  await sync.stop();
  await store.close();
  const [there] = await remoteCopiesOf(remote.url, client);
  const { meta: _meta, ...bare } = consent(there?.id as string);
  return { database, bare: await remotePost(remote.url, bare as Consent) };
}

/** The sync status of a serve, once its first pull has finished. */
async function afterFirstPull(serve: ServeProcess): Promise<SyncStatus> {
  const statusUrl = serve.url.replace(/\/fhir$/, '/api/sync/status');
  let status: SyncStatus | undefined;
  await waitFor(
    async () => {
      status = (await (await fetch(statusUrl)).json()) as SyncStatus;
      return status.lastPullSuccess !== null;
    },
    60_000,
    "serve's first pull",
  );
  return status as SyncStatus;
}

async function serveOn(database: string, extra: string[] = []): Promise<ServeProcess> {
  const serve = await startServe([
    '--database-url',
    database,
    '--remote',
    remote.url,
    '--party',
    'other-health-care',
    ...extra,
  ]);
  serves.push(serve);
  return serve;
}

describe('serve --remote judges pulled resources in its own profile mode', () => {
  it('strict (the default): the Consent without our profile is refused and listed', async () => {
    const { database, bare } = await clientWithBareConsent('301181-9304');
    const status = await afterFirstPull(await serveOn(database));
    expect(status.pullRefused.total).toBe(1);
    expect(status.pullRefused.newest[0]).toMatchObject({ resourceType: 'Consent', remoteId: bare.id });
    expect(status.pullRefused.newest[0]?.reason).toMatch(/error required at Consent\.meta\.profile/);
  }, 120_000);

  it('--no-strict: the same Consent is stored', async () => {
    const { database } = await clientWithBareConsent('311181-931T');
    const status = await afterFirstPull(await serveOn(database, ['--no-strict']));
    expect(status.pullRefused.total).toBe(0);
  }, 120_000);
});

describe('tyokyky sync pull judges pulled resources in the same mode', () => {
  /** `sync pull` on `database`, then how many pulled resources its store lists as refused. */
  async function pullRefused(database: string, extra: string[], env: Record<string, string> = {}) {
    const pulled = await run(
      [
        'sync',
        'pull',
        '--database-url',
        database,
        '--remote',
        remote.url,
        '--party',
        'other-health-care',
        ...extra,
      ],
      env,
    );
    expect(pulled.code, pulled.out).toBe(0);
    const status = await run(['sync', 'status', '--json', '--database-url', database]);
    return (JSON.parse(status.out.slice(status.out.indexOf('{'))) as SyncStatus).pullRefused.total;
  }

  it('strict by default, --no-strict or TYOKYKY_STRICT=0 not', async () => {
    const strict = await clientWithBareConsent('011281-910K');
    expect(await pullRefused(strict.database, [])).toBe(1);
    const flag = await clientWithBareConsent('021281-917E');
    expect(await pullRefused(flag.database, ['--no-strict'])).toBe(0);
    const env = await clientWithBareConsent('031281-9140');
    expect(await pullRefused(env.database, [], { TYOKYKY_STRICT: '0' })).toBe(0);
  }, 120_000);
});
