import type { Resource } from '@medplum/fhirtypes';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import {
  type DomainKind,
  type DomainTypes,
  KIND_LABEL,
  type WorkAbilityRecord,
  handOver,
  validateHandoverRequest,
} from '../domain/index.ts';
import { toFhir, toResources } from '../mapping/index.ts';
import { parseIfMatch } from '../shared/etag.ts';
import { FhirError, issue } from '../shared/outcome.ts';
import { clientIdParam, currentTeam } from './domain/client-data.ts';
import { retold } from './domain/fields.ts';
import { relatedFromStore } from './domain/related.ts';
import { CLIENT_VIEWS, type ViewOptions } from './domain/views.ts';
import { type WriteOptions, writeAll } from './domain/write.ts';
import type { WriteBundleContext } from './fhir/bundle.ts';
import { ENTRY_ROUTES } from './fhir/entry-route.ts';
import { requestJson } from './http/json-body.ts';
import { FHIR_JSON, baseUrl, responseType, send } from './http/negotiation.ts';
import { refuseUnknownParameters } from './http/query-params.ts';
import type { StoreFor } from './ports.ts';
import type { WritePolicy } from './write-policy.ts';

/** POST /api/<path> → the SDK domain kind it accepts. */
const WRITE_ROUTES: Record<string, DomainKind> = {
  clients: 'client',
  organizations: 'organization',
  professionals: 'professional',
  assessments: 'assessment',
  'self-assessments': 'selfAssessment',
  consents: 'consent',
  plans: 'plan',
  referrals: 'referral',
  teams: 'team',
};

export interface DomainApiOptions extends ViewOptions {
  /** The store for one request (the caller's guarded store when the security layer is on). */
  storeFor: StoreFor;
  policy: WritePolicy;
  limits: { bodyBytes: number | string; jsonDepth: number };
  baseUrl?: string;
}

/**
 * The domain API: the SDK's domain JSON in, mapped through the SDK and stored as one FHIR
 * transaction (validated like any other write); GET views map the stored resources back.
 * A domain object that already exists (same business identifier) becomes a new version.
 */
export function createDomainRouter(opts: DomainApiOptions): express.Router {
  const { storeFor, policy } = opts;
  const router = express.Router({ caseSensitive: true });
  // JSON only: an Accept (or _format) that admits no JSON is a 406 before anything is read or written.
  router.use((req, _res, next) => {
    responseType(typeof req.query._format === 'string' ? req.query._format : undefined, req.headers.accept);
    next();
  });
  router.use(express.raw({ type: () => true, limit: opts.limits.bodyBytes }));
  const ctxOf = (req: Request): WriteBundleContext => ({
    policy,
    base: baseUrl(req, opts.baseUrl),
    routes: ENTRY_ROUTES,
  });
  const body = (req: Request) => requestJson(req, { maxDepth: opts.limits.jsonDepth }, 'the domain JSON');
  const label = (res: Response, route: string) => {
    res.locals.route = route;
    res.locals.contentType = 'application/json';
  };

  const { route, allowed } = routeTable(router);

  const storeResources = async (req: Request, res: Response, resources: Resource[], write: WriteOptions) => {
    const result = await writeAll(storeFor(res), ctxOf(req), resources, write);
    // Sent as the facade sends (no Express ETag: a domain answer is no one version of a resource).
    send(res, result.created ? 201 : 200, { resources: result.resources });
  };

  route('post', '/records', async (req, res) => {
    label(res, '/api/records');
    refuseIfMatch(req, 'a record (many objects, each found by its business identifier)');
    const record = body(req) as WorkAbilityRecord;
    const bundle = toFhir(record);
    // toFhir validated the record: its teams are as the domain types say.
    const teams = (record.teams ?? []).map((team, i) => ({ team, at: `${KIND_LABEL.record}.teams[${i}]` }));
    const plans = (record.plans ?? []).map((plan, i) => ({ plan, at: `${KIND_LABEL.record}.plans[${i}]` }));
    await storeResources(
      req,
      res,
      (bundle.entry ?? []).map((e) => e.resource as Resource),
      { teams, plans },
    );
  });

  for (const [path, kind] of Object.entries(WRITE_ROUTES)) {
    route('post', `/${path}`, async (req, res) => {
      label(res, `/api/${path}`);
      const basedOn = ifMatchOf(req);
      const value = body(req) as DomainTypes[typeof kind];
      // What the rules and the mapping read of objects outside this one (a referral's consent, whose
      // an assessment a plan rests on is, a consent's organisations) comes from the caller's store, as
      // a record's comes from the record.
      const related = await relatedFromStore(storeFor(res), kind, value);
      const teams = kind === 'team' ? [{ team: value as DomainTypes['team'], at: KIND_LABEL.team }] : [];
      const plans = kind === 'plan' ? [{ plan: value as DomainTypes['plan'], at: KIND_LABEL.plan }] : [];
      await storeResources(req, res, toResources(kind, value, { related }), {
        source: basedOn ? { kind, value, basedOn } : { kind, value },
        teams,
        plans,
      });
    });
  }

  route('post', '/clients/:clientId/responsible-worker', handoverHandler({ storeFor, ctxOf, body, label }));

  for (const [view, { answer, params, what }] of Object.entries(CLIENT_VIEWS)) {
    route('get', `/clients/:clientId/${view}`, async (req, res) => {
      label(res, `/api/clients/:clientId/${view}`);
      const clientId = clientIdParam(req.params.clientId);
      refuseUnknownParameters(req.query, params, what);
      send(res, 200, await answer(storeFor(res), clientId, opts, req.query));
    });
  }

  wrongMethods(router, allowed);
  router.use(refusalsAsFhir);
  return router;
}

/** What a route handler of the domain API needs of its router. */
interface RouteKit {
  storeFor: StoreFor;
  ctxOf: (req: Request) => WriteBundleContext;
  body: (req: Request) => unknown;
  label: (res: Response, route: string) => void;
}

/**
 * `POST /api/clients/:clientId/responsible-worker`: a handover within the client's active team,
 * written over the version of the team it was computed from.
 */
function handoverHandler({ storeFor, ctxOf, body, label }: RouteKit): RequestHandler {
  return async (req, res) => {
    label(res, '/api/clients/:clientId/responsible-worker');
    refuseIfMatch(req, 'a handover (written over the version of the team it reads)');
    const store = storeFor(res);
    const clientId = clientIdParam(req.params.clientId);
    const request = validateHandoverRequest(body(req));
    const current = await currentTeam(store, clientId, { strict: true });
    if (!current)
      throw FhirError.notFound('The client has no active responsible-worker team; POST /api/teams first');
    const result = handOver(current.team, request);
    if (!result.ok)
      throw FhirError.unprocessable(
        issue('error', 'business-rule', `handover: ${result.reason}`, 'CareTeam.participant'),
      );
    const related = await relatedFromStore(store, 'team', result.team);
    // Written over the version it was computed from (same-version): a handover in between is not lost.
    const source = { kind: 'team' as const, value: result.team, basedOn: current.read };
    const written = await writeAll(store, ctxOf(req), toResources('team', result.team, { related }), {
      source,
    }).catch((err: unknown) => {
      throw err instanceof FhirError ? asRequested(err, result.team, request.professionalId) : err;
    });
    send(res, 200, { reason: result.reason, team: result.team, resources: written.resources });
  };
}

/** Adds `router`'s routes, noting the methods each path answers (a GET answers HEAD too). */
function routeTable(router: express.Router) {
  const allowed = new Map<string, string[]>();
  const route = (method: 'get' | 'post', path: string, handler: RequestHandler) => {
    router[method](path, handler);
    allowed.set(path, [...(allowed.get(path) ?? []), ...(method === 'get' ? ['GET', 'HEAD'] : ['POST'])]);
  };
  return { route, allowed };
}

/** A known path asked with another method: 405 with `Allow` (the path is not quoted: its ids are the client's). */
function wrongMethods(router: express.Router, allowed: ReadonlyMap<string, string[]>): void {
  for (const [path, methods] of allowed)
    router.all(path, (req, res) => {
      res.locals.route = `/api${path}`;
      const refusal = issue('error', 'not-supported', `${req.method} is not supported at this URL`);
      throw new FhirError(405, refusal, { Allow: methods.join(', ') });
    });
}

/**
 * Every refusal of the domain API is an OperationOutcome sent as `application/fhir+json`, as the
 * security front's, an unknown route's and a 406 are: a success is the domain's plain JSON.
 */
function refusalsAsFhir(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  res.locals.contentType = FHIR_JSON;
  next(err);
}

/**
 * The version the caller based the object it posts alone on: its `If-Match` (`W/"3"`), read by the one
 * If-Match parser (400 naming If-Match when malformed); the write replaces only that version.
 */
function ifMatchOf(req: Request): { versionId: string } | undefined {
  const value = req.headers['if-match'];
  return value === undefined ? undefined : { versionId: String(parseIfMatch(value, { header: true })) };
}

/** An `If-Match` where it names no one version to check: a 400 naming it, never ignored. */
function refuseIfMatch(req: Request, what: string): void {
  if (req.headers['if-match'] !== undefined)
    throw FhirError.badRequest(
      `If-Match names the version of one object posted alone, not of ${what}`,
      'If-Match',
    );
}

/**
 * A handover's refusal about the professional it names, told as the request's field
 * (`HandoverRequest.professionalId`) rather than the team member the server made of it.
 */
function asRequested(err: FhirError, team: DomainTypes['team'], professionalId: string): FhirError {
  const fields = new Set(
    team.members.flatMap((m, i) =>
      m.professionalId === professionalId ? [`${KIND_LABEL.team}.members[${i}].professionalId`] : [],
    ),
  );
  const issues = err.outcome.issue ?? [];
  const told = retold(issues, fields, `${KIND_LABEL.handover}.professionalId`);
  return told.every((i, at) => i === issues[at]) ? err : new FhirError(err.status, told, { ...err.headers });
}
