// Imports the SDK entry and prints every module that got loaded: ESM (through a resolve hook that
// records each resolved URL) and CommonJS (require.cache), so the test can say what must not be there.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const log = process.argv[2];
writeFileSync(log, '');
const hook = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, result.url + '\\n');
  return result;
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
const sdk = await import('tyokyky-fhir');
const cjs = Object.keys(createRequire(import.meta.url).cache);
appendFileSync(log, cjs.map((f) => `file://${f}\n`).join(''));
console.log(
  JSON.stringify({
    exports: Object.keys(sdk).length,
    modules: readFileSync(log, 'utf8').split('\n').filter(Boolean)
  }),
);
