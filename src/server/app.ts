import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { FhirError, issue } from '../shared/outcome.ts';
import { bindFhirRoutes } from './fhir/express-binding.ts';
import type { SecurityStatement } from './fhir/route-types.ts';
import { FHIR_ROUTES } from './fhir/routes.ts';
import { DEFAULT_LIMITS, type Limits } from './http/limits.ts';
import { FHIR_JSON, send } from './http/negotiation.ts';
import { capOutcome, maskedOutcome } from './http/outcome-cap.ts';
import { createKantaRouter } from './kanta/router.ts';
import { createMetrics, defaultLogger, requestTelemetry } from './ops.ts';
import type { FacadeStore, FacadeSync, FacadeValidator, StoreFor } from './ports.ts';
import type { Security } from './security/index.ts';
import { syncApi } from './sync-api.ts';
import { createWritePolicy } from './write-policy.ts';

export interface AppOptions {
  store: FacadeStore;
  validator: FacadeValidator;
  /** Our families must declare one of our profiles (default true). */
  strict?: boolean;
  sync?: FacadeSync;
  limits?: Partial<Limits>;
  logger?: Logger;
  /** Public base of the FHIR API, e.g. https://host/fhir; derived from the request when absent. */
  baseUrl?: string;
  /** `kanta-phr`: /fhir behaves as the Kanta PHR sandbox (src/server/kanta, docs/kanta.md); default `fhir`. */
  mode?: 'fhir' | 'kanta-phr';
  /** Authentication, scopes, consent-aware reads, redaction and audit (src/server/security). */
  security?: Security;
}

export function createApp(opts: AppOptions): express.Express {
  const app = express();
  const limits: Limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const strict = opts.strict ?? true;
  const policy = createWritePolicy(opts.validator, strict);
  const metrics = createMetrics();
  // Paths are matched as written: the security front reads `/fhir` and `/api` so, and a route that
  // matched `/FHIR` too would be served without the scopes its path stands for.
  app.enable('case sensitive routing');
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('trust proxy', false);
  app.locals.metrics = metrics;
  if (opts.sync?.metrics) metrics.include(opts.sync.metrics);

  const logger = opts.logger ?? defaultLogger();
  // Where this app is mounted in a host app ('' at the root): absolute URLs carry it.
  app.use((req, res, next) => {
    res.locals.appBase = req.baseUrl;
    next();
  });
  app.use(requestTelemetry(logger, metrics));
  const plain = opts.store;
  const storeFor: StoreFor = opts.security ? opts.security.wrapStore(opts.store) : () => plain;
  if (opts.security) app.use(opts.security.front);

  app.get('/healthz', async (_req, res) => {
    res.locals.route = '/healthz';
    try {
      // Public (no caller, no client data): the store itself, not a caller's guarded store.
      await plain.query('select 1');
      res.json({ status: 'ok' });
    } catch (err) {
      // The driver's message stays in the log: it may name hosts, users or statements.
      logger.error({ err, reqId: _req.id }, 'health check: database unreachable');
      throw new FhirError(503, issue('fatal', 'transient', 'Database unreachable'));
    }
  });
  app.get('/metrics', async (_req, res) => {
    res.locals.route = '/metrics';
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  // The operator's surface: with security on, the front admits only the operator scope (never a
  // party) and each successful call is audited here.
  if (opts.sync) app.use('/api/sync', syncApi(opts.sync, opts.security?.auditOperator));

  if (opts.mode === 'kanta-phr') {
    const { security, ...rest } = opts;
    app.use(
      '/fhir',
      createKantaRouter({
        ...rest,
        storeFor,
        bodyBytes: limits.bodyBytes,
        ...(security ? { security: securityStatement(security) } : {}),
      }),
    );
  } else {
    app.use(
      '/fhir',
      bindFhirRoutes(FHIR_ROUTES, {
        storeFor,
        policy,
        strict,
        limits,
        baseUrl: opts.baseUrl,
        ...(opts.security ? { security: securityStatement(opts.security) } : {}),
      }),
    );
    // The domain API needs the mapping stage (about 2 s to import): loaded on its first request.
    let domain: Promise<express.Router> | undefined;
    app.use('/api', (req, res, next) => {
      domain ??= import('./domain-api.ts').then((m) =>
        m.createDomainRouter({
          storeFor,
          policy,
          limits,
          baseUrl: opts.baseUrl,
          ...(opts.security ? { disclosureLog: opts.security.disclosureLog } : {}),
        }),
      );
      domain.then((router) => router(req, res, next), next);
    });
  }

  // Mounted inside a host app, paths we do not serve are the host's (its later routes must run).
  app.use((req: Request, _res: Response, next: NextFunction) => {
    if ((app as { parent?: unknown }).parent) return next();
    throw new FhirError(404, issue('error', 'not-found', `No route for ${req.method} at this URL`));
  });
  app.use(errorHandler(logger, limits));
  return app;
}

/** What the CapabilityStatement declares of the security layer. */
function securityStatement(security: Security): SecurityStatement {
  return { auth: security.auth, origin: () => security.publicBase() };
}

/** Every error leaves as an OperationOutcome; unexpected ones are logged and reported without internals. */
const errorHandler =
  (logger: Logger, limits: Limits) =>
  (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const fhirError = toFhirError(err);
    if (fhirError.status >= 500) {
      logger.error({ err, reqId: req.id }, 'request failed');
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    if (!res.locals.contentType || fhirError.status === 406) res.locals.contentType = FHIR_JSON;
    for (const [name, value] of Object.entries(fhirError.headers)) res.setHeader(name, value);
    send(res, fhirError.status, maskedOutcome(capOutcome(fhirError.outcome, limits.outcomeIssues)));
  };

function toFhirError(err: unknown): FhirError {
  if (err instanceof FhirError) return err;
  const e = err as { status?: number; statusCode?: number; type?: string; message?: string; limit?: number };
  const status = e?.status ?? e?.statusCode;
  if (e?.type === 'entity.too.large') {
    return new FhirError(
      413,
      issue('error', 'too-costly', `Request body exceeds the limit of ${e.limit} bytes`),
    );
  }
  if (e?.type === 'entity.parse.failed') {
    return new FhirError(400, issue('error', 'structure', `Request body could not be parsed: ${e.message}`));
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new FhirError(status, issue('error', 'invalid', e.message ?? 'Bad request'));
  }
  return new FhirError(
    500,
    issue('fatal', 'exception', 'Internal server error; see the server log for the request id'),
  );
}
