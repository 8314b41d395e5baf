import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { ValidateOptions } from '../validate/run.ts';

/** `tyokyky validate`; the work is in `../validate/` and loaded only when the command runs. */
export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description(
      'Validate FHIR R4 resources (JSON files, Bundles, NDJSON, or folders of them) against R4, FI Base and our profiles',
    )
    .argument(
      '<paths...>',
      'files or directories (*.json, *.ndjson, *.xml; directories are walked recursively, package manifests skipped)',
    )
    .option('--profile <url>', 'validate against this profile too (repeatable)', collect, [])
    .option(
      '--package <path>',
      'extra FHIR package (.tgz or folder) or conformance resources (a .json resource/Bundle, or a folder of .json files) (repeatable)',
      collect,
      [],
    )
    .option('--ig <path>', "same as --package (the HL7 validator's -ig)", collect, [])
    .addOption(
      new Option('--format <format>', 'output format (junit: JUnit XML for CI, one test case per resource)')
        .choices(['text', 'ndjson', 'junit'])
        .default('text'),
    )
    .addOption(
      new Option('--fail-on <severity>', 'exit 1 when a resource has an issue of this severity or worse')
        .choices(['error', 'warning'])
        .default('error'),
    )
    .option(
      '--no-allow-examples',
      'refuse example URLs (example.org, acme.com ...) in url/uri/canonical values and unknown extensions there, as the HL7 validator does outside spec mode',
    )
    .addOption(
      new Option(
        '--unknown-extensions <policy>',
        'an extension url no loaded package defines (auto: an error, but a warning in the space of a known package that is not loaded)',
      )
        .choices(['auto', 'error', 'warning'])
        .default('auto'),
    )
    .addOption(
      new Option(
        '--display-issues <severity>',
        "severity of a Coding display that is neither its code's display nor a designation in a CodeSystem we hold (error: the HL7 validator's verdict without -display-issues-are-warnings)",
      )
        .choices(['error', 'warning'])
        .default('warning'),
    )
    .option(
      '--no-values-in-messages',
      "leave the resources' values out of the issues (\"The value '…' is not a valid date\" rather than quoting it): for output kept in CI logs or shown where client data must not go; by default they are quoted, as the HL7 validator words them",
    )
    .option(
      '--require-fi-base',
      'exit 2 when FI Base (hl7.fhir.fi.base) is not found, rather than validating without its own rules (by default one line on stderr says so); it is not shipped with tyokyky-fhir: TYOKYKY_FHIR_PACKAGES, ~/.fhir/packages or --package supply it',
    )
    .option('--progress', 'show progress on stderr (default: when stderr is a terminal)')
    .option('--no-progress', 'never show progress')
    .action(async (paths: string[], opts: ValidateOptions) => {
      const { runValidate } = await import('../validate/run.ts');
      try {
        process.exitCode = await runValidate(paths, opts);
      } catch (e) {
        // Usage and I/O problems (UsageError) and failures to load packages alike: one line, exit 2.
        process.stderr.write(`tyokyky validate: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 2;
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  if (!value) throw new InvalidArgumentError('must not be empty');
  return [...previous, value];
}
