// Facade benchmark: validated create, read by id and search by patient on PGlite and PostgreSQL,
// against two floors measured in the same run (Express→pg INSERT without validation; Express echo),
// interleaved: every round measures each floor right before the scenario it is compared with.
//   npx tsx bench/facade/index.ts
// Env: FACADE_BENCH_RESOURCES (default 100000 seeded Observations), FACADE_BENCH_SECONDS (10 per
// scenario), FACADE_BENCH_CONNECTIONS (50), FACADE_BENCH_ENGINES (pglite,postgres),
// FACADE_BENCH_ROUNDS (3), FACADE_BENCH_WORKERS (2: also measures creates on `tyokyky serve --workers 2`
// on PostgreSQL, for information; 1 skips it), TYOKYKY_PG_URL.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { createBodies } from './seed.ts';

const RESOURCES = Number(process.env.FACADE_BENCH_RESOURCES ?? 100_000);
const SECONDS = Number(process.env.FACADE_BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.FACADE_BENCH_CONNECTIONS ?? 50);
const ENGINES = (process.env.FACADE_BENCH_ENGINES ?? 'pglite,postgres').split(',');
const ROUNDS = Number(process.env.FACADE_BENCH_ROUNDS ?? 3);
const WORKERS = Number(process.env.FACADE_BENCH_WORKERS ?? 2);
const PG_SERVER = process.env.TYOKYKY_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const DB = 'tyokyky_bench_facade';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Measured {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  rssMb: number;
}

async function startChild(kind: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/facade/server.ts', kind], {
    cwd: ROOT,
    env: { ...process.env, FACADE_BENCH_PG_URL: `${PG_SERVER}/${DB}` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /READY (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`${kind} exited with ${code}`)));
  });
  return { child, url };
}

async function stopChild(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** RSS of a process and its child processes (the workers of a pool), in MB. */
function rssMb(pid: number): number {
  const own = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  const childrenFile = `/proc/${pid}/task/${pid}/children`;
  const children = existsSync(childrenFile)
    ? readFileSync(childrenFile, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
    : [];
  return own + children.reduce((sum, child) => sum + rssMb(child), 0);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** `tyokyky serve --workers N` on the bench database, as a user would run it (request logs off). */
async function startWorkerPool(workers: number): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      'bin/tyokyky.js',
      'serve',
      '--workers',
      String(workers),
      '--port',
      String(port),
      '--rate-limit',
      '10000000', // one load generator is one client; see server.ts
    ].concat(['--host', '127.0.0.1', '--database-url', `${PG_SERVER}/${DB}`]),
    // `error`: at the end of each run the load generator drops its connections, and a warning per
    // aborted request would bury the bench's own lines.
    { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'error' }, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}`;
  for (const end = Date.now() + 120_000; Date.now() < end; ) {
    if (child.exitCode !== null) throw new Error(`worker pool exited with ${child.exitCode}`);
    const up = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return { child, url };
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('worker pool did not start');
}

type Req = { method: 'GET' | 'POST'; path: () => string; body?: () => string; expect: number };

async function measure(name: string, url: string, pid: number, req: Req): Promise<Measured> {
  const run = (duration: number, connections: number) =>
    autocannon({
      url,
      connections,
      duration,
      requests: [
        {
          method: req.method,
          headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
          setupRequest: (r) => ({ ...r, path: req.path(), ...(req.body ? { body: req.body() } : {}) }),
        },
      ],
    });
  await run(Math.min(2, SECONDS), 10); // warm-up: JIT, pools, caches
  const r = await run(SECONDS, CONNECTIONS);
  const m: Measured = {
    name,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    rssMb: rssMb(pid),
  };
  if (m.non2xx || m.errors) {
    console.log(
      `✘ ${name}: ${m.non2xx} non-2xx answers and ${m.errors} errors — this figure measures failures`,
    );
  }
  console.log(
    `${name.padEnd(34)} ${m.rps.toFixed(0).padStart(7)} req/s  p50 ${String(m.p50).padStart(4)} ms  p99 ${String(m.p99).padStart(4)} ms  RSS ${m.rssMb.toFixed(0)} MB${m.non2xx || m.errors ? `  (non-2xx ${m.non2xx}, errors ${m.errors})` : ''}`,
  );
  return m;
}

/** A fresh bench database (`create`), or none left behind (`drop`, when the bench ends). */
async function resetDatabase(then: 'create' | 'drop' = 'create'): Promise<void> {
  const admin = new pg.Client({ connectionString: `${PG_SERVER}/postgres` });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  if (then === 'create') await admin.query(`CREATE DATABASE ${DB}`);
  await admin.end();
}

const rand = (n: number) => 1 + Math.floor(Math.random() * n);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The median round of a scenario (by req/s), so one disturbed round does not decide the figure. */
function medianRound(rounds: Measured[]): Measured {
  const mid = median(rounds.map((r) => r.rps));
  return rounds.find((r) => r.rps === mid) as Measured;
}

export default async function run(): Promise<void> {
  const body = createBodies();
  const patients = Math.max(1, Math.floor(RESOURCES / 100));
  console.log(
    `facade bench: ${RESOURCES} Observations over ${patients} patients, ${CONNECTIONS} connections, ${SECONDS} s per scenario, ${ROUNDS} rounds`,
  );
  console.log(
    'Each round measures a floor right before the scenario compared with it, so drift of this shared machine hits both alike; figures are the median round.',
  );
  await resetDatabase();
  // The floors run beside the facade under test (idle while not measured).
  const insertFloor = await startChild('floor-insert');
  const echoFloor = await startChild('floor-echo');
  const insertReq: Req = { method: 'POST', path: () => '/fhir/Observation', body, expect: 201 };
  const echoReq: Req = { method: 'GET', path: () => `/fhir/Observation/${rand(RESOURCES)}`, expect: 200 };
  try {
    for (const engine of ENGINES) {
      const { child, url } = await startChild(`facade-${engine}`);
      const pool = engine === 'postgres' && WORKERS > 1 ? await startWorkerPool(WORKERS) : undefined;
      const rounds = new Map<string, Measured[]>();
      const keep = (m: Measured) => rounds.set(m.name, [...(rounds.get(m.name) ?? []), m]);
      try {
        const pid = child.pid as number;
        for (let round = 1; round <= ROUNDS; round++) {
          console.log(`${engine}, round ${round} of ${ROUNDS}`);
          keep(
            await measure(
              'floor: Express→pg INSERT',
              insertFloor.url,
              insertFloor.child.pid as number,
              insertReq,
            ),
          );
          const createReq: Req = { method: 'POST', path: () => '/fhir/Observation', body, expect: 201 };
          keep(await measure(`${engine}: validated create`, url, pid, createReq));
          if (pool) {
            keep(
              await measure(
                `${engine}, ${WORKERS} workers: validated create`,
                pool.url,
                pool.child.pid as number,
                createReq,
              ),
            );
          }
          keep(
            await measure('floor: Express JSON echo', echoFloor.url, echoFloor.child.pid as number, echoReq),
          );
          keep(
            await measure(`${engine}: read by id`, url, pid, {
              method: 'GET',
              path: () => `/fhir/Observation/bench-obs-${rand(RESOURCES)}`,
              expect: 200,
            }),
          );
          keep(
            await measure(`${engine}: search by patient`, url, pid, {
              method: 'GET',
              path: () => `/fhir/Observation?patient=Patient/bench-pat-${rand(patients) - 1}`,
              expect: 200,
            }),
          );
        }
      } finally {
        await stopChild(child);
        if (pool) await stopChild(pool.child);
      }
      report(engine, rounds);
    }
  } finally {
    await stopChild(insertFloor.child);
    await stopChild(echoFloor.child);
    await resetDatabase('drop');
  }
}

function report(engine: string, rounds: Map<string, Measured[]>): void {
  const get = (name: string) => rounds.get(name) ?? [];
  const ratios = (ours: Measured[], floor: Measured[]) => ours.map((m, i) => m.rps / floor[i].rps);
  const create = get(`${engine}: validated create`);
  const read = get(`${engine}: read by id`);
  const search = get(`${engine}: search by patient`);
  const insertFloor = get('floor: Express→pg INSERT');
  const echoFloor = get('floor: Express JSON echo');
  const pooled = get(`${engine}, ${WORKERS} workers: validated create`);
  const line = (label: string, m: Measured) =>
    `  ${label.padEnd(32)} ${m.rps.toFixed(0).padStart(6)} req/s  p50 ${m.p50} ms  p99 ${m.p99} ms  RSS ${m.rssMb.toFixed(0)} MB`;
  console.log(`\n${engine}, median rounds:`);
  console.log(line('floor: Express→pg INSERT', medianRound(insertFloor)));
  console.log(line('validated create', medianRound(create)));
  if (pooled.length) console.log(line(`validated create, ${WORKERS} workers`, medianRound(pooled)));
  console.log(line('floor: Express JSON echo', medianRound(echoFloor)));
  console.log(line('read by id', medianRound(read)));
  console.log(line('search by patient', medianRound(search)));
  const createRatios = ratios(create, insertFloor);
  const readRatios = ratios(read, echoFloor);
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
  console.log(
    `  validated create / insert floor: median ${median(createRatios).toFixed(2)} (rounds ${fmt(createRatios)}); target ≥ 0.70 on postgres`,
  );
  console.log(
    `  validated create p99: median ${median(create.map((m) => m.p99))} ms (rounds ${create.map((m) => m.p99).join(', ')}); target ≤ 50 ms on postgres`,
  );
  if (pooled.length) {
    const pooledRatios = ratios(pooled, insertFloor);
    console.log(
      `  ${WORKERS} workers (tyokyky serve --workers ${WORKERS}), validated create / one-process insert floor: median ${median(pooledRatios).toFixed(2)} (rounds ${fmt(pooledRatios)}), p99 median ${median(pooled.map((m) => m.p99))} ms; for information, not a target`,
    );
  }
  console.log(
    `  read by id / echo floor: median ${median(readRatios).toFixed(2)} (rounds ${fmt(readRatios)}); target ≥ 0.70 on postgres`,
  );
  console.log(
    `  search by patient at ${RESOURCES} stored: median ${median(search.map((m) => m.rps)).toFixed(0)} req/s, p99 median ${median(search.map((m) => m.p99))} ms (target ≥ 1000 req/s, p99 ≤ 100 ms on postgres)`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run();
}
