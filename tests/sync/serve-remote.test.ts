// `tyokyky serve --remote …` configures its sync worker exactly as `tyokyky sync push` does: the OAuth
// settings (environment or flags) reach the remote as a bearer token, so a secured remote gets the data.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consent, patient } from './helpers/fixtures.ts';
import { type MedplumPeer, startMedplumPeer } from './helpers/medplum-peer.ts';
import { startServe, stopChild } from './helpers/processes.ts';

let peer: MedplumPeer;
const dirs: string[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  peer = await startMedplumPeer({
    auth: { clientId: 'tyokyky-serve', clientSecret: 'serve-s3cret', expiresIn: 300 },
  });
});
afterAll(async () => {
  for (const c of children) await stopChild(c);
  await peer?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function post(base: string, resource: object): Promise<{ id: string }> {
  const res = await fetch(`${base}/${(resource as { resourceType: string }).resourceType}`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify(resource),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string };
}

async function onPeer(hetu: string, ms = 30_000): Promise<Patient[]> {
  const end = Date.now() + ms;
  while (true) {
    const found = await peer.repo.searchResources<Patient>({
      resourceType: 'Patient',
      filters: [{ code: 'identifier', operator: 'eq' as never, value: `urn:oid:1.2.246.21|${hetu}` }],
    });
    if (found.length || Date.now() > end) return found;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function serveWith(args: string[], env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'tyokyky-serve-remote-'));
  dirs.push(dir);
  const serve = await startServe(
    ['--no-strict', '--data-dir', join(dir, 'data'), '--remote', peer.url, ...args],
    { env },
  );
  children.push(serve.child);
  return serve;
}

describe('serve --remote takes the same remote settings as sync push', () => {
  it('OAuth settings from the environment: the worker sends a token and the client arrives', async () => {
    const tokensBefore = peer.stats.tokens;
    const unauthorizedBefore = peer.stats.unauthorized;
    const serve = await serveWith([], {
      TYOKYKY_SYNC_TOKEN_URL: peer.tokenUrl,
      TYOKYKY_SYNC_CLIENT_ID: 'tyokyky-serve',
      TYOKYKY_SYNC_CLIENT_SECRET: 'serve-s3cret',
      TYOKYKY_SYNC_SCOPE: 'system/*.write',
    });
    const p = await post(serve.url, patient('010181-960P'));
    await post(serve.url, consent(p.id));
    expect(await onPeer('010181-960P')).toHaveLength(1);
    expect(peer.stats.tokens).toBeGreaterThan(tokensBefore);
    expect(peer.stats.unauthorized).toBe(unauthorizedBefore);
  }, 90_000);

  it('OAuth settings as flags work the same way', async () => {
    const tokensBefore = peer.stats.tokens;
    const serve = await serveWith(
      ['--token-url', peer.tokenUrl, '--client-id', 'tyokyky-serve', '--party', 'other-health-care'],
      { TYOKYKY_SYNC_CLIENT_SECRET: 'serve-s3cret' },
    );
    const p = await post(serve.url, patient('010181-961R'));
    await post(serve.url, consent(p.id));
    expect(await onPeer('010181-961R')).toHaveLength(1);
    expect(peer.stats.tokens).toBeGreaterThan(tokensBefore);
  }, 90_000);

  it('refuses incomplete OAuth settings at start, naming the missing one', async () => {
    await expect(serveWith(['--token-url', peer.tokenUrl], {})).rejects.toThrow(
      /--client-id \(or TYOKYKY_SYNC_CLIENT_ID\) is required with --token-url/,
    );
  }, 60_000);
});
