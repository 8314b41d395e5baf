import type { Resource } from '@medplum/fhirtypes';
import express, { type Request, type Response } from 'express';
import {
  type DomainKind,
  type DomainTypes,
  KIND_LABEL,
  type WorkAbilityRecord,
  handOver,
  validateHandoverRequest,
} from '../domain/index.ts';
import { toFhir, toResources } from '../mapping/index.ts';
import { FhirError, issue } from '../shared/outcome.ts';
import { clientIdParam, currentTeam } from './domain/client-data.ts';
import { retold } from './domain/fields.ts';
import { relatedFromStore } from './domain/related.ts';
import { CLIENT_VIEWS, type ViewOptions } from './domain/views.ts';
import { type WriteOptions, writeAll } from './domain/write.ts';
import type { WriteBundleContext } from './fhir/bundle.ts';
import { ENTRY_ROUTES } from './fhir/entry-route.ts';
import { requestJson } from './http/json-body.ts';
import { baseUrl, responseType, send } from './http/negotiation.ts';
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

  const storeResources = async (req: Request, res: Response, resources: Resource[], write: WriteOptions) => {
    const result = await writeAll(storeFor(res), ctxOf(req), resources, write);
    // Sent as the facade sends (no Express ETag: a domain answer is no one version of a resource).
    send(res, result.created ? 201 : 200, { resources: result.resources });
  };

  router.post('/records', async (req, res) => {
    label(res, '/api/records');
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
    router.post(`/${path}`, async (req, res) => {
      label(res, `/api/${path}`);
      const value = body(req) as DomainTypes[typeof kind];
      // What the rules and the mapping read of objects outside this one (a referral's consent, whose
      // an assessment a plan rests on is, a consent's organisations) comes from the caller's store, as
      // a record's comes from the record.
      const related = await relatedFromStore(storeFor(res), kind, value);
      const teams = kind === 'team' ? [{ team: value as DomainTypes['team'], at: KIND_LABEL.team }] : [];
      const plans = kind === 'plan' ? [{ plan: value as DomainTypes['plan'], at: KIND_LABEL.plan }] : [];
      await storeResources(req, res, toResources(kind, value, { related }), {
        source: { kind, value },
        teams,
        plans,
      });
    });
  }

  router.post('/clients/:clientId/responsible-worker', async (req, res) => {
    label(res, '/api/clients/:clientId/responsible-worker');
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
  });

  for (const [view, { answer, params, what }] of Object.entries(CLIENT_VIEWS)) {
    router.get(`/clients/:clientId/${view}`, async (req, res) => {
      label(res, `/api/clients/:clientId/${view}`);
      const clientId = clientIdParam(req.params.clientId);
      refuseUnknownParameters(req.query, params, what);
      send(res, 200, await answer(storeFor(res), clientId, opts, req.query));
    });
  }

  return router;
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
