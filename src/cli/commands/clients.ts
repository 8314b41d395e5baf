import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { JWK } from 'jose';

interface StoreOptions {
  databaseUrl?: string;
  dataDir: string;
}

function withStore(cmd: Command): Command {
  return cmd
    .option(
      '--database-url <url>',
      'PostgreSQL connection string (env DATABASE_URL)',
      process.env.DATABASE_URL,
    )
    .option('--data-dir <dir>', 'PGlite data directory (env DATA_DIR)', process.env.DATA_DIR ?? './data');
}

/** Opens the store with the security tables in place, runs `fn`, closes it. */
async function withSecurityStore<T>(opts: StoreOptions, fn: (db: never) => Promise<T>): Promise<T> {
  const { openStore } = await import('../../store/index.ts');
  const { SECURITY_MIGRATION, SECURITY_STATEMENTS } = await import('../../server/security/index.ts');
  const store = await openStore(
    opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : { dataDir: opts.dataDir },
  );
  try {
    await store.migrate(SECURITY_MIGRATION, SECURITY_STATEMENTS);
    return await fn(store as never);
  } finally {
    await store.close();
  }
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

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
        'space-separated SMART scopes, e.g. "system/Observation.rs system/Patient.rs"',
      )
      .option(
        '--party <code>',
        'consent-party code: the client receives only what consents permit (e.g. kela)',
      )
      .option('--jwks-file <file>', 'JSON Web Key Set with the public key(s)')
      .option('--jwks-url <url>', 'where the client publishes its JSON Web Key Set'),
  ).action(
    async (
      id: string,
      opts: StoreOptions & { scope: string; party?: string; jwksFile?: string; jwksUrl?: string },
    ) => {
      const { addClient } = await import('../../server/security/index.ts');
      const jwks = opts.jwksFile ? readJson<{ keys: JWK[] }>(opts.jwksFile) : undefined;
      await withSecurityStore(opts, (db) =>
        addClient(db, {
          id,
          scope: opts.scope,
          ...(opts.party ? { party: opts.party } : {}),
          ...(jwks ? { jwks } : {}),
          ...(opts.jwksUrl ? { jwksUrl: opts.jwksUrl } : {}),
        }),
      ).catch((err: Error) => fail(err.message));
      console.log(`client ${id} registered`);
    },
  );

  withStore(clients.command('list').description('list registered clients')).action(
    async (opts: StoreOptions) => {
      const { listClients } = await import('../../server/security/index.ts');
      for (const c of await withSecurityStore(opts, (db) => listClients(db))) {
        console.log(
          `${c.id}\t${c.party ?? '-'}\t${c.scope}\t${c.jwksUrl ?? `${c.jwks?.keys.length ?? 0} key(s)`}`,
        );
      }
    },
  );

  withStore(clients.command('remove').description('remove a client').argument('<id>', 'client id')).action(
    async (id: string, opts: StoreOptions) => {
      const { removeClient } = await import('../../server/security/index.ts');
      if (!(await withSecurityStore(opts, (db) => removeClient(db, id)))) fail(`no client ${id}`);
      console.log(`client ${id} removed`);
    },
  );

  clients
    .command('keygen')
    .description(
      'make an ES384 key pair: <out>.private.jwk.json (keep secret) and <out>.jwks.json (register it)',
    )
    .requiredOption('--out <prefix>', 'file name prefix')
    .action(async (opts: { out: string }) => {
      const { exportJWK, generateKeyPair } = await import('jose');
      const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
      const kid = randomUUID();
      const priv = { ...(await exportJWK(privateKey)), kid, alg: 'ES384' };
      const pub = { ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' };
      writeFileSync(`${opts.out}.private.jwk.json`, `${JSON.stringify(priv, null, 2)}\n`, { mode: 0o600 });
      writeFileSync(`${opts.out}.jwks.json`, `${JSON.stringify({ keys: [pub] }, null, 2)}\n`);
      console.log(`wrote ${opts.out}.private.jwk.json and ${opts.out}.jwks.json`);
    });

  clients
    .command('assertion')
    .description('print a signed client assertion (private_key_jwt) for the token endpoint')
    .argument('<id>', 'client id')
    .requiredOption('--key <file>', 'the private JWK from keygen')
    .requiredOption('--token-url <url>', 'token endpoint, e.g. http://127.0.0.1:8080/auth/token')
    .action(async (id: string, opts: { key: string; tokenUrl: string }) => {
      const { clientAssertion } = await import('../../sync/index.ts');
      console.log(await clientAssertion(id, opts.tokenUrl, readJson<JWK>(opts.key)));
    });

  clients
    .command('token')
    .description('get an access token from a facade with --auth embedded and print it')
    .argument('<id>', 'client id')
    .requiredOption('--key <file>', 'the private JWK from keygen')
    .option('--url <url>', 'the facade (origin)', 'http://127.0.0.1:8080')
    .option('--scope <scopes>', 'scopes to ask for (default: all registered)')
    .action(async (id: string, opts: { key: string; url: string; scope?: string }) => {
      const { clientAssertion } = await import('../../sync/index.ts');
      const tokenUrl = `${opts.url.replace(/\/+$/, '')}/auth/token`;
      const form = new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await clientAssertion(id, tokenUrl, readJson<JWK>(opts.key)),
      });
      if (opts.scope) form.set('scope', opts.scope);
      const res = await fetch(tokenUrl, { method: 'POST', body: form });
      const body = (await res.json()) as {
        access_token?: string;
        error?: string;
        error_description?: string;
      };
      if (!res.ok || !body.access_token)
        fail(`token refused: ${body.error ?? res.status} ${body.error_description ?? ''}`);
      console.log(body.access_token);
    });
}
