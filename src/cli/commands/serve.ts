import type { Command } from 'commander';
import type { Logger } from 'pino';
import type { AuthConfig } from '../../server/security/index.ts';
import type { Store } from '../../store/index.ts';
import type { RemoteConfig, SyncService } from '../../sync/index.ts';
import { addRemoteOptions, remoteSettings } from '../remote-options.ts';

function envFlag(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  return !/^(0|false|no|off)$/i.test(value);
}

/** `tyokyky serve` (the facade) and `tyokyky load` (post Bundles/resources through its API). */
export function registerServeCommands(program: Command): void {
  const serve = program.command('serve');
  // The same remote options as `tyokyky sync` (flags, environment, checks): one configuration path.
  addRemoteOptions(serve, ' of the Kanta-style store to sync with (starts the sync worker)');
  serve
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
    .option(
      '--mode <mode>',
      'fhir (our facade) or kanta-phr (a local Kanta PHR sandbox, docs/kanta.md)',
      'fhir',
    )
    .option('--remote-party <code>', 'same as --party (kept for existing scripts)')
    .option('--base-url <url>', 'public base URL of the FHIR API used in links (default: from the request)')
    .option(
      '--trust-proxy <addresses>',
      'reverse proxies (comma-separated IPs or CIDR ranges) whose X-Forwarded-Proto/Host/Prefix shape links (env TYOKYKY_TRUST_PROXY)',
      process.env.TYOKYKY_TRUST_PROXY,
    )
    .option(
      '--workers <n>',
      'facade processes sharing the port; more than 1 needs --database-url (env TYOKYKY_WORKERS)',
      process.env.TYOKYKY_WORKERS ?? '1',
    )
    .action(async (opts, cmd: Command) => {
      const { defaultLogger, startServer, superviseWorkers, workerIndex } = await import(
        '../../server/index.ts'
      );

      const logger = defaultLogger();
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        logger.error(`invalid --port "${opts.port}"`);
        process.exit(2);
      }
      if (opts.mode !== 'fhir' && opts.mode !== 'kanta-phr') {
        logger.error(`invalid --mode "${opts.mode}" (fhir or kanta-phr)`);
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
      const { remoteConfigFrom } = await import('../../sync/index.ts');
      let remote: RemoteConfig | undefined;
      try {
        remote = remoteConfigFrom(remoteSettings({ ...opts, party: opts.party ?? opts.remoteParty }));
      } catch (err) {
        startupFailed(`invalid remote settings: ${(err as Error).message}`);
      }
      const { assertPortFree } = await import('../../server/start.ts');
      // Checked first: a taken port must not leave a new data directory or database behind.
      await assertPortFree(port, opts.host).catch((err: Error) => startupFailed(err.message));
      // The validator's definitions load while the store opens (its own promise: an error surfaces
      // where it is awaited, after the store's).
      const validator = import('../../validation/index.ts').then((m) => m.loadProjectValidator());
      validator.catch(() => {});
      const { explainOpenError, openStore } = await import('../../store/index.ts');
      const where = opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : { dataDir: opts.dataDir };
      const store = await openStore(where).catch((err: Error) =>
        startupFailed(explainOpenError(err, where) ?? `cannot open the store: ${err.message}`),
      );
      // Every worker records its writes in the sync outbox; only the first runs the push and pull loops.
      const sync = remote
        ? await startSync(store, remote, logger, worker === undefined || worker === 1)
        : undefined;
      const running = await startServer({
        store,
        validator: await validator.catch((err: Error) =>
          startupFailed(`cannot load the FHIR definitions: ${err.message}`),
        ),
        strict,
        port,
        host: opts.host,
        logger,
        baseUrl: opts.baseUrl,
        sync,
        mode: opts.mode === 'kanta-phr' ? 'kanta-phr' : 'fhir',
        auth,
        insecure: opts.insecure === true,
        rateLimit: Number(opts.rateLimit) || 6000,
        trustProxy: typeof opts.trustProxy === 'string' ? opts.trustProxy.split(',').filter(Boolean) : [],
      }).catch((err: Error) => startupFailed(err.message));
      logger.info(
        {
          url: `${running.url}/fhir`,
          engine: store.engine,
          strict,
          remote: remote?.baseUrl ?? null,
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
      const { expandFiles, loadFile } = await import('../load/files.ts');
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

/** A startup failure as one line on stderr (no stack) and exit status 2. */
function startupFailed(message: string): never {
  console.error(`tyokyky serve: ${message}`);
  process.exit(2);
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
