// `tyokyky serve --mode kanta-phr`: the FHIR API at /fhir behaves as Kanta PHR's R4 CapabilityStatement
// says (see docs/kanta.md). Everything it refuses leaves as an OperationOutcome naming the rule.
import type { Bundle } from '@medplum/fhirtypes';
import express, { type Request, type Response } from 'express';
import { FhirError, issue } from '../../shared/outcome.ts';
import { requestJson } from '../http/json-body.ts';
import { FHIR_JSON, baseUrl, responseType, send, versionHeaders } from '../http/negotiation.ts';
import type { FacadeStore, FacadeValidator } from '../ports.ts';
import { processKantaBatch } from './batch.ts';
import { servedStatement } from './capability.ts';
import { type KantaContext, createOne, deleteOne, readOne, searchType, updateOne } from './interactions.ts';
import { createKantaWriteRules } from './write-rules.ts';

export interface KantaRouterOptions {
  store: FacadeStore;
  validator: FacadeValidator;
  baseUrl?: string;
  bodyBytes?: number | string;
  jsonDepth?: number;
}

type Handler = (req: Request, res: Response, ctx: KantaContext) => Promise<void> | void;

export function createKantaRouter(opts: KantaRouterOptions): express.Router {
  const router = express.Router();
  const rules = createKantaWriteRules(opts.validator);
  const raw = express.raw({ type: () => true, limit: opts.bodyBytes ?? '20mb' });
  const json = (req: Request) => requestJson(req, { maxDepth: opts.jsonDepth ?? 64 }, 'a FHIR resource');
  const route =
    (pattern: string, handler: Handler) =>
    async (req: Request, res: Response): Promise<void> => {
      res.locals.route = `/fhir${pattern}`;
      await handler(req, res, { store: opts.store, rules, base: baseUrl(req, opts.baseUrl) });
    };
  router.use((req, res, next) => {
    res.locals.contentType = FHIR_JSON;
    res.locals.contentType = responseType(
      typeof req.query._format === 'string' ? req.query._format : undefined,
      req.get('accept'),
    );
    next();
  });
  const query = (req: Request) => req.query as Record<string, string | string[]>;
  const ifMatch = (req: Request) => req.get('if-match') ?? undefined;

  router.get(
    '/metadata',
    route('/metadata', (_req, res, ctx) => send(res, 200, servedStatement(ctx.base))),
  );
  router.post(
    '/',
    raw,
    route('/', async (req, res, ctx) => {
      const body = json(req) as Bundle;
      if (body?.resourceType !== 'Bundle') {
        throw new FhirError(
          400,
          issue('error', 'invalid', 'kanta-batch: POST to the base takes a batch Bundle', 'resourceType'),
        );
      }
      send(res, 200, await processKantaBatch(ctx, body));
    }),
  );
  router.get(
    '/:type',
    route('/:type', async (req, res, ctx) =>
      send(res, 200, await searchType(ctx, String(req.params.type), query(req))),
    ),
  );
  router.post(
    '/:type',
    raw,
    route('/:type', async (req, res, ctx) => {
      const r = await createOne(
        ctx,
        json(req),
        String(req.params.type),
        req.get('if-none-exist') ?? undefined,
      );
      res.set(versionHeaders(r.resource.meta));
      res.setHeader(
        'Location',
        `${ctx.base}/${r.resource.resourceType}/${r.resource.id}/_history/${r.resource.meta?.versionId}`,
      );
      send(res, r.created ? 201 : 200, r.resource);
    }),
  );
  router.get(
    '/:type/:id',
    route('/:type/:id', async (req, res, ctx) => {
      const r = await readOne(ctx, String(req.params.type), String(req.params.id));
      res.set(versionHeaders(r.meta));
      send(res, 200, r);
    }),
  );
  router.get(
    '/:type/:id/_history/:vid',
    route('/:type/:id/_history/:vid', async (req, res, ctx) => {
      const r = await readOne(ctx, String(req.params.type), String(req.params.id), String(req.params.vid));
      res.set(versionHeaders(r.meta));
      send(res, 200, r);
    }),
  );
  router.put(
    '/:type/:id',
    raw,
    route('/:type/:id', async (req, res, ctx) => {
      const r = await updateOne(ctx, json(req), String(req.params.type), String(req.params.id), ifMatch(req));
      res.set(versionHeaders(r.resource.meta));
      send(res, 200, r.resource);
    }),
  );
  router.delete(
    '/:type/:id',
    route('/:type/:id', async (req, res, ctx) => {
      await deleteOne(ctx, String(req.params.type), String(req.params.id));
      send(res, 204, undefined);
    }),
  );
  const refuse = (what: string) => () => {
    throw new FhirError(
      405,
      issue('error', 'not-supported', `kanta-interaction: Kanta PHR does not support ${what}`),
    );
  };
  router.put('/:type', refuse('conditional update'));
  router.delete('/:type', refuse('conditional delete'));
  router.all('/', refuse('system-level interactions other than batch'));
  router.use((req: Request) => {
    throw new FhirError(
      404,
      issue('error', 'not-supported', `kanta-interaction: no Kanta PHR route for ${req.method} ${req.path}`),
    );
  });
  return router;
}
