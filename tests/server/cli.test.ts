// The `tyokyky serve` and `tyokyky load` commands as real processes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServeProcess, run, startServe } from '../helpers/processes.ts';
import { practitioner } from './helpers.ts';
import { example } from './personas.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-cli-'));
let serve: ServeProcess;
let base = '';

beforeAll(async () => {
  serve = await startServe(['--data-dir', join(dir, 'data')]);
  base = serve.url;
}, 150_000);

afterAll(() => {
  if (serve?.child.exitCode === null) serve.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('tyokyky serve / load', () => {
  it('serves the FHIR API with structured request logs', async () => {
    const res = await fetch(`${base}/metadata`, { headers: { 'X-Request-Id': 'cli-test-1' } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { resourceType: string }).resourceType).toBe('CapabilityStatement');
    await new Promise((r) => setTimeout(r, 200));
    const line = serve
      .logs()
      .split('\n')
      .find((l) => l.includes('"cli-test-1"'));
    expect(line && JSON.parse(line)).toMatchObject({
      req: { id: 'cli-test-1', url: '/fhir/metadata' },
      res: { statusCode: 200 },
    });
  });

  it('loads files with a clear result per file, twice without duplicates', async () => {
    const org = example('Organization-kela.json');
    writeFileSync(join(dir, 'a-organization.json'), JSON.stringify({ ...org, id: undefined }));
    writeFileSync(join(dir, 'b-broken.json'), '{ not json');
    writeFileSync(
      join(dir, 'c-batch.json'),
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'batch',
        entry: [{ resource: practitioner(), request: { method: 'POST', url: 'Practitioner' } }],
      }),
    );
    const first = await run(['load', dir, '--url', base]);
    expect(first.code).toBe(1);
    expect(first.out).toMatch(/^ok {3}\S+a-organization\.json {2}201 {2}created Organization\/\S+$/m);
    expect(first.out).toMatch(/^FAIL \S+b-broken\.json {2}- {2}cannot read JSON/m);
    expect(first.out).toMatch(/^ok {3}\S+c-batch\.json {2}200 {2}batch of 1 entries \(1×201\)$/m);
    const again = await run(['load', join(dir, 'a-organization.json'), '--url', base]);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/200 {2}already present Organization\//);
  });

  it('shuts down gracefully on SIGTERM: the in-flight request finishes, the store is closed', async () => {
    const entry = Array.from({ length: 150 }, () => ({
      resource: practitioner(),
      request: { method: 'POST', url: 'Practitioner' },
    }));
    const inFlight = fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }),
    });
    await new Promise((r) => setTimeout(r, 150));
    serve.child.kill('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(((await res.json()) as Bundle).entry).toHaveLength(150);
    expect(await serve.exited).toBe(0);
    expect(serve.logs()).toMatch(/shutting down/);
    expect(serve.logs()).toMatch(/store closed/);
    await expect(fetch(`${base}/metadata`)).rejects.toThrow();
  });
});
