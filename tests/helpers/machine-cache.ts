// Work a test does once per set of inputs on a machine (a SUSHI build, a PGlite template built from
// scratch), kept in the machine's cache folder — the PGlite template's (src/store/template.ts) — under
// a hash of everything the work reads. Any change to an input does the work again; an unchanged set
// reuses the earlier result. `TYOKYKY_TEST_REBUILD=1 npm test` does it regardless.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pgliteTemplateDir } from '../../src/store/template.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** Results kept per kind of work; the least recently used beyond this are removed. */
const KEEP = 3;

function files(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((f) => files(join(path, f)));
}

/** The hash of the Node version and of every file under `inputs` (paths and contents). */
export function inputsKey(inputs: string[]): string {
  const hash = createHash('sha256').update(`node ${process.version}\n`);
  for (const input of inputs) {
    for (const file of files(input)) {
      const name = file.startsWith(ROOT) ? relative(ROOT, file) : relative(input, file);
      hash.update(`${name}\n`).update(readFileSync(file));
    }
  }
  return hash.digest('hex').slice(0, 24);
}

/**
 * `entry` and every source file it imports, directly or not, through relative `.ts` imports (the
 * sources whose change can change what running `entry` does; packages are keyed by the lock file).
 */
export function importClosure(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+\.ts)'/g))
      visit(join(dirname(file), m[1] as string));
  };
  visit(entry);
  return [...seen].sort();
}

/** `<machine cache>/test-work/<kind>`, e.g. `sushi`. */
export function workCacheDir(kind: string): string {
  return join(dirname(pgliteTemplateDir()), 'test-work', kind);
}

/**
 * The folder for this set of inputs (not created): `<workCacheDir(kind)>/<key>`. Marks it used, and
 * removes all but the KEEP most recently used results of this kind.
 */
export function keyedWorkDir(kind: string, inputs: string[]): string {
  const base = workCacheDir(kind);
  const dir = join(base, inputsKey(inputs));
  // TYOKYKY_TEST_REBUILD=1 does the work again even for a known set of inputs (e.g. to rule out the cache).
  if (process.env.TYOKYKY_TEST_REBUILD === '1') rmSync(dir, { recursive: true, force: true });
  if (existsSync(dir)) {
    const now = new Date();
    utimesSync(dir, now, now);
  }
  if (existsSync(base)) {
    const results = readdirSync(base)
      .filter((n) => /^[0-9a-f]{24}$/.test(n))
      .map((n) => ({ path: join(base, n), used: statSync(join(base, n)).mtimeMs }))
      .sort((a, b) => b.used - a.used);
    for (const old of results.slice(KEEP))
      if (old.path !== dir) rmSync(old.path, { recursive: true, force: true });
  }
  return dir;
}
