import type { Bundle, Identifier, Reference, Resource } from '@medplum/fhirtypes';
import express, { type Request, type Response } from 'express';
import {
  type DomainKind,
  type DomainTypes,
  type ResponsibleWorkerTeam,
  currentResponsibleWorkers,
  handOver,
  validateHandoverRequest,
} from '../domain/index.ts';
import { fromFhir, localIdSystem, toFhir, toResources, transactionBundle } from '../mapping/index.ts';
import { weakEtag } from '../shared/etag.ts';
import { FhirError, issue } from '../shared/outcome.ts';
import { rewriteReferences } from './fhir/bundle-links.ts';
import { processBundle } from './fhir/bundle.ts';
import { assertSameClient } from './fhir/interactions.ts';
import type { InteractionContext } from './fhir/interactions.ts';
import { dateRangeParams, finnishDateRangeInstants } from './http/date-range.ts';
import { requestJson } from './http/json-body.ts';
import { baseUrl } from './http/negotiation.ts';
import { refuseUnknownParameters } from './http/query-params.ts';
import type { FacadeStore, StoreFor } from './ports.ts';
import type { Disclosure, DisclosureClient, DisclosureFilter } from './security/index.ts';
import type { WritePolicy } from './write-policy.ts';

const BUSINESS_SYSTEM = 'urn:ietf:rfc:3986';
/** Search parameters for the newest match only. */
const NEWEST = { _sort: '-_lastUpdated', _count: '1' };

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

export interface DomainApiOptions {
  /** The store for one request (the caller's guarded store when the security layer is on). */
  storeFor: StoreFor;
  policy: WritePolicy;
  limits: { bodyBytes: number | string; jsonDepth: number };
  baseUrl?: string;
  /** The security layer's disclosure log (`Security.disclosureLog`); absent without one. */
  disclosureLog?: (client: DisclosureClient, filter?: DisclosureFilter) => Promise<Disclosure[]>;
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
  const ctxOf = (req: Request): InteractionContext => ({ policy, base: baseUrl(req, opts.baseUrl) });
  const body = (req: Request) => requestJson(req, { maxDepth: opts.limits.jsonDepth }, 'the domain JSON');
  const label = (res: Response, route: string) => {
    res.locals.route = route;
    res.locals.contentType = 'application/json';
  };

  const storeResources = async (req: Request, res: Response, resources: Resource[]) => {
    const result = await writeAll(storeFor(res), ctxOf(req), resources);
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
      await storeResources(req, res, toResources(kind, body(req) as DomainTypes[typeof kind]));
    });
  }

  router.post('/clients/:clientId/responsible-worker', async (req, res) => {
    label(res, '/api/clients/:clientId/responsible-worker');
    const store = storeFor(res);
    const request = validateHandoverRequest(body(req));
    const current = await currentTeam(store, req.params.clientId as string);
    if (!current)
      throw FhirError.notFound(
        `Client "${req.params.clientId}" has no active responsible-worker team; POST /api/teams first`,
      );
    const result = handOver(current, request);
    if (!result.ok)
      throw FhirError.unprocessable(
        issue('error', 'business-rule', `handover: ${result.reason}`, 'CareTeam.participant'),
      );
    const written = await writeAll(store, ctxOf(req), toResources('team', result.team));
    res.status(200).json({ reason: result.reason, team: result.team, resources: written.resources });
  });

  for (const [view, { answer, params, what }] of Object.entries(CLIENT_VIEWS)) {
    router.get(`/clients/:clientId/${view}`, async (req, res) => {
      label(res, `/api/clients/:clientId/${view}`);
      refuseUnknownParameters(req.query, params, what);
      res.json(await answer(storeFor(res), req.params.clientId as string, opts, req.query));
    });
  }

  return router;
}

/** A GET view of one client: its answer, from the caller's store, and the query parameters it takes. */
interface ClientView {
  answer: (
    store: FacadeStore,
    clientId: string,
    opts: DomainApiOptions,
    query: Request['query'],
  ) => Promise<object>;
  params: readonly string[];
  /** The view's name in an error. */
  what: string;
}

/** GET /api/clients/{clientId}/<view> → how it is answered. */
const CLIENT_VIEWS: Record<string, ClientView> = {
  plan: { answer: planView, params: [], what: 'the plan view' },
  'responsible-worker': { answer: responsibleWorkerView, params: [], what: 'the responsible-worker view' },
  consents: { answer: consentsView, params: [], what: 'the consents view' },
  disclosures: { answer: disclosuresView, params: ['start', 'end', 'party'], what: 'the disclosure log' },
};

/** `{ plan }`: the client's current active support plan, with its goals. */
async function planView(store: FacadeStore, clientId: string): Promise<object> {
  const [plan] = await ofClient(store, clientId, 'CarePlan', { status: 'active', ...NEWEST });
  if (!plan) throw FhirError.notFound(`Client "${clientId}" has no active plan`);
  const goals = await readReferenced(store, (plan as { goal?: Reference[] }).goal ?? []);
  return { plan: fromFhir(plan, { resolve: (r) => goals.get(r.reference ?? '') }).value };
}

/**
 * `responsibleWorkers`: one, or a pair sharing the role; `responsibleWorker`: the first of them.
 * Once the relationship has ended there is none, and `ended` says since when.
 */
async function responsibleWorkerView(store: FacadeStore, clientId: string): Promise<object> {
  const team = await currentTeam(store, clientId, { ended: true });
  if (!team) throw FhirError.notFound(`Client "${clientId}" has no responsible-worker team`);
  const workers = team.ended === undefined ? currentResponsibleWorkers(team) : [];
  return {
    responsibleWorker: workers[0] ?? null,
    responsibleWorkers: workers,
    ...(team.ended === undefined ? {} : { ended: team.ended }),
    team,
  };
}

/** `{ consents }`: the client's active consents. */
async function consentsView(store: FacadeStore, clientId: string): Promise<object> {
  const consents = await ofClient(store, clientId, 'Consent', { status: 'active', _count: '1000' });
  return { consents: consents.map((c) => fromFhir(c).value) };
}

/**
 * The client's disclosure log (luovutusloki): who received the client's data, when, under which
 * consent, and what was refused; `start`/`end` (dates) and `party` narrow it. Needs the audit scope
 * besides the domain API's (security/access.ts).
 */
async function disclosuresView(
  store: FacadeStore,
  clientId: string,
  opts: DomainApiOptions,
  query: Request['query'],
) {
  const log = opts.disclosureLog;
  if (!log)
    throw new FhirError(
      404,
      issue('error', 'not-supported', 'This facade runs without its security layer: it keeps no audit log'),
    );
  const filter = { ...finnishDateRangeInstants(dateRangeParams(query)), ...partyParam(query.party) };
  const patient = await findClient(store, clientId);
  const consents = await ofPatient(store, patient, 'Consent', { _count: '1000' });
  const own = { patient: `Patient/${patient.id}`, consents: new Set(consents.map((c) => `Consent/${c.id}`)) };
  return { client: clientId, disclosures: await log(own, filter) };
}

/** `party`: one receiving party's code, given at most once. */
function partyParam(value: unknown): { party?: string } {
  if (value === undefined) return {};
  if (typeof value !== 'string' || !value)
    throw FhirError.badRequest('party must be one receiving party, such as kela', 'party');
  return { party: value };
}

async function findClient(store: FacadeStore, clientId: string): Promise<Resource> {
  const found = await store.search('Patient', {
    identifier: `${localIdSystem('client')}|${clientId}`,
    _count: '1',
  });
  const patient = found.resources[0];
  if (!patient) throw FhirError.notFound(`Client "${clientId}" not found`);
  return patient;
}

/** The client's active team, or with `ended` also the latest one whose relationship has ended. */
async function currentTeam(
  store: FacadeStore,
  clientId: string,
  opts: { ended?: boolean } = {},
): Promise<ResponsibleWorkerTeam | undefined> {
  const [team] = await ofClient(store, clientId, 'CareTeam', {
    status: opts.ended ? 'active,inactive' : 'active',
    ...NEWEST,
  });
  return team ? (fromFhir(team).value as ResponsibleWorkerTeam) : undefined;
}

/** The client's resources of `type` that `params` select (404 for an unknown client). */
async function ofClient(
  store: FacadeStore,
  clientId: string,
  type: string,
  params: Record<string, string>,
): Promise<Resource[]> {
  return ofPatient(store, await findClient(store, clientId), type, params);
}

/** `patient`'s resources of `type` that `params` select. */
async function ofPatient(
  store: FacadeStore,
  patient: Resource,
  type: string,
  params: Record<string, string>,
): Promise<Resource[]> {
  return (await store.search(type, { patient: `Patient/${patient.id}`, ...params })).resources;
}

async function readReferenced(store: FacadeStore, refs: Reference[]): Promise<Map<string, Resource>> {
  const out = new Map<string, Resource>();
  for (const ref of refs) {
    const [type, id] = (ref.reference ?? '').split('/');
    if (type && id) out.set(ref.reference as string, await store.read(type, id));
  }
  return out;
}

/**
 * Stores SDK resources as one transaction: new ones as conditional creates, existing ones (found by
 * business identifier) as versioned updates, so a changed plan or team keeps its history.
 */
async function writeAll(
  store: FacadeStore,
  ctx: InteractionContext,
  resources: Resource[],
): Promise<{ resources: Resource[]; created: boolean }> {
  const bundle: Bundle = transactionBundle(resources);
  const unchanged: Resource[] = [];
  // An unchanged object leaves the transaction; what referred to its fullUrl now names the stored one.
  const leftOut = new Map<string, string>();
  for (const entry of [...(bundle.entry ?? [])]) {
    const resource = entry.resource as Resource & { identifier?: Identifier[] | Identifier };
    const ids = Array.isArray(resource.identifier)
      ? resource.identifier
      : resource.identifier
        ? [resource.identifier]
        : [];
    const business = ids.find((i) => i.system === BUSINESS_SYSTEM)?.value;
    if (!business) continue;
    const [[existing]] = await store.findByIdentifiers(resource.resourceType, [
      { system: BUSINESS_SYSTEM, value: business },
    ]);
    if (existing) assertSameClient(resource, existing); // a new version may not swap the person
    if (existing && sameContent(existing, resource)) {
      unchanged.push(existing);
      if (entry.fullUrl) leftOut.set(entry.fullUrl, `${existing.resourceType}/${existing.id}`);
      bundle.entry = bundle.entry?.filter((e) => e !== entry);
    } else if (existing) {
      entry.resource = { ...resource, id: existing.id };
      entry.request = {
        method: 'PUT',
        url: `${resource.resourceType}/${existing.id}`,
        ifMatch: weakEtag(existing.meta?.versionId ?? ''),
      };
    }
  }
  if (leftOut.size) bundle.entry = bundle.entry?.map((e) => rewriteReferences(e, leftOut));
  const response = await processBundle(store, ctx, bundle, 'representation');
  const entries = response.entry ?? [];
  return {
    resources: [...unchanged, ...entries.map((e) => e.resource as Resource)],
    created: entries.some((e) => e.response?.status.startsWith('201')),
  };
}

/**
 * Equal apart from id/meta and reference strings (the SDK's references also carry the target's
 * identifier, which stays compared), whatever the key order (rows stored before store-005 have
 * jsonb's).
 */
function sameContent(stored: Resource, incoming: Resource): boolean {
  const { id: _a, meta: _b, ...left } = stored;
  const { id: _c, meta: _d, ...right } = incoming;
  return stable(left) === stable(right);
}

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value)
      .filter((k) => k !== 'reference')
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stable((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
