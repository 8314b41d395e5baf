// A remote resource the pull refuses is not lost from sight: the pull goes on past it (a remote
// sending it again must not stop every later pull), and the sync's status names it, its version and
// the rule it fails, until a later version of it is taken in. The remote is scripted, the store PGlite.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import { consent, selfAssessment } from './helpers/fixtures.ts';
import { scriptedPerSuite } from './helpers/scripted-remote.ts';

const suite = scriptedPerSuite('191181-919N');
let sync: SyncService;
let remotePatient: string;
let store: Store;
let client: string;

beforeAll(() => {
  ({ sync, store, patientId: client, remotePatientId: remotePatient } = suite.followed);
});

/** A self-assessment on the remote at `version`, its answer text `text`. */
function response(id: string, version: string, text: string): QuestionnaireResponse {
  const qr = selfAssessment(remotePatient);
  qr.item = [{ linkId: 'work-ability', text, answer: [{ valueInteger: 7 }] }];
  return { ...qr, id, meta: { versionId: version, lastUpdated: new Date().toISOString() } };
}

describe('a pulled resource refused here', () => {
  it('is listed in the status with its version and the rule, without its content', async () => {
    suite.remote.answers.QuestionnaireResponse = [
      response('held-back', '1', 'Salainen\u0000vastaus'),
      response('taken', '1', 'Hyvä'),
    ];
    await expect(sync.pullOnce()).resolves.toMatchObject({ fetched: 2, refused: 1, applied: 1 });
    const { pullRefused } = await sync.status();
    expect(pullRefused.total).toBe(1);
    expect(pullRefused.newest).toEqual([
      {
        resourceType: 'QuestionnaireResponse',
        remoteId: 'held-back',
        remoteVersion: '1',
        reason: expect.stringMatching(/^fails what a write here must pass: error /),
        seenAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      },
    ]);
    expect(JSON.stringify(pullRefused)).not.toMatch(/Salainen/);
    // For an alert: the same count as a gauge, refreshed by the status.
    expect(await sync.metrics.metrics()).toMatch(/^tyokyky_sync_pull_refused 1$/m);
  });

  it('is listed once however often it comes again, and leaves the list when a later version is taken in', async () => {
    suite.remote.answers.QuestionnaireResponse = [response('held-back', '1', 'Salainen\u0000vastaus')];
    await sync.pullOnce();
    expect((await sync.status()).pullRefused.total).toBe(1);
    suite.remote.answers.QuestionnaireResponse = [response('held-back', '2', 'Korjattu vastaus')];
    await expect(sync.pullOnce()).resolves.toMatchObject({ refused: 0, applied: 1 });
    expect((await sync.status()).pullRefused).toEqual({ total: 0, newest: [] });
  });
});

/** Puts `r` on the scripted remote as its next version (what a read by id answers), and returns it. */
async function onRemote(r: QuestionnaireResponse): Promise<QuestionnaireResponse> {
  const res = await fetch(`${suite.remote.url}/QuestionnaireResponse/${r.id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify(r),
  });
  return (await res.json()) as QuestionnaireResponse;
}

describe('reading the refused resources again', () => {
  it('stores one whose cause is gone here, keeps one refused again, and drops one the remote no longer has', async () => {
    // Two local responses carry one business identifier: which one the remote's is cannot be told.
    const shared = selfAssessment(client);
    const twins = await Promise.all([store.create(shared), store.create({ ...shared })]);
    // Written long ago, say by an import: no change of theirs waits to be pushed.
    await store.query("UPDATE sync_outbox SET state = 'done' WHERE resource_id = ANY($1::text[])", [
      twins.map((t) => t.resource.id),
    ]);
    // The remote's copy of it, answered differently there.
    const theirs = await onRemote({
      ...selfAssessment(remotePatient),
      id: 'twin',
      identifier: shared.identifier,
      item: [{ linkId: 'work-ability', answer: [{ valueInteger: 4 }] }],
    });
    const broken = await onRemote(response('still-broken', '1', 'Rikki\u0000'));
    const vanishing = response('vanishing', '1', 'Katoaa\u0000');
    suite.remote.answers.QuestionnaireResponse = [theirs, broken, vanishing];
    await expect(sync.pullOnce()).resolves.toMatchObject({ refused: 3 });
    const reasons = Object.fromEntries(
      (await sync.status()).pullRefused.newest.map((r) => [r.remoteId, r.reason]),
    );
    expect(reasons.twin).toBe('its business identifier matches more than one local resource');
    expect(Object.keys(reasons).sort()).toEqual(['still-broken', 'twin', 'vanishing']);

    // The operator removes the duplicate; the search no longer lists any of them.
    await store.delete('QuestionnaireResponse', twins[1].resource.id as string);
    suite.remote.answers.QuestionnaireResponse = [];
    await expect(sync.pullRefusedAgain()).resolves.toEqual({
      listed: 3,
      applied: 1,
      unchanged: 0,
      skipped: 0,
      refused: 1,
      gone: 1,
    });
    const { pullRefused } = await sync.status();
    expect(pullRefused.newest.map((r) => r.remoteId)).toEqual(['still-broken']);
    const [mapped] = await store.query<{ local_id: string }>(
      "SELECT local_id FROM sync_idmap WHERE resource_type = 'QuestionnaireResponse' AND remote_id = 'twin'",
    );
    expect(mapped?.local_id).toBe(twins[0].resource.id);
    const local = await store.read<QuestionnaireResponse>(
      'QuestionnaireResponse',
      twins[0].resource.id as string,
    );
    expect(local.item?.[0]?.answer?.[0]?.valueInteger).toBe(4);
    // Nothing left that passes: a second read-again changes nothing.
    await expect(sync.pullRefusedAgain()).resolves.toMatchObject({ listed: 1, refused: 1 });
  });
});

describe('a pulled resource carrying an identifier another local resource holds', () => {
  it('is refused (tyk-id-4), listed with the rule, and the local one is left as it was', async () => {
    const held = await store.create(consent(client));
    await store.query("UPDATE sync_outbox SET state = 'done' WHERE resource_id = $1", [held.resource.id]);
    // New to the id map: its first identifier is new here, its second is the local consent's.
    const other = consent(remotePatient);
    const body = {
      ...other,
      id: 'second-holder',
      identifier: [...other.identifier!, ...held.resource.identifier!],
    };
    const res = await fetch(`${suite.remote.url}/Consent/second-holder`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(body),
    });
    suite.remote.answers.Consent = [await res.json()];
    await expect(sync.pullOnce()).resolves.toMatchObject({ refused: 1, applied: 0 });
    const refused = (await sync.status()).pullRefused.newest.find((r) => r.remoteId === 'second-holder');
    expect(refused?.reason).toBe('another local resource carries one of its identifiers (tyk-id-4)');
    const { resources } = await store.search('Consent', {
      identifier: `${held.resource.identifier![0]!.system}|${held.resource.identifier![0]!.value}`,
    });
    expect(resources.map((r) => r.id)).toEqual([held.resource.id]);
    expect(await store.read('Consent', held.resource.id as string)).toEqual(held.resource);
    suite.remote.answers.Consent = [];
  });
});

describe('reading the refused resources again from a remote that does not answer', () => {
  it('stops at the pull bound, naming the read it waited for, and leaves the list as it was', async () => {
    const silent = createServer(() => {}); // takes each request and never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const here = await openStore({ dataDir: 'memory://' });
    const waiting = createSync({
      store: here,
      remote: { baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, party: 'kela' },
      pullTimeoutMs: 500,
      installHook: false,
    });
    try {
      await waiting.ready;
      await here.query(
        "INSERT INTO sync_pull_refused (resource_type, remote_id, reason) VALUES ('Consent', 'c-1', 'test')",
      );
      const started = Date.now();
      await expect(waiting.pullRefusedAgain()).rejects.toThrow(
        'sync-pull-1: pull stopped at its bound of 500 ms while waiting for pull: remote read Consent/c-1',
      );
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((await waiting.status()).pullRefused.total).toBe(1);
    } finally {
      await waiting.stop();
      await here.close();
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
