// Numbers keep how they were written between processes (`1.50` stays `1.50`, which FHIR gives
// meaning to): a resource the facade read from JSON text is pushed with its decimals as written, a
// pulled remote version is stored locally so, and `tyokyky load` sends a file as written. Local
// PostgreSQL store, second tyokyky facade as the remote.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFile } from '../../src/cli/load/files.ts';
import { parseAsWritten } from '../../src/shared/json-text.ts';
import { businessId, consent, patient } from './helpers/fixtures.ts';
import { type SyncPair, openSyncPair } from './helpers/remote.ts';

let pair: SyncPair;
beforeAll(async () => {
  pair = await openSyncPair('tyokyky_numbers', { pullTypes: ['Observation'] });
}, 120_000);
afterAll(async () => pair?.close());

describe('decimals as written', () => {
  it('are pushed as written and pulled back as written', async () => {
    const { store, sync, remote } = pair;
    const p = (await store.create(patient('010181-977X'))).resource as Patient;
    await store.create(consent(p.id!));
    // As the facade reads a request body.
    const id = businessId();
    const text = `{"resourceType":"Observation","identifier":[{"system":"${id.system}","value":"${id.value}"}],"status":"final","code":{"text":"sleep"},"subject":{"reference":"Patient/${p.id}"},"valueQuantity":{"value":7.50,"unit":"h"}}`;
    const local = (await store.create(parseAsWritten(text) as Observation)).resource as Observation;
    expect((await store.readJson('Observation', local.id!)).json).toMatch(/"value": ?7\.50\b/);
    const round = await sync.pushOnce();
    const dead = await store.query<{ reason: string }>("SELECT reason FROM sync_outbox WHERE state = 'dead'");
    expect(dead).toEqual([]);
    expect(round).toMatchObject({ dead: 0 });
    const [mapped] = await store.query<{ remote_id: string }>(
      "SELECT remote_id FROM sync_idmap WHERE resource_type = 'Observation' AND local_id = $1",
      [local.id],
    );
    const remoteUrl = `${remote.url}/Observation/${mapped!.remote_id}`;
    const onRemote = await fetch(remoteUrl);
    const remoteText = await onRemote.text();
    expect(remoteText).toMatch(/"value": ?7\.50\b/);

    // A remote edit written as text, then pulled.
    const edited = remoteText.replace(/"value": ?7\.50/, '"value":8.250');
    const put = await fetch(remoteUrl, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/fhir+json', 'If-Match': onRemote.headers.get('etag')! },
      body: edited,
    });
    expect(put.status).toBe(200);
    expect(await sync.pullOnce()).toMatchObject({ applied: 1 });
    expect((await store.readJson('Observation', local.id!)).json).toMatch(/"value": ?8\.250\b/);
  }, 60_000);
});

describe('tyokyky load', () => {
  it('sends each file as written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tyokyky-numbers-'));
    try {
      const id = businessId();
      const file = join(dir, 'observation.json');
      writeFileSync(
        file,
        `{"resourceType":"Observation","identifier":[{"system":"${id.system}","value":"${id.value}"}],"status":"final","code":{"text":"x"},"valueQuantity":{"value":0.50}}`,
      );
      const { remote } = pair;
      const result = await loadFile(file, remote.url);
      expect(result).toMatchObject({ ok: true, status: 201 });
      const found = await fetch(
        `${remote.url}/Observation?identifier=${encodeURIComponent(`${id.system}|${id.value}`)}`,
      );
      expect(await found.text()).toMatch(/"value": ?0\.50\b/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
