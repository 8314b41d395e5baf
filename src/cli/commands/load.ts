import type { Command } from 'commander';
import { DEFAULT_TIMEOUT_MS } from '../request-timeout.ts';

/** `tyokyky load`: post Bundles/resources through a running facade's API. */
export function registerLoadCommand(program: Command): void {
  program
    .command('load')
    .description('Post FHIR Bundles/resources (files or directories of *.json) through a running facade')
    .argument('<files...>', 'JSON files or directories')
    .option('--url <url>', 'FHIR base URL of the facade', 'http://localhost:8080/fhir')
    .option(
      '--token <access-token>',
      'bearer token for a facade with auth on, e.g. from `tyokyky clients token` (env TYOKYKY_ACCESS_TOKEN)',
      process.env.TYOKYKY_ACCESS_TOKEN,
    )
    .option('--timeout <ms>', 'how long one request waits for the facade to answer', DEFAULT_TIMEOUT_MS)
    .action(runLoad);
}

/** After this many files in a row could not reach the facade, the rest are not tried (exit 1). */
const UNREACHABLE_STOP = 3;

/**
 * Posts every file, one line per file (a 429 or 503 waited out is a `wait` line on stderr); exit
 * status 1 when any failed, or at once when the facade could not be reached for a few files in a row.
 */
async function runLoad(
  files: string[],
  opts: { url: string; token?: string; timeout: string },
): Promise<void> {
  const { LoadPathError, expandFiles, loadFile } = await import('../load/files.ts');
  const { checkHttpUrl } = await import('../../shared/http-url.ts');
  const { timeoutOption } = await import('../request-timeout.ts');
  let base: string;
  let timeoutMs: number;
  try {
    base = checkHttpUrl(opts.url, '--url', 'give a bearer token with --token').replace(/\/$/, '');
    timeoutMs = timeoutOption(opts.timeout);
  } catch (err) {
    console.error(`tyokyky load: ${(err as Error).message}`);
    process.exit(2);
  }
  let expanded: string[];
  try {
    expanded = await expandFiles(files);
  } catch (err) {
    if (!(err instanceof LoadPathError)) throw err;
    console.error(err.message);
    process.exit(2);
  }
  let failed = 0;
  let unreachableInARow = 0;
  for (const [i, file] of expanded.entries()) {
    const onWait = (status: number, ms: number, why: string) =>
      console.error(`wait ${file}  ${status}  sending it again in ${Math.ceil(ms / 1000)} s (${why})`);
    const r = await loadFile(file, base, opts.token, { onWait, timeoutMs });
    if (!r.ok) failed++;
    console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.file}  ${r.status || '-'}  ${r.summary}`);
    unreachableInARow = r.unreachable ? unreachableInARow + 1 : 0;
    if (unreachableInARow === UNREACHABLE_STOP && i + 1 < expanded.length) {
      console.error(
        `tyokyky load: stopped: ${UNREACHABLE_STOP} files in a row could not reach ${base}; ${expanded.length - i - 1} file(s) not sent`,
      );
      process.exit(1);
    }
  }
  if (failed) {
    console.error(`${failed} file(s) failed`);
    process.exit(1);
  }
}
