// Runs every stage benchmark in pipeline order. `npm run bench -- validate map` runs a subset;
// `npm run bench -- --help` names them and the environment each reads (bench/<stage>/index.ts).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

interface Stage {
  name: string;
  what: string;
  /** The environment variables the benchmark reads, with their defaults. */
  env: string[];
}

const PG = 'TYOKYKY_PG_URL (postgres://postgres@127.0.0.1:5432)';

const STAGES: Stage[] = [
  { name: 'cli', what: '`tyokyky` start-up (dist/) beside `node -e 0`; RSS of the SDK import', env: [] },
  {
    name: 'validate',
    what: "validator throughput against @medplum/core's and a JSON floor; cold start-up",
    env: [],
  },
  { name: 'map', what: 'domain ⇄ FHIR mapping against a JSON parse+stringify floor', env: [] },
  {
    name: 'store',
    what: 'the store against raw SQL floors, PGlite and PostgreSQL',
    env: ['STORE_PERF_N (100000 resources)', 'STORE_PERF_KEEP (set: keep the database)', PG],
  },
  {
    name: 'facade',
    what: 'validated create, read and search against Express→pg and echo floors',
    env: [
      'FACADE_BENCH_RESOURCES (100000)',
      'FACADE_BENCH_SECONDS (10 per scenario)',
      'FACADE_BENCH_CONNECTIONS (50)',
      'FACADE_BENCH_ENGINES (pglite,postgres)',
      'FACADE_BENCH_ROUNDS (3)',
      'FACADE_BENCH_WORKERS (2; 1 skips serve --workers)',
      PG,
    ],
  },
  {
    name: 'security',
    what: 'read, search and create with tokens, scopes and audit against the same facade without',
    env: [
      'SECURITY_BENCH_RESOURCES (20000)',
      'SECURITY_BENCH_SECONDS (8)',
      'SECURITY_BENCH_WARMUP (2 s)',
      'SECURITY_BENCH_CONNECTIONS (50)',
      'SECURITY_BENCH_ROUNDS (3)',
      'SECURITY_BENCH_ENGINES (pglite)',
      'SECURITY_BENCH_SCENARIOS (read,search,create)',
      'SECURITY_BENCH_PROFILE (a directory: V8 CPU profiles)',
      PG,
    ],
  },
  {
    name: 'sync',
    what: 'push to and pull from a second facade, through a faulty proxy; end to end through the facade',
    env: [
      'TYOKYKY_SYNC_BENCH_N (10000)',
      'TYOKYKY_SYNC_BENCH_BATCH (200)',
      'TYOKYKY_SYNC_BENCH_ROUNDS (3)',
      'TYOKYKY_SYNC_BENCH_ONLY (linked: only the cross-referenced workload; pull: only the push and the pull back)',
      'TYOKYKY_SYNC_BENCH_PROFILE (a directory: V8 CPU profile)',
      PG,
    ],
  },
];

const USAGE = `usage: npm run bench -- [benchmark…]
benchmarks (all, in this order, when none is named), each with the environment it reads:
${STAGES.map((s) => [`  ${s.name.padEnd(9)} ${s.what}`, ...s.env.map((e) => `${' '.repeat(14)}${e}`)].join('\n')).join('\n')}`;

function usageError(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

/** The command line, parsed; an unknown option is a usage error naming it. */
function parsed() {
  try {
    return parseArgs({ allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    const { code, message } = err as Error & { code?: string };
    // parseArgs names the option in quotes inside a longer hint; the usage says the rest.
    const option = /'([^']+)'/.exec(message)?.[1];
    return usageError(code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? `unknown option: ${option}` : message);
  }
}

/** The benchmarks the command line names, in its order (all when none); --help prints the usage, exit 0. */
function wanted(): string[] {
  const { values, positionals } = parsed();
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const unknown = positionals.filter((p) => !STAGES.some((s) => s.name === p));
  if (unknown.length) usageError(`unknown benchmark: ${unknown.join(', ')}`);
  return positionals.length ? positionals : STAGES.map((s) => s.name);
}

const benchDir = dirname(fileURLToPath(import.meta.url));
for (const name of wanted()) {
  const entry = join(benchDir, name, 'index.ts');
  if (!existsSync(entry)) {
    console.log(`\n== ${name}: no benchmark yet (bench/${name}/index.ts)`);
    continue;
  }
  console.log(`\n== ${name}`);
  const mod = (await import(pathToFileURL(entry).href)) as { default: () => Promise<void> };
  await mod.default();
}
