import type { Bundle, Parameters, Resource } from '@medplum/fhirtypes';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { FhirError, issue, outcome } from '../../shared/outcome.ts';
import { requestJson } from '../http/json-body.ts';
import {
  FHIR_JSON,
  baseUrl,
  parsePrefer,
  responseType,
  send,
  sendJsonText,
  versionHeaders,
  versionedLocation,
} from '../http/negotiation.ts';
import { ServerTiming } from '../http/server-timing.ts';
import type { FacadeStore } from '../ports.ts';
import { type WritePolicy, assertResourceShape, assertValidId } from '../write-policy.ts';
import { processBundle } from './bundle.ts';
import { buildCapabilityStatement } from './capability.ts';
import {
  assertType,
  createResource,
  readResource,
  readResourceJson,
  searchTypeJson,
  updateResource,
} from './interactions.ts';

export interface Limits {
  /** Largest accepted request body, in bytes or an expression such as "1mb". */
  bodyBytes: number | string;
  /** Deepest allowed JSON nesting. */
  jsonDepth: number;
}

export const DEFAULT_LIMITS: Limits = { bodyBytes: '5mb', jsonDepth: 64 };

export interface FhirRouterOptions {
  store: FacadeStore;
  policy: WritePolicy;
  strict: boolean;
  limits: Limits;
  baseUrl?: string;
}

type Handler = (req: Request, res: Response) => Promise<void> | void;

export interface FhirApi {
  /** The FHIR REST API, to mount at /fhir. */
  router: express.Router;
  /**
   * Middleware for the app's front: serves the busiest interactions (read, create, search on a type)
   * when their URL is in canonical form, with the router's own handlers; passes everything else on.
   */
  hot: RequestHandler;
}

/** The FHIR REST API, mounted at /fhir. */
export function createFhirRouter(opts: FhirRouterOptions): FhirApi {
  const { store, policy } = opts;
  const router = express.Router();
  const raw = express.raw({ type: () => true, limit: opts.limits.bodyBytes });
  /** Reads the request body into req.body as a Buffer (body-parser's limits and errors). */
  const readBody = (req: Request, res: Response) =>
    new Promise<void>((resolve, reject) => raw(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
  const form = express.urlencoded({ extended: false, limit: opts.limits.bodyBytes });

  const ctxOf = (req: Request) => ({ policy, base: baseUrl(req, opts.baseUrl) });
  /** A context for a write, whose validation and database time go out as Server-Timing. */
  const timedCtxOf = (req: Request, res: Response) => {
    const timing = new ServerTiming();
    res.locals.timing = timing;
    return { ...ctxOf(req), timing };
  };
  const jsonBody = (req: Request) => requestJson(req, { maxDepth: opts.limits.jsonDepth }, 'a FHIR resource');
  /** Labels the request for metrics/logs with its route pattern, then runs the handler. */
  const route =
    (pattern: string, handler: Handler) => async (req: Request, res: Response, _next: NextFunction) => {
      res.locals.route = `/fhir${pattern}`;
      await handler(req, res);
    };
  /** The response media type for every FHIR request (406 when we produce nothing acceptable). */
  const negotiate: RequestHandler = (req, res, next) => {
    res.locals.contentType = FHIR_JSON;
    res.locals.contentType = responseType(req);
    next();
  };
  router.use(negotiate);

  const sendWritten = (
    req: Request,
    res: Response,
    resource: Resource,
    status: number,
    withLocation: boolean,
  ) => {
    versionHeaders(res, resource.meta);
    if (withLocation) res.setHeader('Location', versionedLocation(ctxOf(req).base, resource));
    const prefer = parsePrefer(req).return;
    if (prefer === 'minimal') return send(res, status, undefined);
    if (prefer === 'OperationOutcome') {
      const text = status === 201 ? 'Created' : 'OK';
      return send(
        res,
        status,
        outcome([issue('information', 'informational', `${text} ${resource.resourceType}/${resource.id}`)]),
      );
    }
    send(res, status, resource);
  };

  router.get(
    '/metadata',
    route('/metadata', (req, res) => {
      send(
        res,
        200,
        buildCapabilityStatement({ base: ctxOf(req).base, strict: opts.strict, profiles: policy.profiles }),
      );
    }),
  );

  // The hottest interactions first: Express tries routes in order.
  const read = route('/:type/:id', async (req, res) => {
    const stored = await readResourceJson(store, req.params.type as string, req.params.id as string);
    versionHeaders(res, stored);
    sendJsonText(res, 200, stored.json);
  });
  router.get('/:type/:id', read);

  const create = route('/:type', async (req, res) => {
    await readBody(req, res);
    const type = req.params.type as string;
    assertType(type);
    const resource = assertResourceShape(jsonBody(req), type);
    const ifNoneExist = req.headers['if-none-exist'] as string | undefined;
    const { resource: stored, created } = await createResource(
      store,
      timedCtxOf(req, res),
      resource,
      ifNoneExist,
    );
    sendWritten(req, res, stored, created ? 201 : 200, created);
  });
  router.post('/:type', create);

  router.post(
    '/',
    raw,
    route('/', async (req, res) => {
      const bundle = await processBundle(store, timedCtxOf(req, res), jsonBody(req), parsePrefer(req).return);
      send(res, 200, bundle);
    }),
  );

  const search = route('/:type', async (req, res) => {
    const type = req.params.type as string;
    sendJsonText(
      res,
      200,
      await searchTypeJson(store, ctxOf(req), type, req.query, parsePrefer(req).lenient),
    );
  });
  router.get('/:type', search);

  router.post(
    '/:type/_search',
    form,
    route('/:type/_search', async (req, res) => {
      if (req.headers['content-type'] && !req.is('application/x-www-form-urlencoded')) {
        throw new FhirError(
          415,
          issue('error', 'not-supported', 'POST _search takes application/x-www-form-urlencoded parameters'),
        );
      }
      const query: Record<string, unknown> = { ...req.query };
      for (const [k, v] of Object.entries((req.body as Record<string, unknown>) ?? {})) {
        const prev = query[k];
        query[k] = prev === undefined ? v : ([] as unknown[]).concat(prev, v);
      }
      sendJsonText(
        res,
        200,
        await searchTypeJson(store, ctxOf(req), req.params.type as string, query, parsePrefer(req).lenient),
      );
    }),
  );

  const validateHandler = (instance: boolean) =>
    route(instance ? '/:type/:id/$validate' : '/:type/$validate', async (req, res) => {
      const type = req.params.type as string;
      assertType(type);
      const id = instance ? (req.params.id as string) : undefined;
      if (id !== undefined) assertValidId(id, type);
      let resource: unknown;
      let profile = typeof req.query.profile === 'string' ? req.query.profile : undefined;
      const hasBody = Buffer.isBuffer(req.body) && (req.body as Buffer).length > 0;
      if (hasBody) {
        const body = jsonBody(req) as Resource | Parameters;
        if (body && (body as Resource).resourceType === 'Parameters') {
          const params = (body as Parameters).parameter ?? [];
          resource = params.find((p) => p.name === 'resource')?.resource;
          profile = params.find((p) => p.name === 'profile')?.valueUri ?? profile;
          if (!resource) {
            throw FhirError.badRequest(
              '$validate Parameters need a "resource" parameter',
              'Parameters.parameter',
            );
          }
        } else {
          resource = body;
        }
      } else if (id !== undefined) {
        resource = await readResource(store, type, id);
      } else {
        throw FhirError.badRequest('$validate needs a resource in the body');
      }
      const checked = assertResourceShape(resource, type, undefined);
      if (id !== undefined && checked.id !== undefined && checked.id !== id) {
        throw FhirError.badRequest(
          `Resource id "${checked.id}" does not match the id in the URL ("${id}")`,
          `${type}.id`,
        );
      }
      send(res, 200, policy.check(checked, { profile }));
    });
  router.post('/:type/\\$validate', raw, validateHandler(false));
  router.post('/:type/:id/\\$validate', raw, validateHandler(true));
  router.get('/:type/:id/\\$validate', validateHandler(true));

  router.put(
    '/:type/:id',
    raw,
    route('/:type/:id', async (req, res) => {
      const type = req.params.type as string;
      const id = req.params.id as string;
      assertType(type);
      assertValidId(id, type);
      const resource = assertResourceShape(jsonBody(req), type, id);
      const { resource: stored, created } = await updateResource(
        store,
        timedCtxOf(req, res),
        resource,
        req.headers['if-match'] as string | undefined,
      );
      sendWritten(req, res, stored, created ? 201 : 200, true);
    }),
  );

  router.delete(
    '/:type/:id',
    route('/:type/:id', async (req, res) => {
      const type = req.params.type as string;
      const id = req.params.id as string;
      assertType(type);
      assertValidId(id, type);
      await store.delete(type, id);
      send(res, 204, undefined);
    }),
  );

  router.get(
    '/:type/:id/_history',
    route('/:type/:id/_history', async (req, res) => {
      const type = req.params.type as string;
      const id = req.params.id as string;
      assertType(type);
      assertValidId(id, type);
      const base = ctxOf(req).base;
      const versions = await store.history(type, id);
      const bundle: Bundle = {
        resourceType: 'Bundle',
        type: 'history',
        total: versions.length,
        link: [{ relation: 'self', url: `${base}/${type}/${id}/_history` }],
        entry: versions.map((v) => ({
          fullUrl: `${base}/${type}/${id}`,
          ...(v.resource ? { resource: v.resource } : {}),
          request: {
            method:
              v.action === 'create'
                ? ('POST' as const)
                : v.action === 'update'
                  ? ('PUT' as const)
                  : ('DELETE' as const),
            url: v.action === 'create' ? type : `${type}/${id}`,
          },
          response: {
            status:
              v.action === 'create' ? '201 Created' : v.action === 'update' ? '200 OK' : '204 No Content',
            etag: `W/"${v.versionId}"`,
            lastModified: v.lastUpdated,
          },
        })),
      };
      send(res, 200, bundle);
    }),
  );

  router.get(
    '/:type/:id/_history/:vid',
    route('/:type/:id/_history/:vid', async (req, res) => {
      const type = req.params.type as string;
      const id = req.params.id as string;
      const vid = req.params.vid as string;
      assertType(type);
      assertValidId(id, type);
      if (!/^[A-Za-z0-9\-.]{1,64}$/.test(vid))
        throw FhirError.badRequest(`Invalid version id "${vid}"`, `${type}.meta.versionId`);
      const resource = await store.vread(type, id, vid);
      versionHeaders(res, resource.meta);
      send(res, 200, resource);
    }),
  );

  router.all(
    ['/:type', '/:type/:id'],
    route('/:type/:id', (req) => {
      throw new FhirError(
        405,
        issue('error', 'not-supported', `${req.method} is not supported on ${req.originalUrl.split('?')[0]}`),
      );
    }),
  );

  // Express matches every layer's regular expression and wraps each step in closures (10–20 % of a
  // read's CPU in a profile under load). For the canonical URL forms (a type name, an id of FHIR's id
  // characters, nothing to decode) the same handlers run at once; any other spelling goes through the
  // router as before.
  const HOT_URL = /^\/fhir\/([A-Z][A-Za-z]{0,63})(?:\/([A-Za-z0-9\-.]{1,64}))?(?:\?|$)/;
  const hot: RequestHandler = (req, res, next) => {
    const m = HOT_URL.exec(req.url);
    const handler = !m
      ? undefined
      : m[2] === undefined
        ? req.method === 'POST'
          ? create
          : req.method === 'GET'
            ? search
            : undefined
        : req.method === 'GET'
          ? read
          : undefined;
    if (!handler || !m) return next();
    req.params = m[2] === undefined ? { type: m[1] } : { type: m[1], id: m[2] };
    negotiate(req, res, () => handler(req, res, next).catch(next));
  };
  return { router, hot };
}
