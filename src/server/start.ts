import {
  type IncomingMessage,
  type Server,
  type ServerResponse,
  createServer as createHttpServer,
} from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import type { Logger } from 'pino';
import { isLoopbackHost } from '../shared/http-url.ts';
import { issue, outcome } from '../shared/outcome.ts';
import { type AppOptions, createApp } from './app.ts';
import { answerClientErrors } from './http/client-errors.ts';
import { defaultLogger } from './ops.ts';
import type { FacadeStore, FacadeValidator } from './ports.ts';
import { type AuthConfig, checkTrustedProxies, createSecurity, isSecurityStore } from './security/index.ts';

export interface StartOptions extends Omit<AppOptions, 'store' | 'validator'> {
  /** An open store; when absent one is opened from databaseUrl/dataDir and closed with the server. */
  store?: FacadeStore;
  validator?: FacadeValidator;
  databaseUrl?: string;
  dataDir?: string;
  port?: number;
  host?: string;
  /** How long in-flight requests get to finish on close before connections are cut (ms). */
  shutdownGraceMs?: number;
  /** Authentication (default off); audit, redaction and headers apply either way. */
  auth?: AuthConfig;
  /** Allow binding a non-loopback address with auth off. */
  insecure?: boolean;
  /** Requests per client per minute. */
  rateLimit?: number;
  /** Reverse proxies (addresses, CIDR ranges) whose X-Forwarded-Proto/Host/Prefix shape links. */
  trustProxy?: readonly string[];
}

export interface RunningServer {
  /** Base URL of the listening server, e.g. http://127.0.0.1:8080 (the FHIR API is at `${url}/fhir`). */
  url: string;
  server: Server;
  /** Stops accepting connections, lets in-flight requests finish, then closes the store if it opened it. */
  close(): Promise<void>;
}

/**
 * Resolves when `port` on `host` can be bound, rejects with a one-line message when it is taken or
 * not allowed: checked before a data directory is created or a database opened.
 */
export async function assertPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    // A client connecting in the probe's moment is dropped at once (it retries), never left hanging.
    const probe = createServer((socket) => socket.destroy());
    probe.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'is already in use'
          : err.code === 'EACCES'
            ? 'needs privileges to bind'
            : err.code === 'EADDRNOTAVAIL'
              ? 'is on an address this machine does not have'
              : `cannot be bound (${err.code})`;
      reject(new Error(`port ${port} on ${host} ${why}; choose another with --port or PORT`));
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/**
 * Requests that arrive between listen and the app being ready wait for it (with no handler they
 * would hang); if start-up fails they are answered 503 and the server closes.
 */
function holdEarlyRequests(server: Server) {
  const early: Array<[IncomingMessage, ServerResponse]> = [];
  const hold = (req: IncomingMessage, res: ServerResponse) => early.push([req, res]);
  server.on('request', hold);
  return {
    release(app: (req: IncomingMessage, res: ServerResponse) => void) {
      server.off('request', hold);
      server.on('request', app);
      for (const [req, res] of early.splice(0)) app(req, res);
    },
    fail() {
      server.off('request', hold);
      for (const [, res] of early.splice(0)) {
        res.writeHead(503, { 'Content-Type': 'application/fhir+json', Connection: 'close' });
        res.end(JSON.stringify(outcome([issue('fatal', 'transient', 'The server failed to start')])));
      }
      server.close();
    },
  };
}

/** Who can reach a server bound to `host`, as its warning says it: this host only, or every interface. */
function exposure(host: string): string {
  if (isLoopbackHost(host)) return `bound to ${host}: this host only`;
  if (host === '0.0.0.0' || host === '::') return `listening on every interface (${host}), --insecure`;
  return `listening on ${host}, --insecure`;
}

/**
 * The secure default: without authentication the facade listens on a loopback address only, unless
 * `insecure` says so explicitly. Throws the refusal; a caller may ask before it opens anything.
 */
export function assertExposureAllowed(opts: Pick<StartOptions, 'auth' | 'host' | 'insecure'>): void {
  const host = opts.host ?? '127.0.0.1';
  if ((opts.auth ?? { mode: 'off' }).mode === 'off' && !isLoopbackHost(host) && !opts.insecure) {
    throw new Error(
      `refusing to listen on ${host} without authentication: configure auth, bind 127.0.0.1, or pass --insecure`,
    );
  }
}

export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const logger: Logger = opts.logger ?? defaultLogger();
  const auth: AuthConfig = opts.auth ?? { mode: 'off' };
  const host = opts.host ?? '127.0.0.1';
  assertExposureAllowed(opts);
  // Before a store is opened or a port bound: a bad proxy list leaves nothing behind.
  checkTrustedProxies(opts.trustProxy ?? []);
  const ownsStore = !opts.store;
  const store =
    opts.store ??
    (await (
      await import('../store/index.ts')
    ).openStore({
      databaseUrl: opts.databaseUrl,
      dataDir: opts.dataDir,
    }));
  const validator: FacadeValidator =
    opts.validator ?? (await (await import('../validation/index.ts')).loadProjectValidator());
  // Listen first: with no configured base URL, links are built from the address we listen on, never
  // from a caller's Host header.
  const server = createHttpServer();
  answerClientErrors(server);
  const early = holdEarlyRequests(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  server.keepAliveTimeout = 65_000;
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `http://${shownHost}:${port}`;
  const bound = server.address() as AddressInfo;
  logger.info({ bound: `${bound.address}:${bound.port}` }, `bound ${bound.address} port ${bound.port}`);
  const fhirBase = opts.baseUrl?.replace(/\/+$/, '') ?? `${url}/fhir`;
  let security = opts.security;
  if (!security) {
    if (!isSecurityStore(store)) {
      early.fail();
      throw new Error(
        'the security layer needs the store openStore returns (its transactions and migrations)',
      );
    }
    security = await createSecurity({
      store,
      auth,
      publicBase: fhirBase.replace(/\/fhir$/, ''),
      rateLimit: opts.rateLimit,
      bodyLimit: opts.limits?.bodyBytes,
      jsonDepth: opts.limits?.jsonDepth,
      ...(opts.trustProxy ? { trustProxy: opts.trustProxy } : {}),
      logger,
    }).catch((err: unknown) => {
      early.fail();
      throw err;
    });
  }
  if (security.auth === 'off') {
    logger.warn(
      `AUTHENTICATION IS OFF: anyone who can reach ${url} can read and write every client's data (${exposure(host)})`,
    );
  }
  const app = createApp({ ...opts, baseUrl: fhirBase, security, store, validator, logger });
  early.release(app);

  let closing: Promise<void> | undefined;
  const shutdown = async () => {
    const cut = setTimeout(() => server.closeAllConnections(), opts.shutdownGraceMs ?? 10_000);
    cut.unref();
    await new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeIdleConnections();
    });
    clearTimeout(cut);
    // The last answers' audit rows (a failed request is audited once answered) go before the store does.
    await security.auditSettled();
    if (ownsStore) await store.close();
    logger.info('server closed');
  };
  const close = () => {
    closing = closing ?? shutdown();
    return closing;
  };
  return { url, server, close };
}
