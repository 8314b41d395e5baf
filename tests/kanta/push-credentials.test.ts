// The Kanta PHR push under credentials Kanta PHR refuses — its token endpoint (sync-auth-1), the
// remote itself (401, here from our fault proxy: the sandbox models no OAuth), or one entry of a
// batch answer — and under an open circuit: no row is to blame, so the round stops with every row
// waiting (none dead, no attempt counted, no refused disclosure audited), the status names the failure
// by its status and rule only, and once the fault is gone everything arrives. The same rules as the
// FHIR-store push (tests/sync/credentials.test.ts). The sandbox is a facade in the test's process
// (`mode: 'kanta-phr'`), the stores PGlite; the token endpoint a small HTTP server of the test's.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Patient, QuestionnaireResponse } from '@medplum/fhirtypes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/index.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { type RemoteConfig, type SyncService, createSync } from '../../src/sync/index.ts';
import { type FaultProxy, startFaultProxy } from '../sync/helpers/fault-proxy.ts';
import { consent, patient } from '../sync/helpers/fixtures.ts';
import { type ScriptedRemote, startScriptedRemote } from '../sync/helpers/scripted-remote.ts';
import { drain } from '../sync/helpers/waits.ts';
import { sdkResponse, startSandboxHere } from './helpers.ts';

const APP = { name: 'tyokyky-tests', applicationId: 'kela-test-app-3' };
/** What the token endpoint says when it refuses: an error code, and a description quoting a HETU. */
const REFUSAL = {
  error: 'invalid_client',
  error_description: 'client secret rotated for 010181-900C (Suvi Testaaja)',
};

let remoteStore: Store;
let sandbox: RunningServer;
let proxy: FaultProxy;
let tokens: { server: Server; url: string; refusing: boolean; asked: number };
const opened: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  ({ remoteStore, sandbox } = await startSandboxHere());
  proxy = await startFaultProxy(sandbox.url);
  const server = createServer(async (req, res) => {
    for await (const _ of req);
    tokens.asked++;
    res.writeHead(tokens.refusing ? 401 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(tokens.refusing ? REFUSAL : { access_token: 'ok-token', expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tokens = {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    refusing: true,
    asked: 0,
  };
}, 60_000);
afterEach(async () => {
  Object.assign(proxy.faults, { errorNext: 0, errorAfter: 0, statuses: [503] });
  for (const o of opened.splice(0).reverse()) await o.stop();
});
afterAll(async () => {
  await proxy?.close();
  await new Promise((resolve) => tokens?.server.close(resolve));
  await sandbox?.close();
  await remoteStore?.close();
});

interface Local {
  store: Store;
  /** The outbox hook only (a service that does not push). */
  hooks: SyncService;
  /** The local responses, one per client. */
  responses: (QuestionnaireResponse & { id: string })[];
}

/** A local store whose clients (one per HETU) each have a consent for kela and one self-assessment. */
async function localWith(hetus: string[]): Promise<Local> {
  const store = await openStore({ dataDir: 'memory://' });
  const hooks = createSync({
    store,
    remote: { baseUrl: 'http://127.0.0.1:9/unused', party: 'kela', kind: 'kanta-phr', application: APP },
  });
  await hooks.ready;
  opened.push({ stop: () => store.close() }, hooks);
  const responses: (QuestionnaireResponse & { id: string })[] = [];
  for (const hetu of hetus) {
    const p = (await store.create(patient(hetu))).resource as Patient;
    await store.create(consent(p.id as string, { parties: ['kela'] }));
    const written = await store.create(sdkResponse(p.id as string));
    responses.push(written.resource as QuestionnaireResponse & { id: string });
  }
  return { store, hooks, responses };
}

/** A Kanta PHR push worker on `store` (no outbox hook of its own). */
function worker(store: Store, remote: Partial<RemoteConfig> & { baseUrl: string }): SyncService {
  const sync = createSync({
    store,
    remote: {
      party: 'kela',
      kind: 'kanta-phr',
      application: APP,
      retry: { initialDelayMs: 5, maxDelayMs: 20 },
      breaker: { halfOpenAfterMs: 100 },
      ...remote,
    },
    installHook: false,
    retryBaseMs: 10,
  });
  opened.push(sync);
  return sync;
}

const responseRows = (store: Store) =>
  store.query<{ state: string; attempts: number }>(
    "SELECT state, attempts FROM sync_outbox WHERE resource_type = 'QuestionnaireResponse' ORDER BY id",
  );
const auditRows = async (store: Store) =>
  (await store.query<{ n: number }>('SELECT count(*)::int AS n FROM security_audit'))[0]?.n;

/** How many copies of each response the sandbox holds, in order. */
const copiesOnKanta = async (responses: QuestionnaireResponse[]) => {
  const counts: number[] = [];
  for (const r of responses) {
    const found = await remoteStore.search('QuestionnaireResponse', {
      identifier: `urn:ietf:rfc:3986|${r.identifier?.value}`,
    });
    counts.push(found.resources.length);
  }
  return counts;
};

/** `qr` with another overall answer (what a local user or the citizen changes). */
const withOverall = <T extends QuestionnaireResponse>(qr: T, overall: number): T => ({
  ...qr,
  item: qr.item?.map((i) => (i.linkId === 'overall' ? { ...i, answer: [{ valueInteger: overall }] } : i)),
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Kanta PHR push: credentials refused', () => {
  it('the remote answering 401: every row waits, none dead or audited, the status names sync-auth-1; allowed again, everything arrives', async () => {
    const { store, responses } = await localWith(['010181-950A', '010181-951B']);
    const audited = await auditRows(store);
    const sync = worker(store, { baseUrl: `${proxy.url}/fhir` });
    await sync.ready;
    Object.assign(proxy.faults, { errorNext: 1_000_000, statuses: [401] });
    await sync.pushOnce();
    await pause(150); // past the rows' wait: a second round meets the same refusal
    await sync.pushOnce();

    const status = await sync.status();
    // The Patients and Consents are not Kanta PHR's (settled done as not applicable); the responses wait.
    expect(status.states).toMatchObject({ pending: 2, done: 4, dead: 0, blocked: 0, inflight: 0 });
    expect(status.failures.lastError).toMatch(
      /^\S+ sync-auth-1: the remote answered 401 to POST \(its access token refused\); rows wait, not sent$/,
    );
    expect(await responseRows(store)).toEqual([
      { state: 'pending', attempts: 0 },
      { state: 'pending', attempts: 0 },
    ]);
    expect(await auditRows(store)).toBe(audited);
    expect(await copiesOnKanta(responses)).toEqual([0, 0]);

    proxy.faults.errorNext = 0;
    await drain(sync, 20_000);
    expect(await copiesOnKanta(responses)).toEqual([1, 1]);
    expect((await sync.status()).states).toMatchObject({ done: 6, dead: 0, pending: 0 });
  }, 60_000);

  it('the token endpoint refusing (sync-auth-1): nothing reaches Kanta PHR, rows wait; fixed, everything arrives; a pull refused names the status and the OAuth error code only', async () => {
    const { store, responses } = await localWith(['010181-952C']);
    const audited = await auditRows(store);
    const auth = { tokenUrl: tokens.url, clientId: 'tyokyky', clientSecret: 'old' };
    const stale = worker(store, { baseUrl: `${proxy.url}/fhir`, auth });
    await stale.ready;
    tokens.refusing = true;
    const before = proxy.stats.requests;
    await stale.pushOnce();
    await pause(150);
    await stale.pushOnce();

    const status = await stale.status();
    expect(status.states).toMatchObject({ pending: 1, done: 2, dead: 0, inflight: 0 });
    expect(status.failures.lastError).toMatch(
      /^\S+ sync-auth-1: the token endpoint refused the credentials \(HTTP 401\); rows wait, not sent$/,
    );
    expect(await responseRows(store)).toEqual([{ state: 'pending', attempts: 0 }]);
    expect(await auditRows(store)).toBe(audited);
    expect(proxy.stats.requests).toBe(before);

    tokens.refusing = false;
    const fixed = worker(store, { baseUrl: `${proxy.url}/fhir`, auth });
    await drain(fixed, 20_000);
    expect(await copiesOnKanta(responses)).toEqual([1]);
    expect((await fixed.status()).states).toMatchObject({ done: 3, dead: 0 });

    // A pull refused the same way (a fresh service: no token cached) keeps the endpoint's status and
    // its OAuth error code as the last error — never its description or any other text of its answer.
    tokens.refusing = true;
    const puller = worker(store, { baseUrl: `${proxy.url}/fhir`, auth });
    const err = await puller.pullOnce().catch((e: Error) => e);
    expect((err as Error).message).toBe('sync-auth-1: token endpoint answered 401 (invalid_client)');
    expect((await puller.status()).failures.lastError).toMatch(
      /^\S+ sync-auth-1: token endpoint answered 401 \(invalid_client\)$/,
    );
  }, 60_000);

  it('the circuit open after repeated failures: the rows wait for it, none dead; closed again, everything arrives', async () => {
    const { store, responses } = await localWith(['010181-953D']);
    const sync = worker(store, {
      baseUrl: `${proxy.url}/fhir`,
      retry: { maxAttempts: 1, initialDelayMs: 5, maxDelayMs: 5 },
      breaker: { consecutiveFailures: 2, halfOpenAfterMs: 2_000 },
    });
    await sync.ready;
    Object.assign(proxy.faults, { errorNext: 1_000_000, statuses: [503] });
    // Two 503s open the circuit: a transient failure, the row retried after its backoff (10 ms).
    expect(await sync.pushRound()).toMatchObject({ claimed: 3, done: 2, retrying: 1, dead: 0 });
    await pause(50);
    // The next round meets the open circuit: no request, the row waits.
    const injected = proxy.stats.injected;
    expect(await sync.pushRound()).toMatchObject({ claimed: 1, waiting: 1, dead: 0, retrying: 0 });
    expect(proxy.stats.injected).toBe(injected);
    const [row] = await store.query<{ state: string; reason: string }>(
      "SELECT state, reason FROM sync_outbox WHERE resource_type = 'QuestionnaireResponse'",
    );
    expect(row).toEqual({ state: 'pending', reason: 'remote circuit open' });

    proxy.faults.errorNext = 0;
    await pause(2_100);
    await drain(sync, 20_000);
    expect(await copiesOnKanta(responses)).toEqual([1]);
    expect((await sync.status()).states).toMatchObject({ done: 3, dead: 0 });
  }, 60_000);

  it("refused while a conflict re-reads the citizen's version: the row waits, no attempt counted; allowed again, the conflict is settled", async () => {
    const { store, responses } = await localWith(['010181-955F']);
    const sync = worker(store, { baseUrl: `${proxy.url}/fhir` });
    await drain(sync, 20_000);
    const local = responses[0] as QuestionnaireResponse & { id: string };
    const [there] = (
      await remoteStore.search('QuestionnaireResponse', {
        identifier: `urn:ietf:rfc:3986|${local.identifier?.value}`,
      })
    ).resources as QuestionnaireResponse[];
    // The citizen edits it on Kanta PHR, and it is edited here too.
    const citizen = await fetch(`${sandbox.url}/fhir/QuestionnaireResponse/${there?.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json', 'if-match': `W/"${there?.meta?.versionId}"` },
      body: JSON.stringify(withOverall(there as QuestionnaireResponse, 2)),
    });
    expect(citizen.status).toBe(200);
    await store.update(withOverall(local, 9), { ifMatch: local.meta?.versionId });
    // The update goes (412: the citizen's version is there); the re-read of that version is refused.
    Object.assign(proxy.faults, { errorAfter: 1, errorNext: 1_000_000, statuses: [401] });
    await sync.pushOnce();
    const [row] = await store.query<{ state: string; attempts: number; action: string }>(
      'SELECT state, attempts, action FROM sync_outbox WHERE resource_id = $1 ORDER BY id DESC LIMIT 1',
      [local.id],
    );
    expect(row).toEqual({ state: 'pending', attempts: 0, action: 'update' });
    const status = await sync.status();
    expect(status.states.dead).toBe(0);
    expect(status.failures.lastError).toMatch(
      /^\S+ sync-auth-1: the remote answered 401 to GET \(its access token refused\); rows wait, not sent$/,
    );

    proxy.faults.errorNext = 0;
    await drain(sync, 20_000);
    const here = await store.read<QuestionnaireResponse>('QuestionnaireResponse', local.id);
    expect(here.item?.find((i) => i.linkId === 'overall')?.answer).toEqual([{ valueInteger: 2 }]);
    expect((await sync.status()).states).toMatchObject({ dead: 0, pending: 0 });
  }, 60_000);
});

describe('Kanta PHR push: a batch answer that stops the round (a scripted remote)', () => {
  let scripted: ScriptedRemote;
  let front: FaultProxy;
  beforeAll(async () => {
    scripted = await startScriptedRemote();
    front = await startFaultProxy(scripted.url);
  });
  afterEach(() => {
    Object.assign(front.faults, { errorNext: 0, errorAfter: 0, statuses: [503] });
  });
  afterAll(async () => {
    await front?.close();
    await scripted?.close();
  });

  it('one entry answered 401: the row waits, not dead nor audited as refused; the status names sync-auth-1', async () => {
    const { store } = await localWith(['010181-954E']);
    const audited = await auditRows(store);
    const sync = worker(store, { baseUrl: scripted.url });
    await sync.ready;
    scripted.bundleAnswer = {
      status: 200,
      body: {
        resourceType: 'Bundle',
        type: 'batch-response',
        entry: [
          {
            response: {
              status: '401 Unauthorized',
              outcome: {
                resourceType: 'OperationOutcome',
                issue: [{ severity: 'error', code: 'forbidden', diagnostics: 'no scope for 010181-954E' }],
              },
            },
          },
        ],
      },
    };
    await sync.pushOnce();
    expect(await responseRows(store)).toEqual([{ state: 'pending', attempts: 0 }]);
    expect(await auditRows(store)).toBe(audited);
    const status = await sync.status();
    expect(status.states).toMatchObject({ pending: 1, dead: 0 });
    expect(status.failures.lastError).toMatch(
      /^\S+ sync-auth-1: the remote answered 401 to POST \(its access token refused\); rows wait, not sent$/,
    );
  }, 60_000);

  it("a conditional create's match whose owner cannot be read (401): the row waits, no attempt counted", async () => {
    const { store } = await localWith(['010181-956H']);
    const sync = worker(store, { baseUrl: front.url });
    await sync.ready;
    // The create matched a response the answer names by its Location only: it is read there to see
    // whose it is, and that read is refused.
    scripted.bundleAnswer = {
      status: 200,
      body: {
        resourceType: 'Bundle',
        type: 'batch-response',
        entry: [{ response: { status: '200 OK', location: 'QuestionnaireResponse/theirs/_history/1' } }],
      },
    };
    // The PHR Patient's create and the batch go; the read that follows is refused.
    Object.assign(front.faults, { errorAfter: 2, errorNext: 1_000_000, statuses: [401] });
    await sync.pushOnce();
    expect(await responseRows(store)).toEqual([{ state: 'pending', attempts: 0 }]);
    const status = await sync.status();
    expect(status.states).toMatchObject({ pending: 1, dead: 0 });
    expect(status.failures.lastError).toMatch(
      /^\S+ sync-auth-1: the remote answered 401 to GET \(its access token refused\); rows wait, not sent$/,
    );
  }, 60_000);
});
