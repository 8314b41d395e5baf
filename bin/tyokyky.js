#!/usr/bin/env node
// The `tyokyky` command. Runs the compiled CLI in dist/ (built by `npm run build`, which `npm ci` runs
// through `prepare`, and shipped in the npm package). In a checkout (src/ beside dist/) whose dist/ is
// missing or older than a source file, it runs the TypeScript sources through tsx (a devDependency)
// instead, so an edit is never shadowed by a stale build.
import { fileURLToPath } from 'node:url';
import { isFreshBuild } from './fresh-build.js';

const compiled = new URL('../dist/cli/main.js', import.meta.url);

if (isFreshBuild(fileURLToPath(compiled), fileURLToPath(new URL('../src/', import.meta.url)))) {
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
