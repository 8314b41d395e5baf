import type { Command } from 'commander';
import type { Logger } from 'pino';
import type { AuthConfig } from '../../server/index.ts';
import { checkHttpUrl } from '../../shared/http-url.ts';
import type { Store } from '../../store/index.ts';
import type { RemoteConfig, SyncService } from '../../sync/index.ts';
import type { Validator } from '../../validation/index.ts';
import { addRemoteOptions, remoteFlagsGiven, remoteSettings } from '../remote-options.ts';
import { NO_STRICT_HELP, strictFrom } from '../strict-mode.ts';
import { registerLoadCommand } from './load.ts';

/** One `tyokyky serve` option: its flags, help text and default (environment defaults are read when registered). */
interface ServeOption {
  flags: string;
  description: string;
  fallback?: string;
}

/** The options of `tyokyky serve` besides the remote ones, in the order --help lists them. */
function serveOptions(env: NodeJS.ProcessEnv): ServeOption[] {
  return [
    { flags: '-p, --port <port>', description: 'port to listen on (env PORT)', fallback: env.PORT ?? '8080' },
    {
      flags: '--host <host>',
      description: 'interface to listen on (env HOST)',
      fallback: env.HOST ?? '127.0.0.1',
    },
    {
      flags: '--auth <mode>',
      description:
        'off | embedded (SMART Backend Services token server at /auth/token) | external (env TYOKYKY_AUTH)',
      fallback: env.TYOKYKY_AUTH ?? 'off',
    },
    {
      flags: '--auth-issuer <url>',
      description: 'issuer of an external IdP (with --auth external) (env TYOKYKY_AUTH_ISSUER)',
      fallback: env.TYOKYKY_AUTH_ISSUER,
    },
    {
      flags: '--auth-jwks-url <url>',
      description: 'JWKS URL of an external IdP (with --auth external) (env TYOKYKY_AUTH_JWKS_URL)',
      fallback: env.TYOKYKY_AUTH_JWKS_URL,
    },
    {
      flags: '--auth-token-url <url>',
      description:
        'token endpoint of an external IdP, named in /.well-known/smart-configuration (with --auth external) (env TYOKYKY_AUTH_TOKEN_URL)',
      fallback: env.TYOKYKY_AUTH_TOKEN_URL,
    },
    {
      flags: '--rate-limit <n>',
      description: 'requests per client per minute, for the whole worker pool (env TYOKYKY_RATE_LIMIT)',
      fallback: env.TYOKYKY_RATE_LIMIT ?? '6000',
    },
    {
      flags: '--insecure',
      description: 'allow a non-loopback --host with --auth off (anyone reaching it can read everything)',
    },
    {
      flags: '--data-dir <dir>',
      description: 'PGlite data directory (env DATA_DIR)',
      fallback: env.DATA_DIR ?? './data',
    },
    {
      flags: '--database-url <url>',
      description: 'PostgreSQL connection string (env DATABASE_URL)',
      fallback: env.DATABASE_URL,
    },
    {
      flags: '--no-strict',
      description: NO_STRICT_HELP,
    },
    {
      flags: '--mode <mode>',
      description: 'fhir (our facade) or kanta-phr (a local Kanta PHR sandbox, docs/kanta.md)',
      fallback: 'fhir',
    },
    { flags: '--remote-party <code>', description: 'same as --party (kept for existing scripts)' },
    {
      flags: '--base-url <url>',
      description:
        "public base URL of the FHIR API used in links (default: the address it listens on, http://HOST:PORT/fhir; never the request's Host)",
    },
    {
      flags: '--trust-proxy <addresses>',
      description:
        'reverse proxies (comma-separated IPs or CIDR ranges) whose X-Forwarded-Proto/Host/Prefix shape links (env TYOKYKY_TRUST_PROXY)',
      fallback: env.TYOKYKY_TRUST_PROXY,
    },
    {
      flags: '--workers <n>',
      description:
        'facade processes sharing the port; more than 1 needs --database-url (env TYOKYKY_WORKERS)',
      fallback: env.TYOKYKY_WORKERS ?? '1',
    },
  ];
}

/** The parsed options of `tyokyky serve` (commander's camel-cased keys). */
interface ServeOpts {
  port: string;
  host: string;
  auth: string;
  authIssuer?: string;
  authJwksUrl?: string;
  authTokenUrl?: string;
  rateLimit: string;
  insecure?: boolean;
  dataDir: string;
  databaseUrl?: string;
  strict: boolean;
  mode: string;
  party?: string;
  remoteParty?: string;
  baseUrl?: string;
  trustProxy?: string;
  workers: string;
  [remoteOption: string]: unknown;
}

/** `tyokyky serve` (the facade) and `tyokyky load` (post Bundles/resources through its API). */
export function registerServeCommands(program: Command): void {
  const serve = program.command('serve');
  // The same remote options as `tyokyky sync` (flags, environment, checks): one configuration path.
  addRemoteOptions(serve, ' of the Kanta-style store to sync with (starts the sync worker)');
  serve.description('Run the FHIR facade (embedded PGlite in --data-dir, or PostgreSQL with --database-url)');
  for (const o of serveOptions(process.env)) serve.option(o.flags, o.description, o.fallback);
  serve.action(runServe);
  registerLoadCommand(program);
}

/** The checked numbers and modes of the options; exits with status 2 on the first invalid one. */
function checkServeOptions(opts: ServeOpts): { port: number; workers: number; rateLimit: number } {
  const fail = startupFailed;
  const rateLimit = Number(opts.rateLimit);
  if (!Number.isInteger(rateLimit) || rateLimit < 1)
    fail(`invalid --rate-limit "${opts.rateLimit}" (requests per client per minute, a whole number from 1)`);
  try {
    if (opts.baseUrl) checkHttpUrl(opts.baseUrl, '--base-url');
    if (opts.authIssuer) checkHttpUrl(opts.authIssuer, '--auth-issuer');
    if (opts.authJwksUrl) checkHttpUrl(opts.authJwksUrl, '--auth-jwks-url');
    if (opts.authTokenUrl) checkHttpUrl(opts.authTokenUrl, '--auth-token-url');
  } catch (err) {
    fail((err as Error).message);
  }
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid --port "${opts.port}"`);
  if (opts.mode !== 'fhir' && opts.mode !== 'kanta-phr')
    fail(`invalid --mode "${opts.mode}" (fhir or kanta-phr)`);
  const workers = Number(opts.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    fail(`invalid --workers "${opts.workers}" (a whole number from 1 to 64)`);
  }
  if (workers > 1 && !opts.databaseUrl) {
    fail('--workers above 1 needs --database-url: PGlite is an embedded database of one process');
  }
  return { port, workers, rateLimit };
}

/** The action of `tyokyky serve`: checks the options, then runs a supervisor or one facade process. */
async function runServe(opts: ServeOpts, cmd: Command): Promise<void> {
  const { assertExposureAllowed, checkTrustedProxies, defaultLogger, superviseWorkers, workerIndex } =
    await import('../../server/index.ts');
  const logger = defaultLogger();
  const { port, workers, rateLimit } = checkServeOptions(opts);
  const auth = authConfig(opts);
  if (typeof auth === 'string') startupFailed(auth);
  const unused = flagsWithoutEffect(opts, cmd);
  if (unused) startupFailed(unused);
  // Before anything is opened or started: a refused start leaves no data directory behind.
  try {
    assertExposureAllowed({ auth, host: opts.host, insecure: opts.insecure === true });
  } catch (err) {
    startupFailed((err as Error).message);
  }
  try {
    checkTrustedProxies(trustedProxies(opts));
  } catch (err) {
    startupFailed(`--trust-proxy: ${(err as Error).message}`);
  }
  const worker = workerIndex();
  if (workers > 1 && worker === undefined) {
    superviseWorkers(workers, logger);
    return;
  }
  await startFacade({ opts, port, rateLimit, auth, strict: strictFrom(cmd), worker, logger });
}

/** What one facade process starts from. */
interface FacadeStart {
  opts: ServeOpts;
  port: number;
  rateLimit: number;
  auth: AuthConfig;
  strict: boolean;
  worker: number | undefined;
  logger: Logger;
}

/** Opens the store (and the sync worker), starts listening, logs the URL and stops on SIGTERM/SIGINT. */
async function startFacade({
  opts,
  port,
  rateLimit,
  auth,
  strict,
  worker,
  logger,
}: FacadeStart): Promise<void> {
  const { startServer } = await import('../../server/index.ts');
  const { checkSigningKey, remoteConfigFrom } = await import('../../sync/index.ts');
  let remote: RemoteConfig | undefined;
  try {
    const settings = remoteSettings({ ...opts, party: opts.party ?? opts.remoteParty });
    remote = remoteConfigFrom(settings);
    const key = remote?.auth?.privateKey;
    if (key) await checkSigningKey(key, `--client-key: ${settings.clientKey}`);
  } catch (err) {
    startupFailed(`invalid remote settings: ${(err as Error).message}`);
  }
  const { assertPortFree } = await import('../../server/index.ts');
  // Checked first: a taken port must not leave a new data directory or database behind.
  await assertPortFree(port, opts.host).catch((err: Error) => startupFailed(err.message));
  // The validator's definitions load while the store opens (its own promise: an error surfaces
  // where it is awaited, after the store's).
  const validator = import('../../validation/index.ts').then((m) => m.loadProjectValidator());
  validator.catch(() => {});
  const { explainOpenError, openStore } = await import('../../store/index.ts');
  const where = opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : { dataDir: opts.dataDir };
  const onReindex = (indexed: number, done: boolean) =>
    logger.info(
      { indexed },
      done ? 'search index rebuilt' : 'rebuilding the search index (once, after an upgrade)',
    );
  // Once per process start, not per migration: a new database gets every one of them.
  const applied: string[] = [];
  let applying = false;
  const onMigrate = (migration: string, done: boolean) => {
    if (done) applied.push(migration);
    else if (!applying) {
      applying = true;
      logger.info('applying the store migrations: a new database, or the first start after an upgrade');
    }
  };
  const store = await openStore({ ...where, onReindex, onMigrate }).catch((err: Error) =>
    startupFailed(explainOpenError(err, where) ?? `cannot open the store: ${err.message}`),
  );
  if (applied.length) logger.info({ migrations: applied }, `store migrations applied: ${applied.length}`);
  // Every worker records its writes in the sync outbox; only the first runs the push and pull loops.
  const sync = remote
    ? await startSync(store, remote, logger, worker === undefined || worker === 1, validator, strict)
    : undefined;
  const definitions = await validator.catch((err: Error) =>
    startupFailed(`cannot load the FHIR definitions: ${err.message}`),
  );
  // FI Base is not shipped with the package: without it, its own rules go unchecked (one warn line).
  const noFiBase = (await import('../../validation/index.ts')).fiBaseMissing(definitions);
  if (noFiBase) logger.warn(noFiBase);
  const running = await startServer({
    store,
    validator: definitions,
    strict,
    port,
    host: opts.host,
    logger,
    baseUrl: opts.baseUrl,
    sync,
    mode: opts.mode === 'kanta-phr' ? 'kanta-phr' : 'fhir',
    auth,
    insecure: opts.insecure === true,
    rateLimit,
    trustProxy: trustedProxies(opts),
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
  stopOnSignals(logger, async () => {
    await sync?.stop();
    await running.close();
    await store.close();
  });
}

/** On the first SIGTERM or SIGINT: finish in-flight work, close, exit 0. */
function stopOnSignals(logger: Logger, close: () => Promise<void>): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    await close();
    logger.info('store closed; bye');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** `--trust-proxy` (or TYOKYKY_TRUST_PROXY) as the list the server takes. */
function trustedProxies(opts: Pick<ServeOpts, 'trustProxy'>): string[] {
  return typeof opts.trustProxy === 'string' ? opts.trustProxy.split(',').filter(Boolean) : [];
}

/** A startup failure as one line on stderr (no stack) and exit status 2. */
function startupFailed(message: string): never {
  console.error(`tyokyky serve: ${message}`);
  process.exit(2);
}

/**
 * Flags given on the command line that this start would ignore, as a refusal: the sync's without a
 * remote (flag or TYOKYKY_SYNC_REMOTE), an external IdP's without `--auth external`.
 */
function flagsWithoutEffect(opts: ServeOpts, cmd: Command): string | undefined {
  const sync = remoteFlagsGiven(cmd);
  if (cmd.getOptionValueSource('remoteParty') === 'cli') sync.push('--remote-party');
  if (sync.length && !remoteSettings(opts).remote)
    return `${sync.join(', ')} ${sync.length > 1 ? 'configure' : 'configures'} the sync, which runs only with --remote (or TYOKYKY_SYNC_REMOTE)`;
  const idp = ['authIssuer', 'authJwksUrl', 'authTokenUrl']
    .filter((k) => cmd.getOptionValueSource(k) === 'cli')
    .map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  if (idp.length && opts.auth !== 'external')
    return `${idp.join(', ')} ${idp.length > 1 ? 'name' : 'names'} an external IdP, used only with --auth external (not --auth ${opts.auth})`;
  return undefined;
}

/** The --auth options as the server's AuthConfig, or what is wrong with them. */
function authConfig(opts: {
  auth: string;
  authIssuer?: string;
  authJwksUrl?: string;
  authTokenUrl?: string;
}): AuthConfig | string {
  if (opts.auth === 'off' || opts.auth === 'embedded') return { mode: opts.auth };
  if (opts.auth !== 'external') return `invalid --auth "${opts.auth}" (off, embedded or external)`;
  // The token endpoint too: SMART clients find it in our smart-configuration, and we serve none.
  if (!opts.authIssuer || !opts.authJwksUrl || !opts.authTokenUrl)
    return '--auth external needs --auth-issuer, --auth-jwks-url and --auth-token-url';
  return {
    mode: 'external',
    issuer: opts.authIssuer,
    jwksUrl: opts.authJwksUrl,
    tokenUrl: opts.authTokenUrl,
  };
}

/** The sync worker installs its outbox hook on the store before the server takes writes. */
async function startSync(
  store: Store,
  remote: RemoteConfig,
  logger: Logger,
  runLoops: boolean,
  validator: Promise<Validator>,
  strict: boolean,
): Promise<SyncService> {
  const { createSync } = await import('../../sync/index.ts');
  // Pulled resources are judged as the facade judges a write: its validator (one load), its mode.
  const log = logger.child({ remote: remote.baseUrl });
  const sync = createSync({ store, remote, validator, strict, logger: log });
  if (runLoops) sync.start();
  return sync;
}
