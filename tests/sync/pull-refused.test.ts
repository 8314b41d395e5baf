// A remote resource the pull refuses is not lost from sight: the pull goes on past it (a remote
// sending it again must not stop every later pull), and the sync's status names it, its version and
// the rule it fails, until a later version of it is taken in. The remote is scripted, the store PGlite.
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncService } from '../../src/sync/index.ts';
import { selfAssessment } from './helpers/fixtures.ts';
import {
  type FollowedClient,
  type ScriptedRemote,
  followOnScripted,
  startScriptedRemote,
} from './helpers/scripted-remote.ts';

let remote: ScriptedRemote;
let followed: FollowedClient;
let sync: SyncService;
let remotePatient: string;

beforeAll(async () => {
  remote = await startScriptedRemote();
  followed = await followOnScripted(remote, '191181-919N');
  ({ sync, remotePatientId: remotePatient } = followed);
});
afterAll(async () => {
  await followed?.close();
  await remote?.close();
});

/** A self-assessment on the remote at `version`, its answer text `text`. */
function response(id: string, version: string, text: string): QuestionnaireResponse {
  const qr = selfAssessment(remotePatient);
  qr.item = [{ linkId: 'work-ability', text, answer: [{ valueInteger: 7 }] }];
  return { ...qr, id, meta: { versionId: version, lastUpdated: new Date().toISOString() } };
}

describe('a pulled resource refused here', () => {
  it('is listed in the status with its version and the rule, without its content', async () => {
    remote.answers.QuestionnaireResponse = [
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
        seenAt: expect.any(String),
      },
    ]);
    expect(JSON.stringify(pullRefused)).not.toMatch(/Salainen/);
  });

  it('is listed once however often it comes again, and leaves the list when a later version is taken in', async () => {
    remote.answers.QuestionnaireResponse = [response('held-back', '1', 'Salainen\u0000vastaus')];
    await sync.pullOnce();
    expect((await sync.status()).pullRefused.total).toBe(1);
    remote.answers.QuestionnaireResponse = [response('held-back', '2', 'Korjattu vastaus')];
    await expect(sync.pullOnce()).resolves.toMatchObject({ refused: 0, applied: 1 });
    expect((await sync.status()).pullRefused).toEqual({ total: 0, newest: [] });
  });
});
