// The PGlite template `npm ci` prepares: where it lives, what it holds, and that building it never
// fails the install. Builds one real template (initdb in WebAssembly, 10–40 s on a busy machine) in a
// cache folder of its own, once per set of its sources on a machine (tests/helpers/machine-cache.ts):
// a change to a file the prepare step imports (directly or not), or to the dependency tree, builds
// it from scratch again.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.ts';
import { copyPgliteTemplate } from '../../src/store/template.ts';
import { importClosure, keyedWorkDir } from '../helpers/machine-cache.ts';
import { ROOT, nodeScript } from '../helpers/processes.ts';

const run = promisify(execFile);
const cache = keyedWorkDir('pglite-template', [
  ...importClosure(join(ROOT, 'src', 'store', 'prepare-template.ts')),
  join(ROOT, 'package-lock.json'),
]);
mkdirSync(cache, { recursive: true });

/**
 * Runs the `prepare` step's script (from dist/ as `npm ci` does; the sources if dist/ is stale) with the
 * given cache folder; returns what it said. It says it on stderr: `npm pack --json` runs `prepare` and
 * its stdout must be npm's JSON alone.
 */
async function prepare(cacheDir: string): Promise<string> {
  const { stdout, stderr } = await run(process.execPath, nodeScript('src/store/prepare-template.ts'), {
    cwd: ROOT,
    env: { ...process.env, TYOKYKY_CACHE_DIR: cacheDir },
  });
  expect(stdout).toBe('');
  return stderr;
}

describe('PGlite template', () => {
  it('npm ci builds it in the cache folder (from scratch once per set of store sources); a copy is a working store with only its own database', async () => {
    const first = await prepare(cache);
    const [, dir] = /template ready in (\S+) \(/.exec(first) ?? [];
    expect(dir?.startsWith(join(cache, 'tyokyky-pglite-template-'))).toBe(true);
    expect(existsSync(join(dir, 'PG_VERSION'))).toBe(true);
    // Built once: a second run finds it.
    expect(await prepare(cache)).toMatch(/template ready in .* \(0\.\d s\)/);

    const target = mkdtempSync(join(tmpdir(), 'tyokyky-template-copy-'));
    const previous = process.env.TYOKYKY_CACHE_DIR;
    process.env.TYOKYKY_CACHE_DIR = cache;
    try {
      await copyPgliteTemplate(target);
      const store = await openStore({ dataDir: target });
      try {
        const dbs = await store.query<{ datname: string }>('SELECT datname FROM pg_database');
        expect(dbs.map((d) => d.datname)).toEqual(['postgres']);
        expect(await store.query('SELECT id FROM resources')).toEqual([]);
      } finally {
        await store.close();
      }
      // In-memory stores start from the template's dump, already migrated, and are writable.
      expect(existsSync(`${dir}.tar`)).toBe(true);
      const memory = await openStore({ dataDir: 'memory://' });
      try {
        expect(await memory.query('SELECT id FROM resources')).toEqual([]);
        const written = await memory.create<Resource>({
          resourceType: 'Basic',
          code: { text: 'x' },
        } as Resource);
        expect((await memory.read('Basic', written.resource.id!)).resourceType).toBe('Basic');
      } finally {
        await memory.close();
      }
    } finally {
      if (previous === undefined) Reflect.deleteProperty(process.env, 'TYOKYKY_CACHE_DIR');
      else process.env.TYOKYKY_CACHE_DIR = previous;
      rmSync(target, { recursive: true, force: true });
    }
  }, 300_000);

  it('a cache folder that cannot be written does not fail the install: one line, exit 0', async () => {
    const file = join(cache, 'not-a-folder');
    await run('touch', [file]);
    const out = await prepare(join(file, 'sub'));
    expect(out.trim()).toMatch(
      /^tyokyky-fhir: could not prepare the embedded PostgreSQL template \(.*\); the first start will build it$/,
    );
  }, 60_000);
});
