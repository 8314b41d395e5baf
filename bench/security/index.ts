// Security benchmark: read by id, search by patient and validated create, each on the facade with
// bearer-token authentication, scope checks and audit rows (`secured`) against the same facade with
// no security layer (`plain`: the same app, HTTP server settings, store engine and seed), in the same
// run, interleaved per round (plain first in odd rounds, secured first in even ones), each warmed up
// before it is measured. Besides requests per second it reports the CPU time each request cost the
// server: its own process plus, on PostgreSQL, the backends serving its database — on a shared
// machine that figure moves far less with other load than throughput does.
//   npx tsx bench/security/index.ts       (or npm run bench -- security)
// Env: SECURITY_BENCH_RESOURCES (20000 seeded Observations), SECURITY_BENCH_SECONDS (8),
// SECURITY_BENCH_WARMUP (2 s before each measurement), SECURITY_BENCH_CONNECTIONS (50), SECURITY_BENCH_ROUNDS (3), SECURITY_BENCH_ENGINES (pglite),
// SECURITY_BENCH_SCENARIOS (read,search,create), SECURITY_BENCH_PROFILE (a directory: V8 CPU profiles
// of both servers' serving phase), TYOKYKY_PG_URL.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { createBodies } from '../facade/seed.ts';

const RESOURCES = Number(process.env.SECURITY_BENCH_RESOURCES ?? 20_000);
const SECONDS = Number(process.env.SECURITY_BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.SECURITY_BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.SECURITY_BENCH_ROUNDS ?? 3);
const WARMUP = Number(process.env.SECURITY_BENCH_WARMUP ?? 2);
const ENGINES = (process.env.SECURITY_BENCH_ENGINES ?? 'pglite').split(',');
const SCENARIOS = (process.env.SECURITY_BENCH_SCENARIOS ?? 'read,search,create').split(',');
const PG_SERVER = process.env.TYOKYKY_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Server {
  child: ChildProcess;
  origin: string;
  token?: string;
  pid: number;
  /** PostgreSQL database name (its backends' CPU counts as the server's). */
  db?: string;
}

/** CPU seconds (user + system) a process has used so far, from /proc (0 where there is none). */
function cpuSeconds(pid: number): number {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return 0;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const text = readFileSync(stat, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0; // the process ended between the check and the read
  }
}

/** The server process and the PostgreSQL backends of its database. */
async function serverPids(s: Server): Promise<number[]> {
  if (!s.db) return [s.pid];
  const admin = new pg.Client({ connectionString: `${PG_SERVER}/postgres` });
  await admin.connect();
  try {
    const r = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [
      s.db,
    ]);
    return [s.pid, ...r.rows.map((row) => row.pid)];
  } finally {
    await admin.end();
  }
}

async function start(kind: string, engine: string): Promise<Server> {
  const db = `tyokyky_bench_security_${kind}`;
  if (engine === 'postgres') {
    const admin = new pg.Client({ connectionString: `${PG_SERVER}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${db}`);
    await admin.end();
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/security/server.ts', kind, engine], {
    cwd: ROOT,
    env: {
      ...process.env,
      SECURITY_BENCH_PG_URL: `${PG_SERVER}/${db}`,
      SECURITY_BENCH_RESOURCES: String(RESOURCES),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let server: Server | undefined;
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      // A fresh access token (the server prints one every two minutes): used from the next measurement.
      for (const t of out.matchAll(/TOKEN (\S+)\n/g)) if (server) server.token = t[1] as string;
      if (server) {
        out = out.slice(out.lastIndexOf('\n') + 1);
        return;
      }
      const m = /READY (\S+) (\S+) (\d+)/.exec(out);
      if (m) {
        server = {
          child,
          origin: m[1] as string,
          pid: Number(m[3]),
          ...(m[2] !== '-' ? { token: m[2] } : {}),
          ...(engine === 'postgres' ? { db } : {}),
        };
        resolve(server);
      }
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

/** Stops the server and drops its database: a bench leaves nothing behind on the machine. */
async function stop(s: Server): Promise<void> {
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await exited;
  if (!s.db) return;
  const admin = new pg.Client({ connectionString: `${PG_SERVER}/postgres` });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${s.db} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

const rand = (n: number) => 1 + Math.floor(Math.random() * n);

type Scenario = { name: string; method: 'GET' | 'POST'; path: () => string; body?: () => string };

interface Measured {
  rps: number;
  p99: number;
  non2xx: number;
  /** Server CPU per answered request, µs. */
  cpu: number;
}

async function measure(s: Server, sc: Scenario): Promise<Measured> {
  const run = (duration: number, connections: number) =>
    autocannon({
      url: s.origin,
      connections,
      duration,
      requests: [
        {
          method: sc.method,
          headers: {
            'content-type': 'application/fhir+json',
            ...(s.token ? { authorization: `Bearer ${s.token}` } : {}),
          },
          setupRequest: (r) => ({ ...r, path: sc.path(), ...(sc.body ? { body: sc.body() } : {}) }),
        },
      ],
    });
  await run(WARMUP, 10);
  const pids = await serverPids(s);
  const before = pids.map(cpuSeconds);
  const r = await run(SECONDS, CONNECTIONS);
  const used = pids.reduce((sum, pid, i) => sum + cpuSeconds(pid) - (before[i] as number), 0);
  return {
    rps: r.requests.average,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    cpu: (used * 1e6) / Math.max(1, r.requests.total),
  };
}

export default async function run(): Promise<void> {
  const patients = Math.max(1, Math.floor(RESOURCES / 100));
  const all: Scenario[] = [
    { name: 'read', method: 'GET', path: () => `/fhir/Observation/bench-obs-${rand(RESOURCES)}` },
    {
      name: 'search',
      method: 'GET',
      path: () => `/fhir/Observation?patient=Patient/bench-pat-${rand(patients) - 1}&_count=10`,
    },
    {
      name: 'create',
      method: 'POST',
      path: () => '/fhir/Observation',
      body: createBodies(),
    },
  ];
  const scenarios = all.filter((sc) => SCENARIOS.includes(sc.name));
  console.log(
    `security bench: ${RESOURCES} Observations, ${CONNECTIONS} connections, ${SECONDS} s per scenario, ${ROUNDS} rounds`,
  );
  for (const engine of ENGINES) await runEngine(engine, scenarios);
}

const KINDS = ['plain', 'open', 'secured'] as const;
type Kind = (typeof KINDS)[number];
type Series = Record<Kind, Measured[]>;

/** Every scenario on the three servers, rounds rotating which server goes first. */
async function runEngine(engine: string, scenarios: Scenario[]): Promise<void> {
  const servers = [] as Server[];
  for (const kind of KINDS) servers.push(await start(kind, engine));
  const results = new Map<string, Series>();
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const sc of scenarios) {
        const entry = results.get(sc.name) ?? { plain: [], open: [], secured: [] };
        for (let k = 0; k < KINDS.length; k++) {
          const i = (k + round) % KINDS.length;
          entry[KINDS[i] as Kind].push(await measure(servers[i] as Server, sc));
        }
        results.set(sc.name, entry);
        const line = KINDS.map((kind) => {
          const m = entry[kind][round - 1] as Measured;
          return `${kind} ${m.rps.toFixed(0).padStart(6)} req/s (p99 ${m.p99} ms, ${m.cpu.toFixed(0)} µs CPU/req${m.non2xx ? `, non-2xx ${m.non2xx}` : ''})`;
        });
        console.log(`${engine} round ${round} ${sc.name.padEnd(7)} ${line.join('  ')}`);
      }
    }
  } finally {
    for (const s of servers) await stop(s);
  }
  printMedians(engine, results);
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;

function printMedians(engine: string, results: Map<string, Series>): void {
  console.log(
    `\n${engine}: median of ${ROUNDS} rounds (target secured ≥ 0.85× without auth; "plain" is the app with no security layer at all, "open" the same server as "secured" with auth off)`,
  );
  console.log(
    '| interaction | plain req/s | open req/s | secured req/s | secured / plain | secured / open | µs CPU/req plain / open / secured | median of round ratios secured/plain, secured/open (req/s) |\n| --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const [name, r] of results) {
    const rps = (kind: Kind) => median(r[kind].map((m) => m.rps));
    const cpu = (kind: Kind) => median(r[kind].map((m) => m.cpu)).toFixed(0);
    const roundRatio = (peer: Kind) =>
      median(r.secured.map((m, i) => m.rps / (r[peer][i] as Measured).rps)).toFixed(2);
    console.log(
      `| ${name} | ${rps('plain').toFixed(0)} | ${rps('open').toFixed(0)} | ${rps('secured').toFixed(0)} | ${(rps('secured') / rps('plain')).toFixed(2)}× | ${(rps('secured') / rps('open')).toFixed(2)}× | ${cpu('plain')} / ${cpu('open')} / ${cpu('secured')} | ${roundRatio('plain')}×, ${roundRatio('open')}× |`,
    );
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await run();
