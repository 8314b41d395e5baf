// One server under test per process, so its RSS and event loop are its own:
//   tsx bench/facade/server.ts facade-pglite|facade-postgres|floor-insert|floor-echo
// Prints `READY <base url>` when listening.
import type { AddressInfo } from 'node:net';
import express from 'express';
import pg from 'pg';
import pino from 'pino';
import { startServer } from '../../src/server/index.ts';
import { openStore } from '../../src/store/index.ts';
import { scratchDir } from '../temp-dir.ts';
import { seedObservations } from './seed.ts';

const kind = process.argv[2];
const resources = Number(process.env.FACADE_BENCH_RESOURCES ?? 100_000);
const pgUrl = process.env.FACADE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/tyokyky_bench_facade';

async function listen(app: express.Express): Promise<string> {
  return new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`),
    );
  });
}

async function facade(engine: 'pglite' | 'postgres'): Promise<string> {
  const store =
    engine === 'pglite'
      ? await openStore({ dataDir: scratchDir('tyokyky-bench-facade-') })
      : await openStore({ databaseUrl: pgUrl, poolMax: 20 });
  const t0 = Date.now();
  await seedObservations(store, resources);
  process.stderr.write(`seeded ${resources} Observations on ${engine} in ${Date.now() - t0} ms\n`);
  // The load generator is one client: the per-client rate limit (default 6,000/min) would turn most of
  // the run into 429s. bench/security measures the security layer itself.
  const running = await startServer({
    store,
    logger: pino({ level: 'silent' }),
    port: 0,
    rateLimit: 10_000_000,
  });
  return running.url;
}

async function floorInsert(): Promise<string> {
  const pool = new pg.Pool({ connectionString: pgUrl, max: 20 });
  await pool.query(
    'CREATE TABLE IF NOT EXISTS bench_floor (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), content jsonb NOT NULL)',
  );
  const app = express();
  app.use(express.json({ type: ['application/json', 'application/fhir+json'], limit: '5mb' }));
  app.post('/fhir/Observation', async (req, res) => {
    const { rows } = await pool.query('INSERT INTO bench_floor (content) VALUES ($1) RETURNING id', [
      req.body,
    ]);
    res.status(201).json({ ...req.body, id: rows[0].id });
  });
  return listen(app);
}

async function floorEcho(): Promise<string> {
  const app = express();
  app.use(express.json({ type: ['application/json', 'application/fhir+json'] }));
  app.all('/{*path}', (req, res) => {
    res.json(
      req.method === 'GET'
        ? { resourceType: 'Observation', id: req.path.split('/').pop(), status: 'final' }
        : req.body,
    );
  });
  return listen(app);
}

const url =
  kind === 'facade-pglite'
    ? await facade('pglite')
    : kind === 'facade-postgres'
      ? await facade('postgres')
      : kind === 'floor-insert'
        ? await floorInsert()
        : kind === 'floor-echo'
          ? await floorEcho()
          : undefined;
if (!url) {
  process.stderr.write(`unknown server kind "${kind}"\n`);
  process.exit(2);
}
process.stdout.write(`READY ${url}\n`);
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
