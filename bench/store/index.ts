// Measures the store against raw SQL floors on the same database, in the same run:
//   npx tsx bench/store/index.ts [pglite|postgres|both]   (N=100000 resources by default)
// Not a test: numbers are printed, never asserted. STORE_PERF_N overrides the resource count.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Observation } from '@medplum/fhirtypes';
import pg from 'pg';
import { type Store, openStore } from '../../src/store/index.ts';

const N = Number(process.env.STORE_PERF_N ?? 100_000);
const PATIENTS = Math.max(1, Math.floor(N / 100));
const server = (process.env.TYOKYKY_PG_URL ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB = 'tyokyky_store_perf';

function obs(patient: number): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    identifier: [{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${randomUUID()}` }],
    code: { coding: [{ system: 'http://loinc.org', code: '89575-4' }] },
    category: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'survey' }] },
    ],
    subject: { reference: `Patient/p${patient}` },
    effectiveDateTime: new Date(Date.UTC(2024, 0, 1) + patient * 3_600_000).toISOString(),
    valueInteger: patient % 11,
  };
}

interface Timing {
  perSec: number;
  p50: number;
  p99: number;
}

/** Runs `fn` `total` times with `concurrency` in flight; returns throughput and latency percentiles (ms). */
async function measure(
  total: number,
  concurrency: number,
  fn: (i: number) => Promise<unknown>,
): Promise<Timing> {
  const lat: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const t = performance.now();
        await fn(i);
        lat.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  return {
    perSec: total / elapsed,
    p50: lat[Math.floor(lat.length * 0.5)],
    p99: lat[Math.floor(lat.length * 0.99)],
  };
}

const fmt = (t: Timing) =>
  `${t.perSec.toFixed(0).padStart(6)}/s  p50 ${t.p50.toFixed(2)} ms  p99 ${t.p99.toFixed(2)} ms`;

async function load(store: Store, concurrency: number): Promise<void> {
  const batch = 500;
  const t = performance.now();
  await measure(Math.ceil(N / batch), concurrency, async (b) => {
    await store.transaction(async (tx) => {
      for (let i = b * batch; i < Math.min(N, (b + 1) * batch); i++) await tx.create(obs(i % PATIENTS));
    });
  });
  await store.query('ANALYZE');
  console.log(`  loaded ${N} Observations in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

async function run(store: Store, concurrency: number): Promise<void> {
  await load(store, concurrency);
  const [one] = await store.query<{ id: string }>(
    `SELECT id FROM resources WHERE resource_type = 'Observation' LIMIT 1`,
  );
  const q = 2000;
  const rawRead = await measure(q, concurrency, () =>
    store.query(`SELECT content FROM resources WHERE resource_type = 'Observation' AND id = $1`, [one.id]),
  );
  const read = await measure(q, concurrency, () => store.read('Observation', one.id));
  const rawSearch = await measure(q, concurrency, (i) =>
    store.query(
      `SELECT content FROM search_token t JOIN resources r USING (resource_type, id)
        WHERE t.resource_type = 'Observation' AND t.param = 'patient' AND t.system = 'Patient' AND t.value = $1
        LIMIT 20`,
      [`p${i % PATIENTS}`],
    ),
  );
  const search = await measure(q, concurrency, (i) =>
    store.search('Observation', { patient: `p${i % PATIENTS}` }),
  );
  const searchTotal = await measure(q, concurrency, (i) =>
    store.search('Observation', { patient: `p${i % PATIENTS}`, date: 'ge2024-01-01', _total: 'accurate' }),
  );
  const rawInsert = await measure(q, concurrency, (i) =>
    store.query(
      `INSERT INTO resources (resource_type, id, version_id, last_updated, content) VALUES ('Floor', $1, 1, now(), $2::jsonb)`,
      [randomUUID(), JSON.stringify(obs(i))],
    ),
  );
  const create = await measure(q, concurrency, (i) => store.create(obs(i % PATIENTS)));
  console.log(
    `  read by id         ${fmt(read)}   (${(read.perSec / rawRead.perSec).toFixed(2)} × raw PK SELECT: ${fmt(rawRead)})`,
  );
  console.log(
    `  search patient     ${fmt(search)}   (${(search.perSec / rawSearch.perSec).toFixed(2)} × raw token JOIN: ${fmt(rawSearch)})`,
  );
  console.log(`  search +date+total ${fmt(searchTotal)}`);
  console.log(
    `  create             ${fmt(create)}   (${(create.perSec / rawInsert.perSec).toFixed(2)} × raw INSERT: ${fmt(rawInsert)})`,
  );
}

export default async function main(which = 'both'): Promise<void> {
  if (which === 'pglite' || which === 'both') {
    const dir = mkdtempSync(join(tmpdir(), 'tyokyky-store-perf-'));
    const store = await openStore({ dataDir: dir });
    console.log(`PGlite (${dir}), 1 in flight`);
    try {
      await run(store, 1);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (which === 'postgres' || which === 'both') {
    const admin = new pg.Client({ connectionString: `${server}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DB}`);
    const store = await openStore({ databaseUrl: `${server}/${DB}`, poolMax: 8 });
    console.log('PostgreSQL, 8 in flight');
    try {
      await run(store, 8);
    } finally {
      await store.close();
      if (!process.env.STORE_PERF_KEEP) await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
      await admin.end();
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv[2] ?? 'both');
}
