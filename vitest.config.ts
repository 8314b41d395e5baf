import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Two projects; `npm test` runs both (it is CI's command).
 * - integration: the files that start real child processes (the CLI contract, signals, several workers on
 *   one port, a second facade as the sync remote, npm pack, SUSHI). Each file in its own fork.
 * - unit: everything else, in-process. Files share one module cache per worker (isolate: false), so the
 *   validator, the R4 definitions and PGlite load once per worker instead of once per file.
 * One project: `npx vitest run --project unit`; one file: `npx vitest run tests/store/pglite.test.ts`.
 */
const INTEGRATION = [
  'tests/kanta/sync.test.ts',
  'tests/mapping/cli.test.ts',
  'tests/package/pack.test.ts',
  'tests/profiles/build.test.ts',
  'tests/security/clients-cli.test.ts',
  'tests/server/cli.test.ts',
  'tests/server/postgres-processes.test.ts',
  'tests/server/startup.test.ts',
  'tests/server/workers.test.ts',
  'tests/store/template.test.ts',
  'tests/sync/audit.test.ts',
  'tests/sync/cli.test.ts',
  'tests/sync/facade-pg.test.ts',
  'tests/sync/integrity.test.ts',
  'tests/sync/serve-remote.test.ts',
  'tests/validation/cli.test.ts',
  'tests/validation/loose-packages.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
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
        test: { name: 'integration', include: INTEGRATION, pool: 'forks' },
      },
    ],
  },
});
