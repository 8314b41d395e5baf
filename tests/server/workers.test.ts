// `tyokyky serve --workers N`: a pool of facade processes on one port and one PostgreSQL database.
import { randomUUID } from 'node:crypto';
import { type AddressInfo, createServer } from 'node:net';
import type { Bundle, Consent, Practitioner, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase, freshDatabase } from '../helpers/databases.ts';
import { type FacadeHere, startFacadeHere } from '../helpers/facade.ts';
import { type ServeProcess, run, startServe } from '../helpers/processes.ts';
import { practitioner } from './helpers.ts';
import { example } from './personas.ts';

let remote: FacadeHere; // the Kanta-style store the pool syncs to (in this process)
let pool: ServeProcess;
let databaseUrl = '';
let remoteDb = '';
/** When both workers had logged "listening": each was forked before it. */
let listeningAt = 0;

/** The pids that logged "listening", with their worker numbers, in order. */
function listening(logs: string): Array<{ pid: number; worker: number }> {
  return logs
    .split('\n')
    .filter((l) => l.includes('facade listening'))
    .map((l) => JSON.parse(l) as { pid: number; worker: number });
}

async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  [databaseUrl, remoteDb] = await Promise.all([
    freshDatabase('tyokyky_workers'),
    freshDatabase('tyokyky_workers_remote'),
  ]);
  remote = await startFacadeHere(remoteDb);
  pool = await startServe(['--workers', '2', '--database-url', databaseUrl, '--remote', remote.url]);
  await until('both workers', () => listening(pool.logs()).length === 2);
  listeningAt = Date.now();
}, 120_000);

afterAll(async () => {
  if (pool && pool.child.exitCode === null) {
    pool.child.kill('SIGKILL');
    for (const { pid } of listening(pool.logs())) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  await remote?.stop();
  for (const url of [databaseUrl, remoteDb]) if (url) await dropDatabase(url);
});

describe('tyokyky serve --workers', () => {
  it('refuses a pool on the embedded store and a malformed count, with exit code 2', async () => {
    const [embedded, malformed] = await Promise.all([
      run(['serve', '--workers', '2', '--port', '0']),
      run(['serve', '--workers', 'two', '--database-url', databaseUrl]),
    ]);
    expect(embedded.code).toBe(2);
    expect(embedded.out).toMatch(/--workers above 1 needs --database-url/);
    expect(malformed.code).toBe(2);
    expect(malformed.out.trim()).toBe('tyokyky serve: invalid --workers "two" (a whole number from 1 to 64)');
  });

  it('stops with exit code 1 when the workers cannot start', async () => {
    const down = await run([
      'serve',
      '--workers',
      '2',
      '--port',
      '0',
      '--database-url',
      'postgres://127.0.0.1:1/x',
    ]);
    expect(down.code).toBe(1);
    expect(down.out).toMatch(/facade worker failed while starting/);
  }, 60_000);

  it('stops with exit code 1 when PostgreSQL accepts the connection and never answers (PGCONNECT_TIMEOUT)', async () => {
    const silent = createServer(() => {}); // takes connections, says nothing
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const started = Date.now();
      const hung = await run(
        ['serve', '--workers', '2', '--port', '0', '--database-url', `postgres://127.0.0.1:${port}/x`],
        { PGCONNECT_TIMEOUT: '1' },
      );
      expect(hung.code).toBe(1);
      expect(hung.out).toMatch(/PostgreSQL at 127\.0\.0\.1:\d+ did not answer \(timeout\)/);
      expect(hung.out).toMatch(/facade worker failed while starting/);
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      silent.close();
    }
  }, 60_000);

  it('serves from every worker on one port; a write in one is read in the other', async () => {
    const workers = listening(pool.logs());
    expect(workers.map((w) => w.worker).sort()).toEqual([1, 2]);
    expect(new Set(workers.map((w) => w.pid)).size).toBe(2);
    // New connections are dealt out by the primary in turn.
    const created: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${pool.url}/Practitioner`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', connection: 'close' },
        body: JSON.stringify(practitioner()),
      });
      expect(res.status).toBe(201);
      created.push(((await res.json()) as Practitioner).id as string);
    }
    for (const id of created) {
      const res = await fetch(`${pool.url}/Practitioner/${id}`, { headers: { connection: 'close' } });
      expect(res.status).toBe(200);
    }
    await new Promise((r) => setTimeout(r, 200));
    const servedBy = new Set(
      pool
        .logs()
        .split('\n')
        .filter((l) => l.includes('"request completed"'))
        .map((l) => (JSON.parse(l) as { pid: number }).pid),
    );
    expect(servedBy).toEqual(new Set(workers.map((w) => w.pid)));
  });

  it('records writes from every worker in the sync outbox; they reach the remote', async () => {
    // The sync sends a client's data only with the client: the Patient and the organisation the
    // consents name are written first, and the consents let the remote's party (other-health-care)
    // receive the client's identification.
    const post = async (resource: Resource): Promise<Resource> => {
      const res = await fetch(`${pool.url}/${resource.resourceType}`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', connection: 'close' },
        body: JSON.stringify({ ...resource, id: undefined }),
      });
      expect(res.status).toBe(201);
      return (await res.json()) as Resource;
    };
    const client = await post(example('Patient-maija.json'));
    const org = await post(example('Organization-helsinki-sote.json'));
    const consent = example('Consent-maija-consent.json') as Consent;
    const actor = consent.provision!.actor![0]!;
    const values: string[] = [];
    for (let i = 0; i < 2; i++) {
      const value = `urn:uuid:${randomUUID()}`;
      values.push(value);
      await post({
        ...consent,
        identifier: [{ system: 'urn:ietf:rfc:3986', value }],
        patient: { reference: `Patient/${client.id}` },
        organization: [{ reference: `Organization/${org.id}` }],
        provision: {
          ...consent.provision,
          actor: [
            {
              ...actor,
              reference: { reference: `Organization/${org.id}` },
              extension: [
                {
                  url: 'https://tyokyky-fhir.org/fhir/StructureDefinition/consent-receiving-party',
                  valueCodeableConcept: {
                    coding: [
                      {
                        system: 'https://tyokyky-fhir.org/fhir/CodeSystem/consent-party',
                        code: 'other-health-care',
                      },
                    ],
                  },
                },
              ],
            },
          ],
          code: [
            {
              coding: [
                {
                  system: 'https://tyokyky-fhir.org/fhir/CodeSystem/consent-data-class',
                  code: 'identification',
                },
              ],
            },
          ],
        },
      } as Consent);
    }
    for (const value of values) {
      const onRemote = async () => {
        const found = await fetch(
          `${remote.url}/Consent?identifier=urn:ietf:rfc:3986|${value}&_total=accurate`,
        );
        return ((await found.json()) as Bundle).total ?? 0;
      };
      const deadline = Date.now() + 30_000;
      let total = await onRemote();
      while (total === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        total = await onRemote();
      }
      expect(total).toBe(1);
    }
  }, 70_000);

  it('replaces a worker that dies under load, and stops all on SIGTERM with exit code 0', async () => {
    const [first] = listening(pool.logs());
    // A worker younger than the start grace (10 s) counts as failing to start; wait out what is left
    // of it (the tests above have usually used it up).
    await new Promise((r) => setTimeout(r, Math.max(0, 10_500 - (Date.now() - listeningAt))));
    process.kill(first.pid, 'SIGKILL');
    await until('a replacement', () => listening(pool.logs()).length === 3);
    const replacement = listening(pool.logs())[2];
    expect(replacement.worker).toBe(first.worker);
    expect(replacement.pid).not.toBe(first.pid);
    expect(pool.logs()).toMatch(/"signal":"SIGKILL".*"msg":"facade worker exited"/);
    const res = await fetch(`${pool.url}/metadata`);
    expect(res.status).toBe(200);

    pool.child.kill('SIGTERM');
    expect(await pool.exited).toBe(0);
    expect(pool.logs()).toMatch(/all facade workers stopped/);
    for (const { pid } of listening(pool.logs()).slice(1)) {
      expect(() => process.kill(pid, 0)).toThrow();
    }
  }, 60_000);
});
