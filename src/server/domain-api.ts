import type { Resource } from '@medplum/fhirtypes';
import express, { type Request, type Response } from 'express';
import { type DomainKind, type DomainTypes, handOver, validateHandoverRequest } from '../domain/index.ts';
import { toFhir, toResources } from '../mapping/index.ts';
import { FhirError, issue } from '../shared/outcome.ts';
import { clientIdParam, currentTeam } from './domain/client-data.ts';
import type { DomainSource } from './domain/fields.ts';
import { relatedFromStore } from './domain/related.ts';
import { CLIENT_VIEWS, type ViewOptions } from './domain/views.ts';
import { writeAll } from './domain/write.ts';
import type { WriteBundleContext } from './fhir/bundle.ts';
import { ENTRY_ROUTES } from './fhir/entry-route.ts';
import { requestJson } from './http/json-body.ts';
import { baseUrl } from './http/negotiation.ts';
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

  const storeResources = async (
    req: Request,
    res: Response,
    resources: Resource[],
    source?: DomainSource,
  ) => {
    const result = await writeAll(storeFor(res), ctxOf(req), resources, source);
    res.status(result.created ? 201 : 200).json({ resources: result.resources });
  };

  router.post('/records', async (req, res) => {
    label(res, '/api/records');
    const bundle = toFhir(body(req) as never);
    await storeResources(
      req,
      res,
      (bundle.entry ?? []).map((e) => e.resource as Resource),
    );
  });

  for (const [path, kind] of Object.entries(WRITE_ROUTES)) {
    router.post(`/${path}`, async (req, res) => {
      label(res, `/api/${path}`);
      const value = body(req) as DomainTypes[typeof kind];
      // What the rules and the mapping read of objects outside this one (a referral's consent, whose
      // an assessment a plan rests on is, a consent's organisations) comes from the caller's store, as
      // a record's comes from the record.
      const related = await relatedFromStore(storeFor(res), kind, value);
      await storeResources(req, res, toResources(kind, value, { related }), { kind, value });
    });
  }

  router.post('/clients/:clientId/responsible-worker', async (req, res) => {
    label(res, '/api/clients/:clientId/responsible-worker');
    const store = storeFor(res);
    const clientId = clientIdParam(req.params.clientId);
    const request = validateHandoverRequest(body(req));
    const current = await currentTeam(store, clientId);
    if (!current)
      throw FhirError.notFound(
        `Client "${clientId}" has no active responsible-worker team; POST /api/teams first`,
      );
    const result = handOver(current, request);
    if (!result.ok)
      throw FhirError.unprocessable(
        issue('error', 'business-rule', `handover: ${result.reason}`, 'CareTeam.participant'),
      );
    const related = await relatedFromStore(store, 'team', result.team);
    const team = { kind: 'team' as const, value: result.team };
    const written = await writeAll(store, ctxOf(req), toResources('team', result.team, { related }), team);
    res.status(200).json({ reason: result.reason, team: result.team, resources: written.resources });
  });

  for (const [view, { answer, params, what }] of Object.entries(CLIENT_VIEWS)) {
    router.get(`/clients/:clientId/${view}`, async (req, res) => {
      label(res, `/api/clients/:clientId/${view}`);
      const clientId = clientIdParam(req.params.clientId);
      refuseUnknownParameters(req.query, params, what);
      res.json(await answer(storeFor(res), clientId, opts, req.query));
    });
  }

  return router;
}
