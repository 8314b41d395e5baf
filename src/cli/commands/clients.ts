import type { Command } from 'commander';
import type { AddOptions, KeygenOptions, StoreOptions } from '../clients/run.ts';
import { DEFAULT_TIMEOUT_MS } from '../request-timeout.ts';

/** The work is in `../clients/run.ts`, loaded only when a subcommand runs. */
const run = () => import('../clients/run.ts');

function withStore(cmd: Command): Command {
  return cmd
    .option(
      '--database-url <url>',
      'PostgreSQL connection string (env DATABASE_URL)',
      process.env.DATABASE_URL,
    )
    .option('--data-dir <dir>', 'PGlite data directory (env DATA_DIR)', process.env.DATA_DIR ?? './data');
}

/** `tyokyky clients add|list|remove|keygen|assertion|token`: SMART Backend Services clients. */
export function registerClientsCommand(program: Command): void {
  const clients = program
    .command('clients')
    .description('Register SMART Backend Services clients of the facade (--auth embedded) and get tokens');

  withStore(
    clients
      .command('add')
      .description('register (or replace) a client with its public keys and the scopes it may request')
      .argument('<id>', 'client id')
      .requiredOption(
        '--scope <scopes>',
        'space-separated SMART scopes, e.g. "system/Observation.rs system/Patient.rs"; also tyokyky/turvakielto.read (unredacted turvakielto Patients) and tyokyky/sync.operate (the /api/sync operator API)',
      )
      .option(
        '--party <code>',
        'consent-party code: the client receives only what consents permit (e.g. kela)',
      )
      .option('--jwks-file <file>', 'JSON Web Key Set with the public key(s)')
      .option('--jwks-url <url>', 'where the client publishes its JSON Web Key Set'),
  ).action(async (id: string, opts: AddOptions) => (await run()).addClientAction(id, opts));

  withStore(clients.command('list').description('list registered clients')).action(
    async (opts: StoreOptions) => (await run()).listClientsAction(opts),
  );

  withStore(clients.command('remove').description('remove a client').argument('<id>', 'client id')).action(
    async (id: string, opts: StoreOptions) => (await run()).removeClientAction(id, opts),
  );

  clients
    .command('keygen')
    .description(
      'make an ES384 key pair: <out>.private.jwk.json (keep secret) and <out>.jwks.json (register it)',
    )
    .requiredOption('--out <prefix>', 'file name prefix')
    .option(
      '--force',
      'replace an existing pair (without it, either file existing is refused); a client registered with the old public key then needs the new one',
    )
    .action(async (opts: KeygenOptions) => (await run()).keygenAction(opts));

  clients
    .command('assertion')
    .description('print a signed client assertion (private_key_jwt) for the token endpoint')
    .argument('<id>', 'client id')
    .requiredOption('--key <file>', 'the private JWK from keygen')
    .requiredOption('--token-url <url>', 'token endpoint, e.g. http://127.0.0.1:8080/auth/token')
    .action(async (id: string, opts: { key: string; tokenUrl: string }) =>
      (await run()).assertionAction(id, opts),
    );

  clients
    .command('token')
    .description('get an access token from a facade with --auth embedded and print it')
    .argument('<id>', 'client id')
    .requiredOption('--key <file>', 'the private JWK from keygen')
    .option('--url <url>', 'the facade (origin)', 'http://127.0.0.1:8080')
    .option('--scope <scopes>', 'scopes to ask for (default: all registered)')
    .option('--timeout <ms>', 'how long to wait for the token endpoint to answer', DEFAULT_TIMEOUT_MS)
    .action(async (id: string, opts: { key: string; url: string; scope?: string; timeout: string }) =>
      (await run()).tokenAction(id, opts),
    );
}
