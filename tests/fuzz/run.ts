/**
 * `npm run fuzz -- [target…] [--seconds N] [--cases N] [--seed N] [--out DIR]`: mutated seeds thrown
 * at the validator, the SDK and a listening facade (targets.ts). Prints progress and each new kind of
 * fault once; writes one input per kind to DIR; exits 1 when anything was found. Not part of `npm test`
 * (tests/fuzz/fuzz.test.ts runs a few hundred cases of each target there).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fuzz } from './fuzz.ts';
import { TARGETS } from './targets.ts';

const USAGE = `usage: npm run fuzz -- [target…] [--seconds N] [--cases N] [--seed N] [--out DIR]
targets (all when none is named):
${TARGETS.map((t) => `  ${t.name.padEnd(18)} ${t.what}`).join('\n')}`;

/** The command line as parseArgs reads it; a usage error (an unknown option, a missing value) exits 2. */
function parsed() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        seconds: { type: 'string', default: '30' },
        cases: { type: 'string' },
        seed: { type: 'string', default: '1' },
        out: { type: 'string', default: 'fuzz-findings' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

function options() {
  const { values, positionals } = parsed();
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const unknown = positionals.filter((p) => !TARGETS.some((t) => t.name === p));
  const numbers = [values.seconds, values.cases, values.seed].filter((v) => v !== undefined);
  if (unknown.length || numbers.some((v) => !/^\d+$/.test(v as string))) {
    console.error(
      unknown.length ? `unknown target: ${unknown.join(', ')}\n${USAGE}` : `not a whole number\n${USAGE}`,
    );
    process.exit(2);
  }
  return {
    targets: positionals.length ? TARGETS.filter((t) => positionals.includes(t.name)) : TARGETS,
    seconds: Number(values.seconds),
    cases: values.cases === undefined ? undefined : Number(values.cases),
    seed: Number(values.seed),
    out: values.out as string,
  };
}

/**
 * Progress on one line rewritten in place on a terminal; into a file or pipe, a line at most every
 * ten seconds (a log of a long run stays readable).
 */
function progressPrinter(): (done: number) => void {
  if (process.stdout.isTTY) return (n) => process.stdout.write(`  ${n} cases\r`);
  let last = Date.now();
  return (n) => {
    if (Date.now() - last < 10_000) return;
    last = Date.now();
    process.stdout.write(`  ${n} cases\n`);
  };
}

async function main(): Promise<void> {
  const o = options();
  let found = 0;
  for (const target of o.targets) {
    process.stdout.write(`${target.name}: ${target.what}\n`);
    const run = await fuzz(target, {
      seed: o.seed,
      seconds: o.seconds,
      cases: o.cases,
      onProgress: progressPrinter(),
      onFinding: (f) => {
        mkdirSync(o.out, { recursive: true });
        const file = join(o.out, `${f.target}-seed${o.seed}-case${f.case}.json`);
        writeFileSync(file, `${JSON.stringify(f.input, null, 2)}\n`);
        process.stdout.write(`  FOUND ${f.signature}\n    input: ${file}\n`);
      },
    });
    found += run.findings.length;
    process.stdout.write(`  ${run.cases} cases, ${run.findings.length} kind(s) of fault\n`);
  }
  process.exit(found ? 1 : 0);
}

await main();
