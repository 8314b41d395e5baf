import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Two projects; `npm test` runs both (it is CI's command).
 * - integration: the files that start real child processes (the CLI contract, signals, several workers on
 *   one port, a sync worker or facade killed mid-push, npm pack), found by their imports, and SUSHI's build.
 * - unit: everything else, in-process (a sync remote is a facade in the test's process).
 * In both, the files of one worker share its module cache (isolate: false), so the validator, the R4
 * definitions and PGlite load once per worker instead of once per file (a fork per file cost ~4 s of CPU
 * each): a test file must not leave global state behind, and stops the processes it started.
 * One project: `npx vitest run --project unit`; one file: `npx vitest run tests/store/pglite.test.ts`.
 */
const TESTS = 'tests';

/** Files that start a process through a module the regex below does not see: SUSHI's build. */
const INDIRECT = ['tests/profiles/build.test.ts'];

/** A file starts processes when it imports `node:child_process` (not only its types) or a processes helper. */
const STARTS_PROCESSES = /^import (?!type )[^;]*from 'node:child_process'|^import [^;]*\/processes\.ts'/m;

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return testFiles(path);
    return e.name.endsWith('.test.ts') ? [path] : [];
  });
}

const INTEGRATION = [
  ...testFiles(TESTS).filter((f) => STARTS_PROCESSES.test(readFileSync(f, 'utf8'))),
  ...INDIRECT,
];

export default defineConfig({
  test: {
    // Vitest's default (cores - 1) runs one file at a time on a 2-core machine; many files wait on child
    // processes, PostgreSQL or sockets, so two per core finish sooner (measured: 245 s → 179 s).
    maxWorkers: 2 * availableParallelism(),
    testTimeout: 30_000,
    // A temporary folder per run; what a test leaves in it fails the run (tests/helpers/temp-dir-guard.ts).
    globalSetup: ['tests/helpers/temp-dir-guard.ts'],
    hookTimeout: 120_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['tests/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...INTEGRATION],
          pool: 'forks',
          isolate: false,
        },
      },
      {
        extends: true,
        test: { name: 'integration', include: INTEGRATION, pool: 'forks', isolate: false },
      },
    ],
  },
});
