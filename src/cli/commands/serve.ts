import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { expandFiles, loadFile } from '../../server/cli/load.ts';
import type { AuthConfig } from '../../server/security/index.ts';
import type { Store } from '../../store/index.ts';
import type { RemoteConfig, SyncService } from '../../sync/index.ts';

function envFlag(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  return !/^(0|false|no|off)$/i.test(value);
}

/** `tyokyky serve` (the facade) and `tyokyky load` (post Bundles/resources through its API). */
export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description('Run the FHIR facade (embedded PGlite in --data-dir, or PostgreSQL with --database-url)')
    .option('-p, --port <port>', 'port to listen on (env PORT)', process.env.PORT ?? '8080')
    .option('--host <host>', 'interface to listen on (env HOST)', process.env.HOST ?? '127.0.0.1')
    .option(
      '--auth <mode>',
      'off | embedded (SMART Backend Services token server at /auth/token) | external (env TYOKYKY_AUTH)',
      process.env.TYOKYKY_AUTH ?? 'off',
    )
    .option(
      '--auth-issuer <url>',
      'issuer of an external IdP (with --auth external)',
      process.env.TYOKYKY_AUTH_ISSUER,
    )
    .option(
      '--auth-jwks-url <url>',
      'JWKS URL of an external IdP (with --auth external)',
      process.env.TYOKYKY_AUTH_JWKS_URL,
    )
    .option('--rate-limit <n>', 'requests per client per minute', process.env.TYOKYKY_RATE_LIMIT ?? '6000')
    .option(
      '--insecure',
      'allow a non-loopback --host with --auth off (anyone reaching it can read everything)',
    )
    .option('--data-dir <dir>', 'PGlite data directory (env DATA_DIR)', process.env.DATA_DIR ?? './data')
    .option(
      '--database-url <url>',
      'PostgreSQL connection string (env DATABASE_URL)',
      process.env.DATABASE_URL,
    )
    .option(
      '--no-strict',
      'accept resources of our families without one of our profiles (env TYOKYKY_STRICT=0)',
    )
    .option('--remote <url>', 'FHIR base URL of the Kanta-style store to sync with (starts the sync worker)')
    .option('--remote-party <code>', 'consent-party code the remote counts as', 'other-health-care')
    .option('--remote-client-id <id>', 'our client id at the remote (private_key_jwt with --remote-key)')
    .option('--remote-key <file>', 'our private JWK for the remote (a tyokyky facade with --auth embedded)')
    .option('--remote-token-url <url>', 'the remote token endpoint (default: <remote origin>/auth/token)')
    .option('--base-url <url>', 'public base URL of the FHIR API used in links (default: from the request)')
    .option(
      '--workers <n>',
      'facade processes sharing the port; more than 1 needs --database-url (env TYOKYKY_WORKERS)',
      process.env.TYOKYKY_WORKERS ?? '1',
    )
    .action(async (opts, cmd: Command) => {
      const { startServer, superviseWorkers, workerIndex } = await import('../../server/index.ts');
      const { defaultLogger } = await import('../../server/ops.ts');
      const logger = defaultLogger();
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        logger.error(`invalid --port "${opts.port}"`);
        process.exit(2);
      }
      const workers = Number(opts.workers);
      if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
        logger.error(`invalid --workers "${opts.workers}" (a whole number from 1 to 64)`);
        process.exit(2);
      }
      if (workers > 1 && !opts.databaseUrl) {
        logger.error('--workers above 1 needs --database-url: PGlite is an embedded database of one process');
        process.exit(2);
      }
      const worker = workerIndex();
      if (workers > 1 && worker === undefined) {
        superviseWorkers(workers, logger);
        return;
      }
      const auth = authConfig(opts);
      if (typeof auth === 'string') {
        logger.error(auth);
        process.exit(2);
      }
      const strict =
        cmd.getOptionValueSource('strict') === 'cli'
          ? opts.strict
          : (envFlag(process.env.TYOKYKY_STRICT) ?? true);
      const { openStore } = await import('../../store/index.ts');
      const store = await openStore(
        opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : { dataDir: opts.dataDir },
      );
      // Every worker records its writes in the sync outbox; only the first runs the push and pull loops.
      const sync = opts.remote
        ? await startSync(store, remoteConfig(opts), logger, worker === undefined || worker === 1)
        : undefined;
      const running = await startServer({
        store,
        strict,
        port,
        host: opts.host,
        logger,
        baseUrl: opts.baseUrl,
        sync,
        auth,
        insecure: opts.insecure === true,
        rateLimit: Number(opts.rateLimit) || 6000,
      }).catch((err: Error) => {
        logger.error(err.message);
        process.exit(2);
      });
      logger.info(
        {
          url: `${running.url}/fhir`,
          engine: store.engine,
          strict,
          remote: opts.remote ?? null,
          auth: auth.mode,
          ...(worker === undefined ? {} : { worker }),
        },
        `tyokyky-fhir facade listening on ${running.url}/fhir`,
      );
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'shutting down: finishing in-flight requests');
        await sync?.stop();
        await running.close();
        await store.close();
        logger.info('store closed; bye');
        process.exit(0);
      };
      process.on('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGINT', () => void stop('SIGINT'));
    });

  program
    .command('load')
    .description('Post FHIR Bundles/resources (files or directories of *.json) through a running facade')
    .argument('<files...>', 'JSON files or directories')
    .option('--url <url>', 'FHIR base URL of the facade', 'http://localhost:8080/fhir')
    .action(async (files: string[], opts: { url: string }) => {
      const base = opts.url.replace(/\/$/, '');
      let failed = 0;
      for (const file of await expandFiles(files)) {
        const r = await loadFile(file, base);
        if (!r.ok) failed++;
        console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.file}  ${r.status || '-'}  ${r.summary}`);
      }
      if (failed) {
        console.error(`${failed} file(s) failed`);
        process.exit(1);
      }
    });
}

/** The --remote options; private_key_jwt when a key is given (SMART Backend Services). */
function remoteConfig(opts: {
  remote: string;
  remoteParty: string;
  remoteClientId?: string;
  remoteKey?: string;
  remoteTokenUrl?: string;
}): RemoteConfig {
  const remote: RemoteConfig = { baseUrl: opts.remote, party: opts.remoteParty };
  if (!opts.remoteKey || !opts.remoteClientId) return remote;
  return {
    ...remote,
    auth: {
      tokenUrl: opts.remoteTokenUrl ?? `${new URL(opts.remote).origin}/auth/token`,
      clientId: opts.remoteClientId,
      method: 'private_key_jwt',
      privateKey: JSON.parse(readFileSync(opts.remoteKey, 'utf8')),
    },
  };
}

/** The --auth options as the server's AuthConfig, or what is wrong with them. */
function authConfig(opts: { auth: string; authIssuer?: string; authJwksUrl?: string }): AuthConfig | string {
  if (opts.auth === 'off' || opts.auth === 'embedded') return { mode: opts.auth };
  if (opts.auth !== 'external') return `invalid --auth "${opts.auth}" (off, embedded or external)`;
  if (!opts.authIssuer || !opts.authJwksUrl) return '--auth external needs --auth-issuer and --auth-jwks-url';
  return { mode: 'external', issuer: opts.authIssuer, jwksUrl: opts.authJwksUrl };
}

/** The sync worker installs its outbox hook on the store before the server takes writes. */
async function startSync(
  store: Store,
  remote: RemoteConfig,
  logger: Logger,
  runLoops: boolean,
): Promise<SyncService> {
  const { createSync } = await import('../../sync/index.ts');
  const sync = createSync({ store, remote, logger: logger.child({ remote: remote.baseUrl }) });
  if (runLoops) sync.start();
  return sync;
}
