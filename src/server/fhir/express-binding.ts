// The one place the FHIR route table meets Express: a single middleware, mounted at /fhir, that
// negotiates the media type, matches the table, reads the body when the method has one, runs the
// transport-free handler and writes its response.
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { FhirError } from '../../shared/outcome.ts';
import { ServerTiming } from '../../shared/server-timing.ts';
import { loadSavedSearch, saveSearch } from '../../store/index.ts';
import type { Limits } from '../http/limits.ts';
import { FHIR_JSON, baseUrl, responseType, send, sendJsonText } from '../http/negotiation.ts';
import type { FacadeStore, StoreFor } from '../ports.ts';
import type { WritePolicy } from '../write-policy.ts';
import { type Dispatcher, createDispatcher } from './dispatch.ts';
import type {
  FhirContext,
  FhirRequest,
  FhirResponse,
  FhirRoute,
  Method,
  RouteMatcher,
  SavedSearches,
  SecurityStatement,
} from './route-types.ts';
import { assertQueryEncoding } from './search-params.ts';

export interface BindingOptions {
  /** The store for one request (the caller's guarded store when the security layer is on). */
  storeFor: StoreFor;
  policy: WritePolicy;
  strict: boolean;
  limits: Limits;
  /** Public base of the FHIR API; derived from each request when absent. */
  baseUrl?: string;
  /** The security layer, for the CapabilityStatement. */
  security?: SecurityStatement;
}

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

function writeResponse(res: Response, out: FhirResponse): void {
  for (const [name, value] of Object.entries(out.headers ?? {})) res.setHeader(name, value);
  if (out.json !== undefined) {
    const timing = (res.locals.timing as ServerTiming | undefined)?.header();
    if (timing) res.setHeader('Server-Timing', timing);
    sendJsonText(res, out.status, out.json);
  } else send(res, out.status, out.body);
}

/** One request's `FhirContext`: the binding's options, this request's base URL, timing and store. */
class RequestContext implements FhirContext {
  readonly policy: WritePolicy;
  readonly strict: boolean;
  readonly limits: Limits;
  readonly security: SecurityStatement | undefined;
  constructor(
    readonly routes: RouteMatcher,
    private readonly opts: BindingOptions,
    private readonly res: Response,
    readonly base: string,
    readonly timing: ServerTiming,
  ) {
    this.policy = opts.policy;
    this.strict = opts.strict;
    this.limits = opts.limits;
    this.security = opts.security;
  }
  /** Looked up when a handler first uses it: the capability statement needs none (and is public). */
  get store(): FacadeStore {
    return this.opts.storeFor(this.res);
  }
  /** Saved criteria live in the database behind the caller's store, shared by every process on it. */
  get savedSearches(): SavedSearches {
    const db = this.store;
    return {
      save: (type, criteria) => saveSearch(db, type, criteria),
      load: (type, key) => loadSavedSearch(db, type, key),
    };
  }
}

/**
 * Every 405 leaves with `Allow` (RFC 9110 §15.5.6): one a handler or the store raised without it (an
 * update that cannot create) gets the methods the path's routes take, but the one refused.
 */
function withAllow(err: unknown, dispatcher: Dispatcher, req: Request): unknown {
  if (!(err instanceof FhirError) || err.status !== 405 || err.headers.Allow !== undefined) return err;
  return new FhirError(405, err.outcome.issue ?? [], {
    ...err.headers,
    Allow: dispatcher.allow(req.path, req.method),
  });
}

/** The FHIR API as one Express middleware over `routes`; errors go to the app's error handler. */
export function bindFhirRoutes(routes: readonly FhirRoute[], opts: BindingOptions): RequestHandler {
  const dispatcher = createDispatcher(routes);
  const raw = express.raw({ type: () => true, limit: opts.limits.bodyBytes });
  const readBody = (req: Request, res: Response) =>
    new Promise<void>((resolve, reject) => raw(req, res, (err?: unknown) => (err ? reject(err) : resolve())));

  /** The single seam every FHIR request passes through. */
  const dispatch = async (req: Request, res: Response): Promise<void> => {
    res.locals.contentType = FHIR_JSON;
    const q = req.url.indexOf('?');
    if (q >= 0) assertQueryEncoding(req.url.slice(q + 1));
    const format = typeof req.query._format === 'string' ? req.query._format : undefined;
    res.locals.contentType = responseType(format, req.headers.accept);
    const { route, params } = dispatcher.match(req.method, req.path);
    res.locals.route = `/fhir${route.path}`;
    if (WITH_BODY.has(req.method)) await readBody(req, res);
    const timing = new ServerTiming();
    res.locals.timing = timing;
    const request: FhirRequest = {
      method: route.method as Method,
      params,
      query: req.query as Record<string, string | string[]>,
      headers: req.headers,
      ...(Buffer.isBuffer(req.body) ? { body: req.body as Buffer } : {}),
    };
    const ctx = new RequestContext(dispatcher, opts, res, baseUrl(req, opts.baseUrl), timing);
    writeResponse(res, await route.handler(request, ctx));
  };
  return (req: Request, res: Response, next: NextFunction) => {
    dispatch(req, res).catch((err: unknown) => next(withAllow(err, dispatcher, req)));
  };
}
