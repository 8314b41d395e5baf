// `npm run bench -- --help` prints what it can run and what each benchmark reads, and runs none of
// them; an option it does not know is a usage error naming it (exit 2), as `npm run fuzz` answers.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/processes.ts';

/** `npx tsx bench/run.ts <args>`: its exit code, stdout and stderr (killed after 30 s: a benchmark ran). */
function bench(
  args: string[],
  runner = 'bench/run.ts',
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(ROOT, runner), ...args],
      { cwd: ROOT, timeout: 30_000 },
      (error, out, err) => resolve({ code: error ? (error.code as number | null) : 0, out, err }),
    );
  });
}

const STAGES = ['cli', 'validate', 'map', 'store', 'facade', 'security', 'sync'];

describe('npm run bench -- --help', () => {
  it.each([['--help'], ['-h']])(
    '%s prints the benchmarks and the environment each reads, runs none, exit 0',
    async (flag) => {
      const r = await bench([flag]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^usage: npm run bench -- \[benchmark…\]/);
      expect(r.out).not.toContain('==');
      for (const stage of STAGES) {
        expect(r.out).toMatch(new RegExp(`^ {2}${stage} `, 'm'));
        // Every variable the benchmark's entry reads is named in the usage.
        const source = readFileSync(join(ROOT, 'bench', stage, 'index.ts'), 'utf8');
        for (const [, name] of source.matchAll(/process\.env\.([A-Z_]+)/g)) expect(r.out).toContain(name);
      }
    },
    60_000,
  );

  it('an unknown option is a usage error naming it (exit 2), and runs nothing', async () => {
    const r = await bench(['--bogus']);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('unknown option: --bogus');
    expect(r.err).toContain('usage: npm run bench');
    expect(r.out).toBe('');
  }, 60_000);

  it('an unknown benchmark is a usage error naming it (exit 2)', async () => {
    const r = await bench(['validate', 'bogus']);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('unknown benchmark: bogus');
    expect(r.out).toBe('');
  }, 60_000);
});

describe('npm run fuzz -- with an option it does not know', () => {
  it('is a usage error naming it, exit 2, no stack trace', async () => {
    const r = await bench(['--bogus'], 'tests/fuzz/run.ts');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^Unknown option '--bogus'/);
    expect(r.err).toContain('usage: npm run fuzz --');
    expect(r.err).not.toMatch(/\n\s+at /);
  }, 60_000);
});
