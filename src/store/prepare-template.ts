// Run by `npm ci` / `npm install` in a checkout (package.json `prepare`, after the build): builds the
// machine's PGlite template (and its dump, for in-memory stores) so that the first `npm start`
// copies it instead of running initdb.
// Never fails the install: without a template the first store builds it itself.
// It speaks on stderr: `npm pack --json` and `npm publish --json` run `prepare`, and their stdout must
// be npm's JSON alone.
import { ensurePgliteArchive, ensurePgliteTemplate } from './template.ts';

const started = performance.now();
try {
  const dir = await ensurePgliteTemplate();
  await ensurePgliteArchive();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stderr.write(`tyokyky-fhir: embedded PostgreSQL template ready in ${dir} (${seconds} s)\n`);
} catch (err) {
  process.stderr.write(
    `tyokyky-fhir: could not prepare the embedded PostgreSQL template (${(err as Error).message}); the first start will build it\n`,
  );
}
