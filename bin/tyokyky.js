#!/usr/bin/env node
// The `tyokyky` command. Runs the compiled CLI from dist/ (built by `npm run build`, which `npm ci`
// runs through `prepare`, and shipped in the npm package). Only in a checkout whose dist/ is missing does
// it fall back to running the TypeScript sources through tsx (a devDependency).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      "tyokyky: dist/ is missing and tsx is not installed; run 'npm run build' (or 'npm ci') first\n",
    );
    process.exit(2);
  }
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
