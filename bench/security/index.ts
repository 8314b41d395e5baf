// Security benchmark: read by id, search by patient and validated create, each on the facade with
// bearer-token authentication, scope checks and audit rows (`secured`) against the same facade with
// no security layer (`plain`), in the same run, interleaved per round.
//   npx tsx bench/security/index.ts       (or npm run bench -- security)
// Env: SECURITY_BENCH_RESOURCES (20000 seeded Observations), SECURITY_BENCH_SECONDS (8),
// SECURITY_BENCH_CONNECTIONS (50), SECURITY_BENCH_ROUNDS (3), SECURITY_BENCH_ENGINES (pglite),
// TYOKYKY_PG_URL.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';

const RESOURCES = Number(process.env.SECURITY_BENCH_RESOURCES ?? 20_000);
const SECONDS = Number(process.env.SECURITY_BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.SECURITY_BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.SECURITY_BENCH_ROUNDS ?? 3);
const ENGINES = (process.env.SECURITY_BENCH_ENGINES ?? 'pglite').split(',');
const PG_SERVER = process.env.TYOKYKY_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Server {
  child: ChildProcess;
  origin: string;
  token?: string;
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
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /READY (\S+) (\S+)/.exec(out);
      if (m) resolve({ child, origin: m[1] as string, ...(m[2] !== '-' ? { token: m[2] } : {}) });
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

async function stop(s: Server): Promise<void> {
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await exited;
}

const rand = (n: number) => 1 + Math.floor(Math.random() * n);

type Scenario = { name: string; method: 'GET' | 'POST'; path: () => string; body?: string };

async function measure(s: Server, sc: Scenario): Promise<{ rps: number; p99: number; non2xx: number }> {
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
          body: sc.body,
          setupRequest: (r) => ({ ...r, path: sc.path() }),
        },
      ],
    });
  await run(2, 10);
  const r = await run(SECONDS, CONNECTIONS);
  return { rps: r.requests.average, p99: r.latency.p99, non2xx: r.non2xx };
}

export default async function run(): Promise<void> {
  const example = JSON.parse(
    readFileSync(
      new URL('../../profiles/package/example/Observation-maija-work-ability-score.json', import.meta.url),
      'utf8',
    ),
  );
  const { id: _id, ...body } = example;
  const patients = Math.max(1, Math.floor(RESOURCES / 100));
  const scenarios: Scenario[] = [
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
      body: JSON.stringify({ ...body, subject: { reference: 'Patient/bench-pat-1' } }),
    },
  ];
  console.log(
    `security bench: ${RESOURCES} Observations, ${CONNECTIONS} connections, ${SECONDS} s per scenario, ${ROUNDS} rounds`,
  );
  for (const engine of ENGINES) {
    const plain = await start('plain', engine);
    const secured = await start('secured', engine);
    const results = new Map<string, { plain: number[]; secured: number[] }>();
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        for (const sc of scenarios) {
          const a = await measure(plain, sc);
          const b = await measure(secured, sc);
          const entry = results.get(sc.name) ?? { plain: [], secured: [] };
          entry.plain.push(a.rps);
          entry.secured.push(b.rps);
          results.set(sc.name, entry);
          console.log(
            `${engine} round ${round} ${sc.name.padEnd(7)} plain ${a.rps.toFixed(0).padStart(6)} req/s (p99 ${a.p99} ms)  secured ${b.rps.toFixed(0).padStart(6)} req/s (p99 ${b.p99} ms)  ${(b.rps / a.rps).toFixed(2)}×${a.non2xx || b.non2xx ? `  non-2xx ${a.non2xx}/${b.non2xx}` : ''}`,
          );
        }
      }
    } finally {
      await stop(plain);
      await stop(secured);
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
    console.log(`\n${engine}: median of ${ROUNDS} rounds (target secured ≥ 0.85× plain)`);
    console.log('| interaction | plain req/s | secured req/s | ratio |\n| --- | --- | --- | --- |');
    for (const [name, r] of results) {
      const p = median(r.plain);
      const s = median(r.secured);
      console.log(`| ${name} | ${p.toFixed(0)} | ${s.toFixed(0)} | ${(s / p).toFixed(2)}× |`);
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await run();
