// `tyokyky serve --mode kanta-phr`: the FHIR API at /fhir behaves as Kanta PHR's R4 CapabilityStatement
// says (see docs/kanta.md). Everything it refuses leaves as an OperationOutcome naming the rule.
// The routes are one table (KANTA_ROUTES) of named handlers; the Express binding is derived from it.
import type { Bundle } from '@medplum/fhirtypes';
import express, { type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { FhirError, issue } from '../../shared/outcome.ts';
import type { SecurityStatement } from '../fhir/route-types.ts';
import { requestJson } from '../http/json-body.ts';
import { baseUrl, responseType, send, versionHeaders } from '../http/negotiation.ts';
import { defaultLogger } from '../ops.ts';
import type { FacadeValidator, StoreFor } from '../ports.ts';
import { processKantaBatch } from './batch.ts';
import { type KantaTypeRules, kantaCapability, servedStatement } from './capability.ts';
import {
  type KantaContext,
  createOne,
  deleteOne,
  readOne,
  searchType,
  typeRules,
  updateOne,
} from './interactions.ts';
import { createKantaWriteRules } from './write-rules.ts';

export interface KantaRouterOptions {
  /** The store for one request (the caller's guarded store when the security layer is on). */
  storeFor: StoreFor;
  validator: FacadeValidator;
  baseUrl?: string;
  bodyBytes?: number | string;
  jsonDepth?: number;
  /** The app's logger (its default when absent): a batch entry's unexpected failure is logged there. */
  logger?: Logger;
  /** The security layer as the statement declares it (the app's), and whether writes check references. */
  security?: SecurityStatement;
}

/** What a handler gets besides the request: the Kanta context and the request's parsed JSON body. */
interface KantaCall extends KantaContext {
  body: () => unknown;
  security?: SecurityStatement;
}

type KantaHandler = (req: Request, res: Response, call: KantaCall) => Promise<void> | void;

interface KantaRoute {
  /** `use` matches every method and path below `path`: the catch-all, counted as unmatched. */
  method: 'get' | 'post' | 'put' | 'delete' | 'all' | 'use';
  path: string;
  /** Whether the route reads a request body. */
  body?: boolean;
  /** The statement's interaction the route is (a type's: in Allow only where the type declares it). */
  interaction?: string;
  /** When given, the route takes only the requests it holds for; the others go on to the next rows. */
  when?: (req: Request) => boolean;
  handler: KantaHandler;
}

const param = (req: Request, name: string) => String(req.params[name]);
const query = (req: Request) => req.query as Record<string, string | string[]>;

const metadata: KantaHandler = (_req, res, call) => send(res, 200, servedStatement(call.base, call.security));

const batch: KantaHandler = async (_req, res, call) => {
  const body = call.body() as Bundle;
  if (body?.resourceType !== 'Bundle') {
    throw new FhirError(
      400,
      issue('error', 'invalid', 'kanta-batch: POST to the base takes a batch Bundle', 'resourceType'),
    );
  }
  send(res, 200, await processKantaBatch(call, body));
};

const search: KantaHandler = async (req, res, call) =>
  send(res, 200, await searchType(call, param(req, 'type'), query(req)));

const create: KantaHandler = async (req, res, call) => {
  const r = await createOne(call, call.body(), param(req, 'type'), req.get('if-none-exist') ?? undefined);
  const { resourceType, id, meta } = r.resource;
  res.set(versionHeaders(meta));
  res.setHeader('Location', `${call.base}/${resourceType}/${id}/_history/${meta?.versionId}`);
  send(res, r.created ? 201 : 200, r.resource);
};

const read: KantaHandler = async (req, res, call) => {
  const vid = req.params.vid === undefined ? undefined : param(req, 'vid');
  const r = await readOne(call, param(req, 'type'), param(req, 'id'), vid);
  res.set(versionHeaders(r.meta));
  send(res, 200, r);
};

const update: KantaHandler = async (req, res, call) => {
  const ifMatch = req.get('if-match') ?? undefined;
  const r = await updateOne(call, call.body(), param(req, 'type'), param(req, 'id'), ifMatch);
  res.set(versionHeaders(r.resource.meta));
  send(res, 200, r.resource);
};

const remove: KantaHandler = async (req, res, call) => {
  await deleteOne(call, param(req, 'type'), param(req, 'id'), req.get('if-match') ?? undefined);
  send(res, 204, undefined);
};

/** Handlers that refuse their route (an interaction Kanta PHR does not have): not listed in Allow. */
const REFUSALS = new Set<KantaHandler>();

/** The rules of the type a request's path names (404 `kanta-type` for another), none for a path without one. */
function rulesOfPath(req: Request): KantaTypeRules | undefined {
  return req.params.type === undefined ? undefined : typeRules(param(req, 'type'));
}

/** 405 for an interaction Kanta PHR does not have (the type checked first); its Allow is added by `bind`. */
const refuse = (what: string): KantaHandler => {
  const handler: KantaHandler = (req) => {
    rulesOfPath(req);
    throw new FhirError(
      405,
      issue('error', 'not-supported', `kanta-interaction: Kanta PHR does not support ${what}`),
    );
  };
  REFUSALS.add(handler);
  return handler;
};

// Neither names the path: it is the caller's text, and may carry a HETU (`/Patient/<HETU>`).
const unknownRoute: KantaHandler = (req) => {
  throw new FhirError(
    404,
    issue(
      'error',
      'not-supported',
      `kanta-interaction: no Kanta PHR interaction at this path (${req.method})`,
    ),
  );
};

/**
 * Whether a type's path goes on with a segment that is no id: one starting with `$` (an operation:
 * `$everything`, `$validate`) or `_` (`_history`, `_search`). No FHIR id starts so, and Kanta PHR's
 * statement declares none of them; read as an id, each would be a 400 (or a 405 for the method).
 */
const namesNoId = (req: Request) => /^[$_]/.test(param(req, 'segment'));

/** 404 for a type-level path Kanta PHR does not have (`namesNoId`), the type checked first. */
const noSuchTypePath: KantaHandler = (req, res, call) => {
  rulesOfPath(req);
  return unknownRoute(req, res, call);
};

/** 405 for a path Kanta PHR has (of a type it holds), asked with a method it does not take there. */
const noSuchMethod: KantaHandler = (req) => {
  rulesOfPath(req);
  throw new FhirError(
    405,
    issue('error', 'not-supported', `kanta-interaction: Kanta PHR takes no ${req.method} at this path`),
  );
};

/** Every interaction the Kanta PHR mode answers, in match order; the last row catches the rest. */
export const KANTA_ROUTES: readonly KantaRoute[] = [
  { method: 'get', path: '/metadata', handler: metadata },
  { method: 'all', path: '/metadata', handler: noSuchMethod },
  { method: 'post', path: '/', body: true, handler: batch },
  { method: 'get', path: '/:type', interaction: 'search-type', handler: search },
  { method: 'post', path: '/:type', body: true, interaction: 'create', handler: create },
  { method: 'all', path: '/:type/:segment{/*rest}', when: namesNoId, handler: noSuchTypePath },
  { method: 'get', path: '/:type/:id', interaction: 'read', handler: read },
  { method: 'get', path: '/:type/:id/_history/:vid', interaction: 'vread', handler: read },
  { method: 'put', path: '/:type/:id', body: true, interaction: 'update', handler: update },
  { method: 'delete', path: '/:type/:id', interaction: 'delete', handler: remove },
  { method: 'put', path: '/:type', handler: refuse('conditional update') },
  { method: 'delete', path: '/:type', handler: refuse('conditional delete') },
  { method: 'all', path: '/', handler: refuse('system-level interactions other than batch') },
  { method: 'all', path: '/:type', handler: noSuchMethod },
  { method: 'all', path: '/:type/:id', handler: noSuchMethod },
  { method: 'all', path: '/:type/:id/_history/:vid', handler: noSuchMethod },
  { method: 'use', path: '/', handler: unknownRoute },
];

const HTTP_METHODS = ['get', 'post', 'put', 'delete'] as const;

/**
 * The methods `path` takes (HEAD with GET), for Allow: its rows of KANTA_ROUTES other than refusals,
 * a type's interaction only where the type (`rules`) declares it.
 */
function allowedOn(path: string, rules: KantaTypeRules | undefined): string {
  const methods = new Set(
    KANTA_ROUTES.filter(
      (r) =>
        r.path === path &&
        !REFUSALS.has(r.handler) &&
        (HTTP_METHODS as readonly string[]).includes(r.method) &&
        (r.interaction === undefined || rules?.interactions.has(r.interaction) === true),
    ).map((r) => r.method),
  );
  return HTTP_METHODS.filter((m) => methods.has(m))
    .flatMap((m) => (m === 'get' ? ['GET', 'HEAD'] : [m.toUpperCase()]))
    .join(', ');
}

/**
 * Every 405 leaves with Allow (RFC 9110): the methods the route's path takes for the type it names —
 * whether its route refuses the method or the type's rules the interaction (interactions.ts `allow`).
 */
function withAllow(err: unknown, route: KantaRoute, req: Request): unknown {
  if (!(err instanceof FhirError) || err.status !== 405 || err.headers.Allow !== undefined) return err;
  const rules = req.params.type === undefined ? undefined : kantaCapability().types.get(param(req, 'type'));
  return new FhirError(405, err.outcome.issue ?? [], {
    ...err.headers,
    Allow: allowedOn(route.path, rules),
  });
}

export function createKantaRouter(opts: KantaRouterOptions): express.Router {
  const router = express.Router({ caseSensitive: true });
  const rules = createKantaWriteRules(opts.validator);
  const raw = express.raw({ type: () => true, limit: opts.bodyBytes ?? '20mb' });
  const maxDepth = opts.jsonDepth ?? 64;
  const log = opts.logger ?? defaultLogger();
  const statement = opts.security;
  // Behind authentication there are parties: a write's references must name what the caller may see.
  const checkReferences = statement !== undefined && statement.auth !== 'off';
  router.use((req, res, next) => {
    const format = typeof req.query._format === 'string' ? req.query._format : undefined;
    res.locals.contentType = responseType(format, req.get('accept'));
    next();
  });
  const bind =
    (route: KantaRoute): RequestHandler =>
    async (req, res, next) => {
      if (route.when && !route.when(req)) return next();
      if (route.method !== 'use') res.locals.route = `/fhir${route.path}`;
      const body = () => requestJson(req, { maxDepth }, 'a FHIR resource');
      const { storeFor } = opts;
      try {
        await route.handler(req, res, {
          // Looked up when a handler first uses it: the capability statement needs none (and is public).
          get store() {
            return storeFor(res);
          },
          rules,
          base: baseUrl(req, opts.baseUrl),
          checkReferences,
          ...(statement ? { security: statement } : {}),
          log,
          ...(req.id ? { requestId: req.id } : {}),
          body,
        });
      } catch (err) {
        throw withAllow(err, route, req);
      }
    };
  for (const route of KANTA_ROUTES) {
    if (route.body) router[route.method](route.path, raw, bind(route));
    else router[route.method](route.path, bind(route));
  }
  return router;
}
