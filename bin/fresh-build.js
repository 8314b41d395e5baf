// Whether a compiled file in dist/ is a build of the current sources: it exists and is at least as new
// as every `.ts` file under src/ (an installed package has no src/, so its dist/ is the build). Used by
// bin/tyokyky.js at every start, and by the tests that run scripts as `npm ci` and users do.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Newest mtime of a `.ts` file under `dir`. */
function newestSource(dir) {
  let newest = 0;
  // Walked by hand: readdirSync's `recursive` option costs twice the CPU, and this runs at every start.
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** `compiled` and `sources` are file-system paths. */
export function isFreshBuild(compiled, sources) {
  if (!existsSync(compiled)) return false;
  if (!existsSync(sources)) return true;
  return statSync(compiled).mtimeMs >= newestSource(sources);
}
