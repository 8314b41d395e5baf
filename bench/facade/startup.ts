// Startup benchmark: how long `npm start` (`node bin/tyokyky.js serve`, which runs dist/ when it is
// current) takes until /fhir/metadata answers, and its idle RSS: on a new PGlite data directory
// (copied from the template `npm ci` prepares), on a new machine where no template exists yet, on an
// existing data directory, and on PostgreSQL. Peer in the same run: a bare Node process that starts
// and answers HTTP (the floor any Node server pays).
//   npm run build && npx tsx bench/facade/startup.ts
// CPU used is the server's own user+system time until it answered (load on a shared machine
// stretches the wall time, hardly the CPU time).
// Env: STARTUP_BENCH_ROUNDS (3), STARTUP_BENCH_ENGINES (pglite,postgres), TYOKYKY_PG_URL.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROUNDS = Number(process.env.STARTUP_BENCH_ROUNDS ?? 3);
const ENGINES = (process.env.STARTUP_BENCH_ENGINES ?? 'pglite,postgres').split(',');
const PG_SERVER = (process.env.TYOKYKY_PG_URL ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** How long the server idles before its RSS is read. */
const IDLE_MS = 3000;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** CPU time (user + system) the process has used so far, in seconds: what a busy machine cannot inflate. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Sample {
  seconds: number;
  cpu: number;
  rssMb: number;
}

async function measure(
  args: string[],
  env: NodeJS.ProcessEnv,
  url: (port: number) => string,
): Promise<Sample> {
  const port = await freePort();
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [...args, '--port', String(port)], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
      try {
        const res = await fetch(url(port), { signal: AbortSignal.timeout(5000) });
        if (res.ok) {
          await res.arrayBuffer();
          break;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSeconds(child.pid as number);
    await new Promise((r) => setTimeout(r, IDLE_MS));
    return { seconds, cpu, rssMb: rssMb(child.pid as number) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

const SERVE = ['bin/tyokyky.js', 'serve', '--host', '127.0.0.1'];
const PEER = [
  '-e',
  "require('http').createServer((q,s)=>s.end('{}')).listen(Number(process.argv.at(-1)),'127.0.0.1')",
  '--',
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function scenario(name: string, run: () => Promise<Sample>, rounds = ROUNDS): Promise<void> {
  const samples: Sample[] = [];
  for (let i = 0; i < rounds; i++) samples.push(await run());
  const t = median(samples.map((s) => s.seconds));
  const c = median(samples.map((s) => s.cpu));
  const m = median(samples.map((s) => s.rssMb));
  console.log(
    `| ${name.padEnd(34)} | ${t.toFixed(2).padStart(7)} s | ${c.toFixed(2).padStart(6)} s | ${m.toFixed(0).padStart(5)} MB |`,
  );
}

if (!existsSync(join(ROOT, 'dist/cli/main.js')))
  console.warn('dist/ is missing: bin/tyokyky.js runs the sources through tsx');
console.log(`| scenario (median of ${ROUNDS})${' '.repeat(14)} | to metadata | CPU used | idle RSS |`);
console.log('|------------------------------------|-------------|----------|----------|');
await scenario('peer: bare node http server', () => measure(PEER, {}, (p) => `http://127.0.0.1:${p}/`));
if (ENGINES.includes('pglite')) {
  const existing = mkdtempSync(join(tmpdir(), 'tyokyky-startup-'));
  const newDir = (env: NodeJS.ProcessEnv) => async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tyokyky-startup-'));
    try {
      return await measure([...SERVE, '--data-dir', dir], env, (p) => `http://127.0.0.1:${p}/fhir/metadata`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  await scenario('pglite, new data dir', newDir({}));
  // No template yet (`npm ci --ignore-scripts`, or an installed package): the first start builds it.
  // One round: it costs initdb, 6–7 s of CPU.
  const emptyCache = mkdtempSync(join(tmpdir(), 'tyokyky-startup-cache-'));
  await scenario('pglite, new data dir, no template', newDir({ TYOKYKY_CACHE_DIR: emptyCache }), 1);
  rmSync(emptyCache, { recursive: true, force: true });
  await measure([...SERVE, '--data-dir', existing], {}, (p) => `http://127.0.0.1:${p}/fhir/metadata`);
  await scenario('pglite, existing data dir', () =>
    measure([...SERVE, '--data-dir', existing], {}, (p) => `http://127.0.0.1:${p}/fhir/metadata`),
  );
  rmSync(existing, { recursive: true, force: true });
}
if (ENGINES.includes('postgres')) {
  const db = `tyokyky_bench_startup_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: `${PG_SERVER}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  try {
    await scenario('postgres', () =>
      measure(
        [...SERVE, '--database-url', `${PG_SERVER}/${db}`],
        {},
        (p) => `http://127.0.0.1:${p}/fhir/metadata`,
      ),
    );
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  }
}
