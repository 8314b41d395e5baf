import { Command } from 'commander';
import { readProjectJson } from '../shared/project-files.ts';
import { registerClientsCommand } from './commands/clients.ts';
import { registerMapCommand } from './commands/map.ts';
import { registerServeCommands } from './commands/serve.ts';
import { registerSyncCommand } from './commands/sync.ts';
import { registerValidateCommand } from './commands/validate.ts';
import { settleStoreOptions } from './store-options.ts';

/**
 * The `tyokyky` command tree. `main.ts` parses `process.argv` with it; tests build one per run to
 * drive a subcommand in their own process (tests/helpers/cli.ts).
 */
export function createProgram(): Command {
  const version = readProjectJson<{ version: string }>('package.json').version;
  const program = new Command()
    .name('tyokyky')
    .description('Finnish work-ability support (työkyvyn tuki) as FHIR R4: validate, map, serve and sync')
    .version(version, '-V, --version')
    .showHelpAfterError('(run the command with --help for its options)')
    // What follows the first word that is no option belongs to that command: `tyokyky reindex --help`
    // is an unknown command (exit 2), as `tyokyky reindex` is, not the root help and exit 0. A known
    // command's own options are its own either way (passThroughOptions is not inherited).
    .passThroughOptions()
    .exitOverride((err) => {
      // commander reports usage errors itself; map them to exit code 2 as documented.
      process.exit(err.exitCode === 0 ? 0 : 2);
    });
  registerValidateCommand(program);
  registerMapCommand(program);
  registerServeCommands(program);
  registerSyncCommand(program);
  registerClientsCommand(program);
  // With the root's options left to each command (passThroughOptions), each answers -V / --version
  // itself, as `tyokyky validate --version` did when the root read it.
  const withVersion = (cmd: Command): void => {
    for (const sub of cmd.commands) {
      sub.version(version, '-V, --version');
      withVersion(sub);
    }
  };
  withVersion(program);
  withStrictHelp(program);
  // --data-dir / --database-url against DATA_DIR / DATABASE_URL, the same for every command.
  program.hook('preAction', (_program, action) => settleStoreOptions(action));
  return program;
}

/**
 * commander's own `help <name>` shows the parent's help (exit 2) for a name that is no command, with no
 * word on why: here, on `cmd` and every command under it that has commands, `help [names...]` walks
 * down the names (`tyokyky help sync push`) and shows the help of the command they name; a name that is
 * no command where it stands is refused as `tyokyky <name>` is ("unknown command", exit 2). `help`
 * names the help of where it stands.
 */
function withStrictHelp(cmd: Command): void {
  const subcommands = [...cmd.commands];
  if (!subcommands.length) return;
  cmd.helpCommand(false);
  cmd
    .command('help [command...]')
    .description('display help for command')
    .action((names: string[]) => {
      let at = cmd;
      for (const name of names) {
        if (name === 'help') continue;
        const sub = at.commands.find((c) => c.name() === name || c.aliases().includes(name));
        if (!sub || sub.name() === 'help') at.error(`error: unknown command '${name}'`);
        at = sub as Command;
      }
      at.help();
    });
  for (const sub of subcommands) withStrictHelp(sub);
}
