import { type Command, Option } from 'commander';
import type { MapOptions } from '../map/run.ts';

/** `tyokyky map`; the mapping stage is loaded only when the command runs (`../map/run.ts`). */
export function registerMapCommand(program: Command): void {
  program
    .command('map')
    .description(
      'Map domain JSON to FHIR (a record {client, ...} → transaction Bundle, or {kind, value} → Bundle) or FHIR back to domain JSON (a Bundle with its client → record; a Bundle of one object, or one resource → {kind, value})',
    )
    .option('--to-fhir <file>', 'domain JSON file ("-" for stdin) → FHIR JSON on stdout')
    .option(
      '--from-fhir <file>',
      'FHIR JSON file, a Bundle or one resource ("-" for stdin) → domain JSON on stdout',
    )
    .addOption(
      new Option('--language <lang>', 'language of Resource.language and the narrative')
        .choices(['fi', 'sv', 'en'])
        .default('fi'),
    )
    .option(
      '--application-name <name>',
      "with --to-fhir: the creating application's name in Kanta's creating-application extension (with --application-id)",
    )
    .option(
      '--application-id <id>',
      'with --to-fhir: the applicationId Kela assigned to the application (with --application-name)',
    )
    .option(
      '--local-id-system-base <uri>',
      'base of your local-id systems (<uri>/<kind>), e.g. https://ehr.example.fi/sid/local: the identifiers --to-fhir writes and --from-fhir reads ids from',
    )
    .addHelpText('after', '\nInput files larger than 64 MiB are refused (exit 2).')
    .action(async (opts: MapOptions, cmd: Command) => {
      if ((opts.toFhir === undefined) === (opts.fromFhir === undefined)) {
        cmd.error('tyokyky map: give exactly one of --to-fhir <file> or --from-fhir <file>', { exitCode: 2 });
      }
      const app = [opts.applicationName, opts.applicationId].filter((v) => v !== undefined).length;
      if (app === 1)
        cmd.error('tyokyky map: give --application-name and --application-id together', { exitCode: 2 });
      if (app && opts.fromFhir !== undefined)
        cmd.error(
          'tyokyky map: --application-name and --application-id apply to --to-fhir (the application is written, not read)',
          { exitCode: 2 },
        );
      const { runMap } = await import('../map/run.ts');
      process.exitCode = runMap(opts);
    });
}
