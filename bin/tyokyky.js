#!/usr/bin/env node
// The `tyokyky` command. Runs the compiled CLI in dist/ (built by `npm run build`, which `npm ci` runs
// through `prepare`, and shipped in the npm package). In a checkout (src/ beside dist/) whose dist/ is
// missing or older than a source file, it runs the TypeScript sources through tsx (a devDependency)
// instead, so an edit is never shadowed by a stale build.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
const sources = fileURLToPath(new URL('../src/', import.meta.url));

/** Newest mtime of a `.ts` file under `dir`. */
function newestSource(dir = sources) {
  let newest = 0;
  // Walked by hand: readdirSync's `recursive` option costs twice the CPU, and this runs at every start.
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function useCompiled() {
  if (!existsSync(compiled)) return false;
  if (!existsSync(sources)) return true; // installed package: dist/ only
  return statSync(compiled).mtimeMs >= newestSource();
}

if (useCompiled()) {
  await import(compiled.href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write("tyokyky: dist/ is missing or stale and tsx is not installed; run 'npm run build'\n");
    process.exit(2);
  }
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
