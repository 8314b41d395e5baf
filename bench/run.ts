// Runs every stage benchmark in pipeline order. `npm run bench -- validate map` runs a subset.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const stages = ['cli', 'validate', 'map', 'store', 'facade', 'security', 'sync'];
const benchDir = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !stages.includes(w));
if (unknown.length) {
  console.error(`unknown benchmark: ${unknown.join(', ')} (have: ${stages.join(', ')})`);
  process.exit(2);
}

for (const stage of wanted.length ? wanted : stages) {
  const entry = join(benchDir, stage, 'index.ts');
  if (!existsSync(entry)) {
    console.log(`\n== ${stage}: no benchmark yet (bench/${stage}/index.ts)`);
    continue;
  }
  console.log(`\n== ${stage}`);
  const mod = (await import(pathToFileURL(entry).href)) as { default: () => Promise<void> };
  await mod.default();
}
