import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { FhirError, issue } from '../shared/outcome.ts';
import { createDomainRouter } from './domain-api.ts';
import { DEFAULT_LIMITS, type Limits, createFhirRouter } from './fhir/router.ts';
import { FHIR_JSON, send } from './http/negotiation.ts';
import { createMetrics, defaultLogger, requestTelemetry } from './ops.ts';
import type { FacadeStore, FacadeSync, FacadeValidator } from './ports.ts';
import type { Security } from './security/index.ts';
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
  /** Authentication, scopes, consent-aware reads, redaction and audit (src/server/security). */
  security?: Security;
  /** Extra routers mounted before the 404 handler (the domain API uses this). */
  extraRoutes?: (app: express.Express) => void;
}

export function createApp(opts: AppOptions): express.Express {
  const app = express();
  const limits: Limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const strict = opts.strict ?? true;
  const policy = createWritePolicy(opts.validator, strict);
  const metrics = createMetrics();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('trust proxy', false);
  app.locals.metrics = metrics;

  const logger = opts.logger ?? defaultLogger();
  const store = opts.security ? opts.security.wrapStore(opts.store) : opts.store;
  const fhir = createFhirRouter({ store, policy, strict, limits, baseUrl: opts.baseUrl });
  app.use(requestTelemetry(logger, metrics));
  if (opts.security) app.use(opts.security.front);
  app.use(fhir.hot);

  app.get('/healthz', async (_req, res) => {
    res.locals.route = '/healthz';
    try {
      await opts.store.query('select 1');
      res.json({ status: 'ok' });
    } catch (err) {
      // The driver's message stays in the log: it may name hosts, users or statements.
      logger.error({ err, reqId: _req.id }, 'health check: database unreachable');
      throw new FhirError(503, issue('fatal', 'transient', 'Database unreachable'));
    }
  });
  app.get('/metrics', async (_req, res) => {
    res.locals.route = '/metrics';
    const own = await metrics.registry.metrics();
    const sync = opts.sync?.metrics ? await opts.sync.metrics.metrics() : '';
    res.type(metrics.registry.contentType).send(sync ? `${own}\n${sync}` : own);
  });
  if (opts.sync) {
    const sync = opts.sync;
    app.get('/api/sync/status', async (_req, res) => {
      res.locals.route = '/api/sync/status';
      res.json(await sync.status());
    });
  }

  app.use('/fhir', fhir.router);
  app.use('/api', createDomainRouter({ store, policy, limits, baseUrl: opts.baseUrl }));
  opts.extraRoutes?.(app);

  app.use((req: Request) => {
    throw new FhirError(404, issue('error', 'not-found', `No route for ${req.method} ${req.path}`));
  });
  app.use(errorHandler(logger));
  return app;
}

/** Every error leaves as an OperationOutcome; unexpected ones are logged and reported without internals. */
const errorHandler =
  (logger: Logger) =>
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
    send(res, fhirError.status, fhirError.outcome);
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
