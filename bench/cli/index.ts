// Start-up cost of the `tyokyky` command as a user runs it (node bin/tyokyky.js → compiled dist/), beside
// `node -e 0` in the same run, and the RSS that `import('tyokyky-fhir')` adds to a bare Node process.
// Median of 10 runs each; wall time, CPU time (user + system) and peak RSS of the whole process (GNU
// time's %U %S %M). On a busy machine the CPU time is the steadier figure.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '../..');
const RUNS = 10;
const TIME = '/usr/bin/time';

interface Sample {
  ms: number;
  cpuMs: number;
  rssMb: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One run: wall time measured here, CPU time and peak RSS from GNU time (when installed). */
function once(args: string[], stdin?: string): Sample {
  const withTime = existsSync(TIME);
  const cmd = withTime ? TIME : process.execPath;
  const argv = withTime ? ['-f', '%U %S %M', process.execPath, ...args] : args;
  const start = performance.now();
  const r = spawnSync(cmd, argv, { cwd: root, input: stdin, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - start;
  if (r.status !== 0 && r.status !== 1) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const [user, sys, kb] = withTime
    ? (r.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number)
    : [Number.NaN, Number.NaN, Number.NaN];
  return { ms, cpuMs: (user + sys) * 1000, rssMb: kb / 1024 };
}

function measure(args: string[]): Sample {
  once(args); // warm the file cache
  const samples = Array.from({ length: RUNS }, () => once(args));
  return {
    ms: median(samples.map((s) => s.ms)),
    cpuMs: median(samples.map((s) => s.cpuMs)),
    rssMb: median(samples.map((s) => s.rssMb)),
  };
}

function ensureBuilt(): void {
  const main = join(root, 'dist', 'cli', 'main.js');
  const src = join(root, 'src');
  const newest = Math.max(
    ...(readdirSync(src, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts'))
      .map((f) => statSync(join(src, f)).mtimeMs),
  );
  if (!existsSync(main) || statSync(main).mtimeMs < newest) {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  }
}

/** RSS a bare process gains from importing the SDK entry (median of 10 processes). */
function sdkImportRss(): number {
  const code = `const a = process.memoryUsage().rss; await import('tyokyky-fhir'); console.log((process.memoryUsage().rss - a) / 1048576);`;
  const deltas = Array.from({ length: RUNS }, () =>
    Number(
      execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' }),
    ),
  );
  return median(deltas);
}

export default async function bench(): Promise<void> {
  ensureBuilt();
  const tmp = mkdtempSync(join(tmpdir(), 'tyokyky-bench-cli-'));
  try {
    const record = join(tmp, 'record.json');
    writeFileSync(
      record,
      JSON.stringify({
        client: { id: 'c-1', hetu: '010181-900C', name: { family: 'Virtanen', given: ['Suvi'] } },
      }),
    );
    const patient = join(root, 'profiles', 'package', 'example', 'Patient-suvi.json');
    const rows: Array<[string, Sample]> = [
      ['node -e 0 (floor)', measure(['-e', '0'])],
      ['tyokyky --help', measure(['bin/tyokyky.js', '--help'])],
      ['tsx src/cli/main.ts --help (the old bin)', measure(['--import', 'tsx', 'src/cli/main.ts', '--help'])],
      ['tyokyky validate <one patient>', measure(['bin/tyokyky.js', 'validate', patient])],
      ['tyokyky map --to-fhir <one record>', measure(['bin/tyokyky.js', 'map', '--to-fhir', record])],
    ];
    const floor = rows[0][1].ms;
    console.log(`median of ${RUNS} runs each\n`);
    console.log('| command | wall ms | × floor | CPU ms | peak RSS MB |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const [name, m] of rows) {
      console.log(
        `| ${name} | ${m.ms.toFixed(0)} | ${(m.ms / floor).toFixed(2)} | ${m.cpuMs.toFixed(0)} | ${m.rssMb.toFixed(0)} |`,
      );
    }
    const help = rows[1][1].ms / floor;
    const validate = rows[3][1].ms;
    const rss = sdkImportRss();
    console.log(`\nimport('tyokyky-fhir') adds ${rss.toFixed(1)} MB RSS over a bare node process`);
    console.log(
      `targets: --help ≤ 3× floor ${help <= 3 ? '✔' : '✘'} (${help.toFixed(2)}×); one-file validate ≤ 600 ms ${validate <= 600 ? '✔' : '✘'} (${validate.toFixed(0)} ms); SDK import ≤ 30 MB ${rss <= 30 ? '✔' : '✘'}`,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
