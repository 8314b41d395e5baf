// `tyokyky serve --workers N`: a pool of facade processes on one port and one PostgreSQL database.
import { randomUUID } from 'node:crypto';
import { Agent, get as httpGet } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import type { Bundle, Consent, Practitioner, Resource } from '@medplum/fhirtypes';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, dropDatabase, freshDatabase } from '../helpers/databases.ts';
import { type FacadeHere, startFacadeHere } from '../helpers/facade.ts';
import { type ServeProcess, run, startServe } from '../helpers/processes.ts';
import { practitioner } from './helpers.ts';
import { example } from './personas.ts';

let remote: FacadeHere; // the Kanta-style store the pool syncs to (in this process)
let pool: ServeProcess;
let databaseUrl = '';
let remoteDb = '';

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
      // Without the timeout the workers would wait on the silent socket past this test's own bound.
      const hung = await run(
        ['serve', '--workers', '2', '--port', '0', '--database-url', `postgres://127.0.0.1:${port}/x`],
        { PGCONNECT_TIMEOUT: '1' },
      );
      expect(hung.code).toBe(1);
      expect(hung.out).toMatch(/PostgreSQL at 127\.0\.0\.1:\d+ did not answer \(timeout\)/);
      expect(hung.out).toMatch(/facade worker failed while starting/);
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

  it("/metrics answers with the whole pool's counts, whichever worker serves the scrape", async () => {
    const from = pool.logs().length;
    const path = `/fhir/Practitioner/${randomUUID()}`; // a 404: no other test reads it
    const origin = pool.url.replace(/\/fhir$/, '');
    /** GET /fhir/Practitioner/:id answered 404, as the scrape counts it. */
    const scrape = async () => {
      const res = await fetch(`${origin}/metrics`, { headers: { connection: 'close' } });
      expect(res.status).toBe(200);
      const text = await res.text();
      const series = 'http_requests_total{method="GET",route="/fhir/:type/:id",status="404"} ';
      const line = text.split('\n').find((l) => l.startsWith(series));
      return line ? Number(line.slice(series.length)) : 0; // a scrape without the series counts none
    };
    // Uneven: one keep-alive connection (one worker) takes most, a closed one goes to the next.
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        httpGet(`${origin}${path}`, { agent: keepAlive, headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        }).on('error', reject);
      });
    const seen: number[] = [];
    let sent = 0;
    for (const round of [5, 3]) {
      for (let i = 0; i < round; i++) expect(await get({})).toBe(404);
      expect(await get({ connection: 'close' })).toBe(404);
      sent += round + 1;
      seen.push(await scrape(), await scrape());
      expect(seen.slice(-2)).toEqual([sent, sent]);
    }
    keepAlive.destroy();
    expect(seen).toEqual([6, 6, 10, 10]);
    // The sync's series too: counters summed over the pool (worker 1 pushes), the outbox gauge read
    // from the shared database by each worker (the pool shows one reading, not their sum).
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    const [{ done }] = (
      await db.query<{ done: number }>("SELECT count(*)::int AS done FROM sync_outbox WHERE state = 'done'")
    ).rows;
    await db.end();
    expect(done).toBeGreaterThan(0);
    for (let i = 0; i < 2; i++) {
      const text = await (await fetch(`${origin}/metrics`, { headers: { connection: 'close' } })).text();
      const lines = text.split('\n');
      expect(lines).toContain(`tyokyky_sync_outbox_rows{state="done"} ${done}`);
      const pushed = lines
        .filter((l) => l.startsWith('tyokyky_sync_pushed_total{') && l.includes('result="done"'))
        .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
      expect(pushed).toBe(done);
    }
    await new Promise((r) => setTimeout(r, 200));
    const scrapedBy = new Set(
      pool
        .logs()
        .slice(from)
        .split('\n')
        .filter((l) => l.includes('"route":"/metrics"'))
        .map((l) => (JSON.parse(l) as { pid: number }).pid),
    );
    expect(scrapedBy.size).toBe(2);
  });

  it('keeps serving while a replacement cannot reach the database, and fills the slot once it can', async () => {
    const one = listening(pool.logs()).find((w) => w.worker === 1) as { pid: number; worker: number };
    const other = listening(pool.logs()).find((w) => w.worker === 2) as { pid: number; worker: number };
    const database = new URL(databaseUrl).pathname.slice(1);
    const healthz = `${pool.url.replace(/\/fhir$/, '')}/healthz`;
    const health = () =>
      fetch(healthz, { headers: { connection: 'close' } }).then(
        (res) => res.status,
        (err: Error) => String((err.cause as { code?: string })?.code),
      );
    // Both workers use a connection now: an idle one stays open for 10 s, and no new one will be let in.
    expect(await Promise.all([health(), health(), health(), health()])).toEqual([200, 200, 200, 200]);
    const admin = new pg.Client({ connectionString: `${PG_URL}/postgres` });
    await admin.connect();
    const statuses: Array<number | string> = [];
    let polling = true;
    let poll: Promise<void> | undefined;
    try {
      await admin.query(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS false`);
      process.kill(one.pid, 'SIGKILL');
      await until('the worker exiting', () => pool.logs().includes(`"pid":${one.pid},"code":null`));
      // From here on only the other worker takes connections; /healthz pings the database each time,
      // which also keeps that worker's connection from idling out.
      poll = (async () => {
        while (polling) {
          statuses.push(await health());
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      await until('the replacement failing to start', () =>
        /"worker":1,.*"msg":"facade worker failed while starting/.test(pool.logs()),
      );
      expect(pool.child.exitCode).toBe(null);
      expect(pool.logs()).toMatch(
        /"worker":1,"retryInMs":1000,.*"msg":"facade worker failed while starting; starting it again"/,
      );
      await admin.query(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS true`);
      await until('a replacement', () => listening(pool.logs()).length === 3);
    } finally {
      polling = false;
      await poll;
      await admin.query(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    expect(statuses.length).toBeGreaterThan(10);
    expect(new Set(statuses)).toEqual(new Set([200]));
    const replacement = listening(pool.logs())[2];
    expect(replacement.worker).toBe(1);
    expect([one.pid, other.pid]).not.toContain(replacement.pid);
    expect(pool.logs()).toMatch(/"signal":"SIGKILL".*"msg":"facade worker exited"/);
    // Both slots answer again: new connections are dealt out in turn.
    const from = pool.logs().length;
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${pool.url}/metadata`, { headers: { connection: 'close' } });
      expect(res.status).toBe(200);
    }
    await new Promise((r) => setTimeout(r, 200));
    const servedBy = new Set(
      pool
        .logs()
        .slice(from)
        .split('\n')
        .filter((l) => l.includes('"request completed"'))
        .map((l) => (JSON.parse(l) as { pid: number }).pid),
    );
    expect(servedBy).toEqual(new Set([other.pid, replacement.pid]));
  }, 90_000);

  it("keeps one rate limit for the pool, not one per worker (the counts are the primary's)", async () => {
    const secured = await startServe([
      '--workers',
      '2',
      '--database-url',
      databaseUrl,
      '--auth',
      'embedded',
      '--rate-limit',
      '5',
    ]);
    try {
      await until('both secured workers', () => listening(secured.logs()).length === 2);
      const statuses: number[] = [];
      // A new connection each time, so the primary deals the requests out to both workers.
      for (let i = 0; i < 12; i++) {
        const res = await fetch(`${secured.url}/Practitioner`, {
          headers: { authorization: 'Bearer not-a-token', connection: 'close' },
        });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([...Array(5).fill(401), ...Array(7).fill(429)]);
    } finally {
      await secured.stop();
    }
  }, 120_000);

  it('stops all on SIGTERM with exit code 0', async () => {
    pool.child.kill('SIGTERM');
    expect(await pool.exited).toBe(0);
    expect(pool.logs()).toMatch(/all facade workers stopped/);
    for (const { pid } of listening(pool.logs())) {
      expect(() => process.kill(pid, 0)).toThrow();
    }
  }, 60_000);
});
