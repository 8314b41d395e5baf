import type { Command } from 'commander';

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
    .action(runLoad);
}

/** Posts every file, one line per file; exit status 1 when any failed. */
async function runLoad(files: string[], opts: { url: string; token?: string }): Promise<void> {
  const { LoadPathError, expandFiles, loadFile } = await import('../load/files.ts');
  const { checkHttpUrl } = await import('../../shared/http-url.ts');
  let base: string;
  try {
    base = checkHttpUrl(opts.url, '--url', 'give a bearer token with --token').replace(/\/$/, '');
  } catch (err) {
    console.error((err as Error).message);
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
  for (const file of expanded) {
    const r = await loadFile(file, base, opts.token);
    if (!r.ok) failed++;
    console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.file}  ${r.status || '-'}  ${r.summary}`);
  }
  if (failed) {
    console.error(`${failed} file(s) failed`);
    process.exit(1);
  }
}
