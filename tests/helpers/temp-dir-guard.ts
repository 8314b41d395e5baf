/**
 * Vitest global setup: the run gets a temporary folder of its own (TMPDIR, read by `os.tmpdir()` in
 * the test processes and the children they start), and at the end whatever a test left there fails
 * the run, named — a test removes what it made. The folder is removed either way.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pgliteTemplateDir } from '../../src/store/template.ts';

/** What others put there on their own: tsx's transform cache of children run from the sources. */
const NOT_OURS = /^tsx-\d+$/;

/** Set while a run's folder is in place: each vitest project runs the global setup, the first makes it. */
const RUN_DIR = 'TYOKYKY_TEST_RUN_TMPDIR';

export default function setup(): () => void {
  if (process.env[RUN_DIR]) return () => {};
  const outer = { TMPDIR: process.env.TMPDIR, TYOKYKY_CACHE_DIR: process.env.TYOKYKY_CACHE_DIR };
  // The PGlite template cache stays where it was (the temp folder, where the user's cache folder
  // cannot be written): a run's folder must not hold it, nor rebuild it every run.
  process.env.TYOKYKY_CACHE_DIR ??= dirname(pgliteTemplateDir());
  const dir = mkdtempSync(join(tmpdir(), 'tyokyky-test-run-'));
  process.env.TMPDIR = dir;
  process.env[RUN_DIR] = dir;
  return () => {
    for (const [name, value] of Object.entries({ ...outer, [RUN_DIR]: undefined })) {
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    }
    const left = readdirSync(dir).filter((name) => !NOT_OURS.test(name));
    rmSync(dir, { recursive: true, force: true });
    if (!left.length) return;
    // Vitest reports an error thrown here but still exits 0: the exit code says it.
    console.error(`tests left ${left.length} temporary entries behind: ${left.join(', ')}`);
    process.exitCode = 1;
  };
}
