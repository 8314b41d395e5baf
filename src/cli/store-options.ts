// Which store a command opens, for every command with --data-dir and --database-url (serve, clients,
// sync): a flag given on the command line beats the environment, both flags at once are a usage
// error, and a database URL that is no PostgreSQL URL is refused before anything is opened.
import type { Command } from 'commander';

/**
 * Settles `cmd`'s store options before its action runs (a preAction hook of the program):
 * - `--data-dir` given: the PGlite directory, whatever DATABASE_URL says;
 * - `--database-url` given: PostgreSQL, whatever DATA_DIR says;
 * - both given: exit 2 (`give either --data-dir or --database-url, not both`);
 * - neither: DATABASE_URL when set, else DATA_DIR, else `./data`.
 * A database URL whose scheme is not postgres: or postgresql: is exit 2, naming the scheme only (the
 * URL may hold a password).
 */
export function settleStoreOptions(cmd: Command): void {
  const names = new Set(cmd.options.map((o) => o.attributeName()));
  if (!names.has('dataDir') || !names.has('databaseUrl')) return;
  const fail = (message: string): never => {
    console.error(`tyokyky ${commandName(cmd)}: ${message}`);
    process.exit(2);
  };
  const urlGiven = cmd.getOptionValueSource('databaseUrl') === 'cli';
  if (cmd.getOptionValueSource('dataDir') === 'cli') {
    if (urlGiven) fail('give either --data-dir or --database-url, not both');
    cmd.setOptionValue('databaseUrl', undefined);
    return;
  }
  const url = cmd.getOptionValue('databaseUrl') as string | undefined;
  if (!urlGiven && !url) return; // DATABASE_URL unset (or empty): PGlite
  const refusal = notPostgres(url ?? '');
  if (refusal) fail(`invalid ${urlGiven ? '--database-url' : 'DATABASE_URL'}: ${refusal}`);
}

/** Why `url` is no PostgreSQL connection URL, or undefined when it is one. */
function notPostgres(url: string): string | undefined {
  const ask = 'give a postgres:// or postgresql:// URL';
  let scheme: string;
  try {
    scheme = new URL(url).protocol;
  } catch {
    return `${ask} (it is no URL)`;
  }
  return scheme === 'postgres:' || scheme === 'postgresql:'
    ? undefined
    : `${ask} (the scheme given is ${scheme})`;
}

/** `serve`, `clients`, `sync`: the top-level command a subcommand belongs to, as its messages name it. */
function commandName(cmd: Command): string {
  let top = cmd;
  while (top.parent?.parent) top = top.parent;
  return top.name();
}
