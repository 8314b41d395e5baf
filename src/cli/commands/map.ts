import { type Command, Option } from 'commander';
import type { MapOptions } from '../map/run.ts';

/** `tyokyky map`; the mapping stage is loaded only when the command runs (`../map/run.ts`). */
export function registerMapCommand(program: Command): void {
  program
    .command('map')
    .description(
      'Map domain JSON to FHIR (a record {client, ...} → transaction Bundle, or {kind, value} → Bundle) or FHIR back to domain JSON',
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
    .action(async (opts: MapOptions, cmd: Command) => {
      if ((opts.toFhir === undefined) === (opts.fromFhir === undefined)) {
        cmd.error('tyokyky map: give exactly one of --to-fhir <file> or --from-fhir <file>', { exitCode: 2 });
      }
      const { runMap } = await import('../map/run.ts');
      process.exitCode = runMap(opts);
    });
}
