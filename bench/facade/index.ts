// Facade benchmark: validated create, read by id and search by patient on PGlite and PostgreSQL,
// against two floors measured in the same run (Express→pg INSERT without validation; Express echo),
// interleaved: every round measures each floor right before the scenario it is compared with.
//   npx tsx bench/facade/index.ts
// Env: FACADE_BENCH_RESOURCES (default 100000 seeded Observations), FACADE_BENCH_SECONDS (10 per
// scenario), FACADE_BENCH_CONNECTIONS (50), FACADE_BENCH_ENGINES (pglite,postgres),
// FACADE_BENCH_ROUNDS (3), TYOKYKY_PG_URL.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';

const RESOURCES = Number(process.env.FACADE_BENCH_RESOURCES ?? 100_000);
const SECONDS = Number(process.env.FACADE_BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.FACADE_BENCH_CONNECTIONS ?? 50);
const ENGINES = (process.env.FACADE_BENCH_ENGINES ?? 'pglite,postgres').split(',');
const ROUNDS = Number(process.env.FACADE_BENCH_ROUNDS ?? 3);
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

function observationBody(): string {
  const example = JSON.parse(
    readFileSync(
      new URL('../../profiles/package/example/Observation-maija-work-ability-score.json', import.meta.url),
      'utf8',
    ),
  );
  const { id: _id, ...body } = example;
  return JSON.stringify({ ...body, subject: { reference: 'Patient/bench-pat-1' } });
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

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

type Req = { method: 'GET' | 'POST'; path: () => string; body?: string; expect: number };

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
          body: req.body,
          setupRequest: (r) => ({ ...r, path: req.path() }),
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
  console.log(
    `${name.padEnd(34)} ${m.rps.toFixed(0).padStart(7)} req/s  p50 ${String(m.p50).padStart(4)} ms  p99 ${String(m.p99).padStart(4)} ms  RSS ${m.rssMb.toFixed(0)} MB${m.non2xx || m.errors ? `  (non-2xx ${m.non2xx}, errors ${m.errors})` : ''}`,
  );
  return m;
}

async function resetDatabase(): Promise<void> {
  const admin = new pg.Client({ connectionString: `${PG_SERVER}/postgres` });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB}`);
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
  const body = observationBody();
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
          keep(
            await measure(`${engine}: validated create`, url, pid, {
              method: 'POST',
              path: () => '/fhir/Observation',
              body,
              expect: 201,
            }),
          );
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
      }
      report(engine, rounds);
    }
  } finally {
    await stopChild(insertFloor.child);
    await stopChild(echoFloor.child);
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
  const line = (label: string, m: Measured) =>
    `  ${label.padEnd(32)} ${m.rps.toFixed(0).padStart(6)} req/s  p50 ${m.p50} ms  p99 ${m.p99} ms  RSS ${m.rssMb.toFixed(0)} MB`;
  console.log(`\n${engine}, median rounds:`);
  console.log(line('floor: Express→pg INSERT', medianRound(insertFloor)));
  console.log(line('validated create', medianRound(create)));
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
