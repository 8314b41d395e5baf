// Two tyokyky facades with auth on: the local store's sync pushes to a remote facade that runs the
// embedded authorization server, authenticating with private_key_jwt (SMART Backend Services).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addClient } from '../../src/server/security/index.ts';
import { type Store, freshPgliteDataDir, openStore } from '../../src/store/index.ts';
import { createSync } from '../../src/sync/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { consent, patient, score } from '../sync/helpers/fixtures.ts';
import { type Secured, startSecured } from './helpers.ts';

describe('sync between two facades with auth on', () => {
  const dirs: string[] = [];
  let local: Store;
  let remoteStore: Store;
  let remote: Secured;
  let reader: string;

  const dir = async () => {
    const d = await freshPgliteDataDir(mkdtempSync(join(tmpdir(), 'tyokyky-sync-auth-')));
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    [local, remoteStore] = await Promise.all([
      openStore({ dataDir: await dir() }),
      openStore({ dataDir: await dir() }),
    ]);
    const validator = await loadProjectValidator();
    // Like the sync tests' remote facade: the fixtures carry no profiles.
    remote = await startSecured(remoteStore, validator, { strict: false });
    reader = (await remote.client({ id: 'reader', scope: 'system/*.rs' })).token;
  }, 120_000);
  afterAll(async () => {
    await remote?.running.close();
    await local?.close();
    await remoteStore?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('pushes with a token obtained by private_key_jwt, and is refused without one', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
    const kid = 'sync-key-1';
    await addClient(remoteStore as never, {
      id: 'facade-a',
      scope: 'system/*.cruds',
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES384' }] },
    });
    const anonymous = createSync({
      store: local,
      remote: { baseUrl: remote.fhir, party: 'other-health-care' },
    });
    await anonymous.ready;
    const p = (await local.create(patient('010181-907C'))).resource as Patient;
    await local.create(consent(p.id as string));
    await local.create(score(p.id as string, 7));
    const refused = await anonymous.pushOnce();
    // Refused credentials (401) stop the round: no row is to blame, none is dead; all wait, unsent.
    expect(refused).toMatchObject({ done: 0, dead: 0 });
    expect((await anonymous.status()).failures.lastError).toMatch(/sync-auth-1: the remote answered 401/);
    expect(await local.query("SELECT count(*)::int AS n FROM sync_outbox WHERE state = 'dead'")).toEqual([
      { n: 0 },
    ]);
    await anonymous.stop();

    const sync = createSync({
      store: local,
      installHook: false,
      remote: {
        baseUrl: remote.fhir,
        party: 'other-health-care',
        auth: {
          tokenUrl: `${remote.url}/auth/token`,
          clientId: 'facade-a',
          method: 'private_key_jwt',
          privateKey: { ...(await exportJWK(privateKey)), kid, alg: 'ES384' },
        },
      },
    } as Parameters<typeof createSync>[0]);
    await sync.ready;
    await sync.retry();
    // The Patient goes first; what refers to it follows once its remote id is known (held rows are
    // re-checked on a timer), so push until all three are done.
    let done = 0;
    let dead = 0;
    for (let round = 0; round < 60 && done < 3; round++) {
      const pushed = await sync.pushOnce();
      done += pushed.done;
      dead += pushed.dead;
      if (done < 3) await new Promise((r) => setTimeout(r, 250));
    }
    expect({ done, dead }).toEqual({ done: 3, dead: 0 });
    const found = (await (await remote.call(reader, '/Observation')).json()) as Bundle;
    expect(found.entry?.length).toBe(1);
    await sync.stop();
  }, 60_000);
  it('a remote refusing one resource (403, a type outside the scopes) refuses that row only: a dead letter, the rest arrive', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
    const kid = 'sync-key-2';
    // Patients and Consents only (a conditional create searches too: s); no Observations.
    await addClient(remoteStore as never, {
      id: 'facade-b',
      scope: 'system/Patient.cruds system/Consent.cruds',
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES384' }] },
    });
    const own = await dir();
    const store = await openStore({ dataDir: own });
    try {
      const sync = createSync({
        store,
        remote: {
          baseUrl: remote.fhir,
          party: 'other-health-care',
          auth: {
            tokenUrl: `${remote.url}/auth/token`,
            clientId: 'facade-b',
            method: 'private_key_jwt',
            privateKey: { ...(await exportJWK(privateKey)), kid, alg: 'ES384' },
          },
        },
      } as Parameters<typeof createSync>[0]);
      await sync.ready;
      const p = (await store.create(patient('010181-908M'))).resource as Patient;
      await store.create(consent(p.id as string));
      await store.create(score(p.id as string, 6));
      let done = 0;
      let dead = 0;
      for (let round = 0; round < 60 && done + dead < 3; round++) {
        const pushed = await sync.pushOnce();
        done += pushed.done;
        dead += pushed.dead;
        if (done + dead < 3) await new Promise((r) => setTimeout(r, 250));
      }
      expect({ done, dead }).toEqual({ done: 2, dead: 1 });
      const states = await store.query<{ resource_type: string; state: string }>(
        'SELECT resource_type, state FROM sync_outbox ORDER BY id',
      );
      expect(states).toEqual([
        { resource_type: 'Patient', state: 'done' },
        { resource_type: 'Consent', state: 'done' },
        { resource_type: 'Observation', state: 'dead' },
      ]);
      expect((await sync.status()).failures.lastError ?? null).toBeNull();
      await sync.stop();
    } finally {
      await store.close();
    }
  }, 60_000);
});
