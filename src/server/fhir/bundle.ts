import { randomUUID } from 'node:crypto';
import type { Binary, Bundle, BundleEntry, BundleEntryResponse, Resource } from '@medplum/fhirtypes';
import { identifiersHeldAlone } from '../../mapping/index.ts';
import { parseIfMatch, weakEtag } from '../../shared/etag.ts';
import { isJsonObject } from '../../shared/json-object.ts';
import { FhirError, isErrorIssue, issue, outcome } from '../../shared/outcome.ts';
import { isAbsoluteUrl, requestUrlUnderBase } from '../../shared/references.ts';
import { assertUnreferenced, multipleMatches } from '../../store/index.ts';
import { refuseIfNoneMatchOnWrite, statusLine, versionedLocation } from '../http/negotiation.ts';
import { maskedOutcome } from '../http/outcome-cap.ts';
import type { FailedEntry, StoreWrites } from '../ports.ts';
import { SUPPORTED_TYPES } from '../resource-types.ts';
import { assertResourceShape, assertValidId } from '../write-policy.ts';
import { rewriteReferences } from './bundle-links.ts';
import {
  type ConditionalCriteria,
  type InteractionContext,
  assertCriteriaMatchBody,
  assertSameClient,
  assertType,
  checkIfNoneExist,
  conditionalUpdateCriteria,
  conditionalUpdateTarget,
  createResource,
  createdMeanwhile,
  criteriaIdentifiers,
  deleteIfPresent,
  deleteUnreferenced,
  inEntry,
  patchResource,
  timed,
  updateResource,
} from './interactions.ts';
import { JSON_PATCH, notJsonPatch, patchDocument } from './json-patch.ts';
import {
  assertTargetsExist,
  conditionalReference,
  localizeReferences,
  referencePaths,
} from './references.ts';
import {
  type FhirContext,
  type FhirRequest,
  type FhirRoute,
  type RouteMatcher,
  routeInteraction,
} from './route-types.ts';
import { parseQueryString } from './search-params.ts';

/** An entry's method (R4 HTTPVerb). */
type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** The order a transaction runs its entries in (R4 http.html#trules): PATCH with PUT, HEAD with GET. */
const ORDER: Record<Method, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };
/** Methods whose entries read, through the GET routes of the table. */
type ReadMethod = 'GET' | 'HEAD';
type WriteMethod = Exclude<Method, ReadMethod>;
const isRead = (method: Method): method is ReadMethod => method === 'GET' || method === 'HEAD';
/** Methods whose entries change one `Type/id`: a transaction changes each resource once. */
const changesTarget = (method: Method) => method === 'PUT' || method === 'PATCH' || method === 'DELETE';

/** A GET entry as the route table sees it: its row, the request its handler reads, the request's context. */
interface RoutedGet {
  route: FhirRoute;
  request: FhirRequest;
  ctx: FhirContext;
}

interface ParsedEntry {
  index: number;
  method: Method;
  /** A write entry's interaction, as its route names it (the audit log's, for a failed entry). */
  interaction?: string;
  type: string;
  id?: string;
  /** A GET or HEAD entry: the route it matches in the route table, the request as its handler reads it. */
  get?: RoutedGet;
  resource?: Resource;
  /** A PATCH entry's JSON Patch document, read from its Binary. */
  patch?: unknown;
  fullUrl?: string;
  ifNoneExist?: string;
  ifMatch?: string;
  /** A transaction assigned this POST's id so references to its fullUrl could be rewritten. */
  keepId?: boolean;
  /** A conditional update's criteria (`PUT Type?identifier=…`), until it is resolved to a PUT or a POST. */
  conditionalUpdate?: ConditionalCriteria;
  /** A conditional update that found no match: its create must create (a match now is a 412). */
  createOnly?: boolean;
}

/** What the domain API's Bundles (writes only) are processed with: the table their entries are read in. */
export interface WriteBundleContext extends InteractionContext {
  routes: RouteMatcher;
}

/**
 * What a Bundle is processed with: a route's context (its GET entries are routed through the same
 * table), or only what writes need (the domain API's Bundles, which hold no GET entries).
 */
export type BundleContext = FhirContext | WriteBundleContext;

export type ReturnPreference = 'minimal' | 'representation' | 'OperationOutcome' | undefined;

/** The interactions a write entry may name, by its route's name in the table. */
const ENTRY_WRITES = new Set(['create', 'update', 'conditional-update', 'patch', 'delete']);

/** What a write entry's url must look like, by method (the 400 when its route is not one of ENTRY_WRITES). */
const EXPECTED_URL: Record<WriteMethod, string> = {
  POST: 'the url of a POST entry must be a resource type (a create)',
  PUT: 'the url of a PUT entry must be Type/id, or Type?identifier=system|value for a conditional update',
  PATCH: 'the url of a PATCH entry must be Type/id',
  DELETE: 'the url of a DELETE entry must be Type/id',
};

/**
 * The write an entry names, read in the same route table as a request over HTTP (and as the
 * security front reads the entry): its type, and its id unless it is a create or a conditional update.
 */
function writeRoute(
  ctx: BundleContext,
  method: WriteMethod,
  path: string,
  search: string | undefined,
  fail: (msg: string) => FhirError,
): { type: string; id?: string; interaction: string } {
  let match: ReturnType<RouteMatcher['match']> | undefined;
  try {
    match = ctx.routes.match(method, `/${path}`);
  } catch (err) {
    if (!(err instanceof FhirError)) throw err;
  }
  const name = match?.route.name;
  if (!match || !name || !ENTRY_WRITES.has(name) || (name === 'conditional-update' && search === undefined))
    throw fail(EXPECTED_URL[method]);
  return { type: match.params.type ?? '', id: match.params.id, interaction: routeInteraction(match.route) };
}

/** Parses one entry's request into something we can execute, or throws a 400 naming the entry. */
function parseEntry(entry: BundleEntry, index: number, ctx: BundleContext): ParsedEntry {
  assertEntryShape(entry, index);
  const where = `Bundle.entry[${index}].request`;
  const method = entry.request?.method as Method | undefined;
  const url = entry.request?.url;
  if (typeof method !== 'string' || !Object.hasOwn(ORDER, method)) {
    throw new FhirError(
      400,
      issue(
        'error',
        'invalid',
        `entry[${index}]: request.method must be GET, HEAD, POST, PUT, PATCH or DELETE`,
        `${where}.method`,
      ),
    );
  }
  if (!url) {
    throw new FhirError(
      400,
      issue('error', 'required', `entry[${index}]: request.url is required`, `${where}.url`),
    );
  }
  const fail = (msg: string) =>
    new FhirError(400, issue('error', 'invalid', `entry[${index}]: ${msg}`, `${where}.url`));
  const relative = requestUrlUnderBase(url, ctx.base);
  if (relative === undefined) throw fail("request.url is absolute but not under this server's base");
  const [path = '', search] = relative.split('?', 2);
  if (isRead(method)) {
    if (!('store' in ctx)) throw fail(`${method} entries are not accepted here`);
    return { index, method, type: '', get: routedGet(ctx, path, search, index, conditionalRead(entry)) };
  }
  if (method === 'PATCH' && !('store' in ctx)) throw fail('PATCH entries are not accepted here');
  // The URL is not quoted back: a conditional one may carry a HETU.
  const { type, id, interaction } = writeRoute(ctx, method, path, search, fail);
  try {
    assertType(type);
  } catch (err) {
    throw new FhirError(404, inEntry((err as FhirError).outcome.issue ?? [], index));
  }
  if (id !== undefined) {
    try {
      assertValidId(id, type);
    } catch (err) {
      // The id is in the entry's URL, not in its resource.
      const [found] = (err as FhirError).outcome.issue ?? [];
      throw fail(found?.diagnostics ?? 'Invalid id in the URL');
    }
  }
  const parsed: ParsedEntry = { index, method, type, id, interaction, fullUrl: entry.fullUrl };
  if (method === 'PUT' && id === undefined && search !== undefined) {
    try {
      parsed.conditionalUpdate = conditionalUpdateCriteria(listsToLast(parseQueryString(search)));
    } catch (err) {
      throw new FhirError(400, inEntry((err as FhirError).outcome.issue ?? [], index));
    }
  }
  if (method === 'POST' || method === 'PUT') {
    try {
      parsed.resource = assertResourceShape(entry.resource, type, method === 'PUT' ? id : undefined);
    } catch (err) {
      throw new FhirError(400, inEntry((err as FhirError).outcome.issue ?? [], index, type));
    }
    parsed.ifNoneExist = entry.request?.ifNoneExist;
    if (parsed.ifNoneExist !== undefined) {
      try {
        assertCriteriaMatchBody(checkIfNoneExist(parsed.ifNoneExist), parsed.resource);
      } catch (err) {
        throw new FhirError(400, inEntry((err as FhirError).outcome.issue ?? [], index, type));
      }
    }
  }
  if (method === 'PATCH') parsed.patch = patchEntryDocument(entry, index, ctx as FhirContext);
  // A PUT's, a PATCH's or a DELETE's If-Match (a create has no version to match: ignored, as on a
  // direct POST), read as the header it stands for.
  parsed.ifMatch = entry.request?.ifMatch;
  if (parsed.ifMatch !== undefined && method !== 'POST') {
    try {
      parseIfMatch(parsed.ifMatch, { header: true });
    } catch (err) {
      throw new FhirError(400, inEntry((err as FhirError).outcome.issue ?? [], index));
    }
  }
  // A write entry's ifNoneMatch is refused as the header is on a direct write, never ignored.
  if (method === 'PUT' || method === 'PATCH' || method === 'DELETE') {
    try {
      refuseIfNoneMatchOnWrite({ 'if-none-match': entry.request?.ifNoneMatch });
    } catch (err) {
      throw new FhirError(400, inEntry((err as FhirError).outcome.issue ?? [], index));
    }
  }
  return parsed;
}

/**
 * A PATCH entry's JSON Patch. R4 carries it in a Binary (`contentType` application/json-patch+json,
 * `data` the document in base64), read here as a PATCH request's body is (`patchDocument`: 415 for
 * another media type, 400 for an empty or malformed document), each refusal naming the Binary's
 * element. The Binary is validated as any resource is first (a `data` that is not base64 is a 400
 * naming it); a resource of another type (a FHIRPath Patch's Parameters) is a patch of another media
 * type: 415, as over HTTP.
 */
function patchEntryDocument(entry: BundleEntry, index: number, ctx: FhirContext): unknown {
  const at = `Bundle.entry[${index}].resource`;
  const refuse = (err: unknown, element: string) => {
    if (!(err instanceof FhirError)) return err;
    const issues = (err.outcome.issue ?? []).map((i) => ({
      ...i,
      diagnostics: `entry[${index}]: ${i.diagnostics ?? ''}`,
      expression: [element],
      location: [element],
    }));
    return new FhirError(err.status, issues);
  };
  const sent: unknown = entry.resource;
  if (sent === undefined)
    throw refuse(
      new FhirError(
        400,
        issue(
          'error',
          'required',
          `a PATCH entry carries its JSON Patch in a Binary (contentType ${JSON_PATCH}, data in base64)`,
        ),
      ),
      at,
    );
  const type = isJsonObject(sent) ? sent.resourceType : undefined;
  if (typeof type === 'string' && type !== 'Binary') throw refuse(notJsonPatch(), at);
  let binary: Binary;
  try {
    binary = assertResourceShape(sent, 'Binary') as Binary;
  } catch (err) {
    throw new FhirError(400, inEntry((err as FhirError).outcome.issue ?? [], index, 'Binary'));
  }
  const errors = (ctx.policy.check(binary).issue ?? []).filter(isErrorIssue);
  if (errors.length) throw new FhirError(400, inEntry(errors, index, 'Binary'));
  try {
    return patchDocument(binary.contentType, Buffer.from(binary.data ?? '', 'base64'), ctx.limits.jsonDepth);
  } catch (err) {
    throw refuse(err, err instanceof FhirError && err.status === 415 ? `${at}.contentType` : `${at}.data`);
  }
}

/** What this server reads of an entry's request that must be a string, besides `method` (one of ORDER's). */
const REQUEST_STRINGS = ['url', 'ifNoneExist', 'ifMatch', 'ifNoneMatch', 'ifModifiedSince'] as const;

/**
 * An entry is an object, its request (when present) an object, and what this server reads of them a
 * string: anything else is a 400 naming the element (JSON can hand us any shape).
 */
function assertEntryShape(entry: unknown, index: number): asserts entry is BundleEntry {
  const refuse = (element: string, message: string) =>
    new FhirError(400, issue('error', 'structure', message, `Bundle.entry[${index}]${element}`));
  if (!isJsonObject(entry)) throw refuse('', `entry[${index}] must be an object`);
  if (entry.fullUrl !== undefined && typeof entry.fullUrl !== 'string')
    throw refuse('.fullUrl', `entry[${index}]: fullUrl must be a string`);
  const { request } = entry;
  if (request === undefined) return;
  if (!isJsonObject(request)) throw refuse('.request', `entry[${index}]: request must be an object`);
  for (const name of REQUEST_STRINGS)
    if (request[name] !== undefined && typeof request[name] !== 'string')
      throw refuse(`.request.${name}`, `entry[${index}]: request.${name} must be a string`);
}

/**
 * A GET entry's conditional-read elements as the request headers they stand for; `ifModifiedSince`
 * kept as the instant it is (an HTTP-date would drop its milliseconds), which `notModified` reads.
 */
function conditionalRead(entry: BundleEntry): Record<string, string> {
  const { ifNoneMatch, ifModifiedSince } = entry.request ?? {};
  return {
    ...(ifNoneMatch ? { 'if-none-match': ifNoneMatch } : {}),
    ...(ifModifiedSince ? { 'if-modified-since': ifModifiedSince } : {}),
  };
}

/**
 * A GET entry, matched in the same route table as a GET over HTTP (read, vread, search, history,
 * metadata, $validate): its 404/405 name the entry. Repeated query parameters stay lists, single
 * ones are strings, as Express hands them to a route.
 */
function routedGet(
  ctx: FhirContext,
  path: string,
  search: string | undefined,
  index: number,
  headers: Record<string, string>,
): RoutedGet {
  let match: ReturnType<FhirContext['routes']['match']>;
  try {
    match = ctx.routes.match('GET', `/${path}`);
  } catch (err) {
    if (!(err instanceof FhirError)) throw err;
    throw new FhirError(err.status, inEntry(err.outcome.issue ?? [], index));
  }
  const query: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(parseQueryString(search ?? '')))
    query[name] = values.length === 1 ? (values[0] as string) : values;
  return {
    route: match.route,
    request: { method: 'GET', params: match.params, query, headers },
    ctx,
  };
}

function parseBundle(body: unknown): Bundle {
  const bundle = body as Bundle;
  if (bundle?.resourceType !== 'Bundle') {
    throw new FhirError(
      400,
      issue('error', 'invalid', 'POST to the base URL takes a Bundle of type transaction or batch', 'Bundle'),
    );
  }
  if (bundle.type !== 'transaction' && bundle.type !== 'batch') {
    throw new FhirError(
      400,
      issue('error', 'invalid', 'Bundle.type must be transaction or batch', 'Bundle.type'),
    );
  }
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry)) {
    throw new FhirError(400, issue('error', 'structure', 'Bundle.entry must be an array', 'Bundle.entry'));
  }
  return bundle;
}

/**
 * Resolves conditional references (`Patient?identifier=system|value`, as the SDK writes for
 * targets outside the Bundle) to `Type/id`; no match or several matches fail the entry.
 */
async function resolveConditionalReferences(
  store: StoreWrites,
  base: string,
  entries: ParsedEntry[],
  refs: Map<string, string>,
): Promise<void> {
  for (const e of entries) {
    if (!e.resource) continue;
    for (const { path, ref } of referencePaths(e.resource, `Bundle.entry[${e.index}].resource`)) {
      const m = conditionalReference(ref, base);
      if (!m || refs.has(ref)) continue;
      const where = path;
      const params: Record<string, string | string[]> = {};
      for (const [k, v] of new URLSearchParams(m.criteria))
        params[k] = k in params ? ([] as string[]).concat(params[k], v) : v;
      assertType(m.type);
      let found: Resource[];
      try {
        found = (await store.search(m.type, { ...params, _count: '2' }, { types: SUPPORTED_TYPES }))
          .resources;
      } catch (err) {
        // A malformed search is the entry's fault; a refusal (403) stays what it is.
        if (err instanceof FhirError && err.status === 400)
          throw new FhirError(400, inEntry(err.outcome.issue ?? [], e.index, e.type));
        throw err;
      }
      // The search is not quoted: it names the target by identifier, which may be a HETU.
      if (found.length > 1) {
        const { outcome: several } = multipleMatches(
          'conditional reference',
          m.type,
          "the reference's criteria",
          where,
        );
        throw new FhirError(
          412,
          (several.issue ?? []).map((i) => ({ ...i, diagnostics: `entry[${e.index}]: ${i.diagnostics}` })),
        );
      }
      if (!found.length) {
        throw new FhirError(
          400,
          issue(
            'error',
            'not-found',
            `entry[${e.index}]: the conditional reference to ${m.type} matches no resource`,
            where,
          ),
        );
      }
      refs.set(ref, `${m.type}/${found[0].id}`);
    }
  }
}

function entryFor(
  ctx: InteractionContext,
  status: number,
  resource: Resource | undefined,
  prefer: ReturnPreference,
  withLocation: boolean,
): BundleEntry {
  const response: BundleEntryResponse = { status: statusLine(status) };
  if (resource?.meta?.versionId) {
    response.etag = weakEtag(resource.meta.versionId);
    if (resource.meta.lastUpdated) response.lastModified = resource.meta.lastUpdated;
    if (withLocation) response.location = versionedLocation(ctx.base, resource);
  }
  const entry: BundleEntry = { response };
  if (resource?.id) entry.fullUrl = `${ctx.base}/${resource.resourceType}/${resource.id}`;
  if (resource && prefer !== 'minimal' && prefer !== 'OperationOutcome') entry.resource = resource;
  if (prefer === 'OperationOutcome') response.outcome = outcome([]);
  return entry;
}

/**
 * One entry. `inTransaction`: runTransaction has validated every resource already, and checks the
 * references to deleted resources once all its entries are written.
 */
async function execute(
  store: StoreWrites,
  ctx: BundleContext,
  e: ParsedEntry,
  prefer: ReturnPreference,
  inTransaction = false,
): Promise<BundleEntry> {
  switch (e.method) {
    case 'POST': {
      const { resource, created } = await createResource(
        store,
        ctx,
        e.resource!,
        e.ifNoneExist,
        inTransaction,
        e.keepId === true,
      );
      if (!created && e.createOnly) throw createdMeanwhile(e.type);
      // A conditional create that matched says where the match is, as a new one says where it went.
      return entryFor(ctx, created ? 201 : 200, resource, prefer, true);
    }
    case 'PUT': {
      const { resource, created } = await updateResource(store, ctx, e.resource!, e.ifMatch, inTransaction);
      return entryFor(ctx, created ? 201 : 200, resource, prefer, true);
    }
    case 'PATCH':
      // As the patch interaction: validated and its references checked as it is written (in a
      // transaction every create and delete has run by then, R4's order).
      return entryFor(
        ctx,
        200,
        await patchResource(store, ctx, e.type, e.id!, e.ifMatch, e.patch),
        prefer,
        true,
      );
    case 'DELETE': {
      // A transaction checks references once all its entries are written (runTransaction).
      const versionId = inTransaction
        ? await deleteIfPresent(store, e.type, e.id!, e.ifMatch)
        : await deleteUnreferenced(store, e.type, e.id!, e.ifMatch);
      return { response: { status: '204 No Content', ...(versionId ? { etag: weakEtag(versionId) } : {}) } };
    }
    case 'GET':
      return getEntry(store, e.get!, inTransaction);
    case 'HEAD': {
      // The GET's answer without its resource.
      const { fullUrl, response } = await getEntry(store, e.get!, inTransaction);
      return { ...(fullUrl ? { fullUrl } : {}), ...(response ? { response } : {}) };
    }
  }
}

/**
 * A GET entry answered by its route's handler against `store` (inside a transaction, the
 * transaction's own): a stored resource (its answer carries an ETag) as a read shows it, anything
 * else (a search or history Bundle, the CapabilityStatement) as the entry's resource. Saved searches
 * live outside the transaction (on PGlite, one connection the transaction holds): not in one.
 */
async function getEntry(
  store: StoreWrites,
  { route, request, ctx }: RoutedGet,
  inTransaction: boolean,
): Promise<BundleEntry> {
  const { policy, strict, limits, base, routes, timing, security } = ctx;
  const savedSearches = inTransaction ? undefined : ctx.savedSearches;
  const out = await route.handler(request, {
    store,
    policy,
    strict,
    limits,
    base,
    routes,
    ...(timing ? { timing } : {}),
    ...(security ? { security } : {}),
    ...(savedSearches ? { savedSearches } : {}),
  });
  if (out.status === 304) {
    const { ETag: etag, 'Last-Modified': modified } = out.headers ?? {};
    return {
      response: {
        status: statusLine(304),
        ...(etag ? { etag } : {}),
        ...(modified ? { lastModified: new Date(modified).toISOString() } : {}),
      },
    };
  }
  const resource = (out.json !== undefined ? JSON.parse(out.json) : out.body) as Resource;
  if (out.headers?.ETag) return entryFor(ctx, out.status, resource, 'representation', false);
  return { resource, response: { status: statusLine(out.status) } };
}

/**
 * Runs a transaction (all-or-nothing, in one store transaction) or a batch (each entry on its own).
 * In a transaction, POST entries get their ids up front so what names their fullUrls (references,
 * uri elements, narrative links) can be rewritten before anything is validated or written.
 */
export async function processBundle(
  store: StoreWrites,
  ctx: BundleContext,
  body: unknown,
  prefer: ReturnPreference,
): Promise<Bundle> {
  const bundle = parseBundle(body);
  const entries = bundle.entry ?? [];
  return bundle.type === 'transaction'
    ? runTransaction(store, ctx, entries, prefer)
    : runBatch(store, ctx, entries, prefer);
}

/** A query's parameters with one value each (a repeated one keeps its last; the criteria check refuses it). */
function listsToLast(params: Record<string, string[]>): Record<string, string | string[]> {
  return Object.fromEntries(
    Object.entries(params).map(([k, v]) => [k, v.length === 1 ? (v[0] as string) : v]),
  );
}

/**
 * Conditional updates become what they resolve to: a PUT of the one match, or — with none — a create
 * that must create (`createOnly`); several matches are 412. Before anything else, so a transaction
 * orders, checks and writes them as the PUT or POST they are.
 */
async function resolveConditionalUpdates(store: StoreWrites, parsed: ParsedEntry[]): Promise<void> {
  for (const e of parsed) {
    if (!e.conditionalUpdate) continue;
    const target = await conditionalUpdateTarget(store, e.resource!, e.conditionalUpdate, e.ifMatch).catch(
      (err) => {
        throw err instanceof FhirError
          ? new FhirError(err.status, inEntry(err.outcome.issue ?? [], e.index, e.type))
          : err;
      },
    );
    if (target === undefined) {
      e.method = 'POST';
      e.ifNoneExist = e.conditionalUpdate.text;
      e.createOnly = true;
    } else {
      e.id = target;
      e.resource = { ...e.resource!, id: target };
    }
  }
}

/**
 * Each fullUrl once (400 naming a repeat). A POST with an absolute fullUrl (`urn:uuid:`, `urn:oid:`,
 * `http://…`: a temporary name, R4 http.html) gets its id now; the map from each such fullUrl, and
 * from a PUT's `urn:uuid:` one, to the `Type/id` that references to it are rewritten to.
 */
function assignFullUrls(parsed: ParsedEntry[]): {
  refs: Map<string, string>;
  seen: ReadonlyMap<string, number>;
} {
  const refs = new Map<string, string>();
  const seen = new Map<string, number>();
  for (const e of parsed) {
    if (!e.fullUrl) continue;
    const earlier = seen.get(e.fullUrl);
    if (earlier !== undefined) {
      // Not quoted: a fullUrl carries the id the client chose.
      throw new FhirError(
        400,
        issue(
          'error',
          'duplicate',
          `entry[${e.index}]: its fullUrl is entry[${earlier}]'s too; each entry's fullUrl must be unique`,
          `Bundle.entry[${e.index}].fullUrl`,
        ),
      );
    }
    seen.set(e.fullUrl, e.index);
    if (e.method === 'POST' && isAbsoluteUrl(e.fullUrl)) {
      const id = randomUUID();
      refs.set(e.fullUrl, `${e.type}/${id}`);
      e.resource = { ...e.resource!, id };
      e.keepId = true;
    } else if (e.method === 'PUT' && e.fullUrl.startsWith('urn:uuid:')) {
      refs.set(e.fullUrl, `${e.type}/${e.id}`);
    }
  }
  return { refs, seen };
}

async function runTransaction(
  store: StoreWrites,
  ctx: BundleContext,
  entries: BundleEntry[],
  prefer: ReturnPreference,
): Promise<Bundle> {
  const parsed = entries.map((entry, i) => parseEntry(entry, i, ctx));
  await resolveConditionalUpdates(store, parsed);
  const { refs, seen } = assignFullUrls(parsed);
  assertLocalReferencesResolve(parsed, seen);
  assertDistinctTargets(parsed);
  assertOneCriteriaPerIdentifier(parsed);
  await resolveConditionalReferences(store, ctx.base, parsed, refs);

  // Validate everything first so a bad entry costs no database work and names its entry.
  const problems = timed(ctx, 'validate', () =>
    parsed.flatMap((e) => {
      if (!e.resource) return [];
      const oo = ctx.policy.check(rewriteReferences(e.resource, refs, e.fullUrl));
      const errors = (oo.issue ?? []).filter(isErrorIssue);
      return errors.length ? inEntry(errors, e.index, e.type) : [];
    }),
  );
  if (problems.length) throw FhirError.unprocessable(outcome(problems));

  const results = await timed(ctx, 'db', () =>
    // The database may run this more than once (a deadlock's victim is retried): each attempt starts
    // from the entries and fullUrl map as they are now, not as a rolled-back attempt rewrote them.
    store.transaction((tx) =>
      writeTransaction(
        tx,
        ctx,
        parsed.map((e) => ({ ...e })),
        new Map(refs),
        prefer,
      ),
    ),
  );
  return responseBundle('transaction-response', results);
}

/**
 * One attempt at a transaction's writes, inside its store transaction: the entries in execution order,
 * then the references of everything written (store-ref-1), then the delete policy of its DELETEs.
 * `parsed` and `refs` are this attempt's own (they are rewritten as conditional entries resolve).
 */
async function writeTransaction(
  tx: StoreWrites,
  ctx: BundleContext,
  parsed: ParsedEntry[],
  refs: Map<string, string>,
  prefer: ReturnPreference,
): Promise<BundleEntry[]> {
  const out: BundleEntry[] = new Array(parsed.length);
  /** POST entries whose If-None-Exist found a match: nothing of theirs was written. */
  const matched = new Set<number>();
  for (const group of groupBy(executionOrder(parsed), (e) => ORDER[e.method])) {
    if (group[0].method === 'POST') {
      await createPosts(tx, ctx, group, refs, prefer, out, matched);
      continue;
    }
    for (const e of group) {
      try {
        if (e.resource) e.resource = rewriteReferences(e.resource, refs, e.fullUrl);
        out[e.index] = await execute(tx, ctx, e, prefer, true);
      } catch (err) {
        throw inEntryError(err, e);
      }
    }
  }
  // Every write is in. A DELETE of what is still referenced (409) is checked first: an entry adding a
  // reference to it then fails only because of the DELETE, which is the cause to name.
  for (const e of parsed.filter((p) => p.method === 'DELETE')) {
    await assertUnreferenced(tx, e.type, e.id!).catch((err) => {
      throw inEntryError(err, e);
    });
  }
  // A reference may name what another entry wrote (store-ref-1).
  await assertTargetsExist(
    tx,
    ctx.base,
    parsed
      .filter((e) => e.resource && (e.method === 'PUT' || !matched.has(e.index)))
      .map((e) => ({ resource: e.resource, path: `Bundle.entry[${e.index}].resource` })),
  );
  return out;
}

/**
 * The order a transaction's entries are executed in: by method (R4's DELETE, POST, PUT and PATCH, GET
 * and HEAD), the POSTs in entry order (createPosts orders them further), the DELETEs and the PUTs and
 * PATCHes each by their target's `Type/id`. Transactions changing the same resources lock their rows
 * in one order within each method, so they wait for each other instead of deadlocking.
 */
function executionOrder(parsed: ParsedEntry[]): ParsedEntry[] {
  const target = (e: ParsedEntry) => (changesTarget(e.method) ? `${e.type}/${e.id}` : '');
  return [...parsed].sort((a, b) => {
    const [ta, tb] = [target(a), target(b)];
    return ORDER[a.method] - ORDER[b.method] || (ta < tb ? -1 : ta > tb ? 1 : 0) || a.index - b.index;
  });
}

/**
 * A transaction touches each resource once (R4 http.html#trules: overlapping identities fail the
 * transaction): two PUT, PATCH or DELETE entries on one `Type/id` are a 400 naming the second, before
 * any work, rather than a version conflict half-way through.
 */
function assertDistinctTargets(parsed: ParsedEntry[]): void {
  const first = new Map<string, number>();
  for (const e of parsed) {
    if (!changesTarget(e.method) || !e.id) continue;
    const target = `${e.type}/${e.id}`;
    const earlier = first.get(target);
    if (earlier === undefined) {
      first.set(target, e.index);
      continue;
    }
    throw new FhirError(
      400,
      issue(
        'error',
        'duplicate',
        `entry[${e.index}]: the ${e.type} it changes is entry[${earlier}]'s target too; a transaction may change each resource once`,
        `Bundle.entry[${e.index}].request.url`,
      ),
    );
  }
}

/**
 * Two conditional creates of one transaction naming one identifier value under different criteria
 * (`identifier=s|v` and `identifier=s|v,s|w`) would each look before either writes, and both create:
 * 400 naming the second, before any work. The same criteria twice are one create (createPosts).
 */
function assertOneCriteriaPerIdentifier(parsed: ParsedEntry[]): void {
  const first = new Map<string, { index: number; criteria: string }>();
  for (const e of parsed) {
    const criteria = e.method === 'POST' ? e.ifNoneExist : undefined;
    if (criteria === undefined) continue;
    for (const alt of criteriaIdentifiers(criteria).flat()) {
      if (alt.value === undefined) continue;
      const key = `${e.type}|${alt.value}`;
      const earlier = first.get(key);
      if (!earlier) first.set(key, { index: e.index, criteria });
      else if (earlier.criteria !== criteria)
        throw new FhirError(
          400,
          issue(
            'error',
            'duplicate',
            `entry[${e.index}]: its If-None-Exist names an identifier entry[${earlier.index}]'s names too, under other criteria; a transaction names each identifier in one criteria`,
            `Bundle.entry[${e.index}].request.ifNoneExist`,
          ),
        );
    }
  }
}

/** A `urn:uuid:` reference must name some entry's fullUrl: 400 naming the entry that holds it. */
function assertLocalReferencesResolve(parsed: ParsedEntry[], fullUrls: ReadonlyMap<string, number>): void {
  for (const e of parsed) {
    if (!e.resource) continue;
    for (const { path, ref } of referencePaths(e.resource, `Bundle.entry[${e.index}].resource`)) {
      if (!ref.startsWith('urn:uuid:') || fullUrls.has(ref)) continue;
      throw new FhirError(
        400,
        issue(
          'error',
          'not-found',
          `entry[${e.index}]: a urn:uuid reference matches no entry's fullUrl in this transaction`,
          path,
        ),
      );
    }
  }
}

/** Consecutive runs of entries with the same key (the input is sorted by it). */
function groupBy<T>(items: T[], key: (item: T) => number): T[][] {
  const groups: T[][] = [];
  for (const item of items) {
    const last = groups[groups.length - 1];
    if (last && key(last[0]) === key(item)) last.push(item);
    else groups.push([item]);
  }
  return groups;
}

/**
 * An entry's error as the transaction's answer, located in that entry (its issues' expressions under
 * `Bundle.entry[i]`). An update that cannot create (the store's 405, `updateCreate: false`) fails the
 * transaction with 404 — the resource the entry names does not exist, as a PATCH entry's would be — not
 * 405, which a client would read as POST [base] (transactions) being refused; the entry's method
 * headers (`Allow`) do not describe the Bundle's URL and are dropped.
 */
function inEntryError(err: unknown, e: ParsedEntry): unknown {
  if (!(err instanceof FhirError)) return err;
  return new FhirError(
    err.status === 405 ? 404 : err.status,
    inEntry(err.outcome.issue ?? [], e.index, e.type, e.method),
  );
}

/**
 * Every POST entry of a transaction in one store call: its If-None-Exist criteria are looked up
 * first, then references to a conditional entry's fullUrl are pointed at what it resolved to (the
 * resource it matched, or its own new id) and all new resources are written together. Fills `out`
 * and `matched`, and `refs` with the matches.
 */
async function createPosts(
  tx: StoreWrites,
  ctx: BundleContext,
  posts: ParsedEntry[],
  refs: Map<string, string>,
  prefer: ReturnPreference,
  out: BundleEntry[],
  matched: Set<number>,
): Promise<void> {
  // Referenced entries before the entries that name them: their rows are written in that order.
  const conditional = posts.filter((e) => e.ifNoneExist !== undefined);
  const entries = [
    ...dependencyOrder(conditional, refs),
    ...posts.filter((e) => e.ifNoneExist === undefined),
  ];
  const written = await tx.createMany(
    entries.map((e) => {
      const unique = identifiersHeldAlone(e.resource!);
      return {
        resource: e.resource!,
        opts: {
          ...(e.ifNoneExist ? { ifNoneExist: e.ifNoneExist } : {}),
          keepId: e.keepId === true,
          ...(unique ? { unique } : {}),
        },
      };
    }),
    {
      resolved(resolution) {
        for (const [k, to] of resolution) {
          const e = entries[k];
          if (e.fullUrl && refs.has(e.fullUrl)) refs.set(e.fullUrl, to);
        }
        for (const e of entries) {
          e.resource = rewriteReferences(e.resource!, refs, e.fullUrl);
          localizeReferences(e.resource, ctx.base);
        }
        return entries.map((e) => e.resource!);
      },
    },
  );
  entries.forEach((e, k) => {
    const w = written[k];
    if (w instanceof FhirError) throw inEntryError(w, e);
    if (!w.created && e.createOnly) throw inEntryError(createdMeanwhile(e.type), e);
    if (!w.created) {
      try {
        assertSameClient(e.resource!, w.resource);
      } catch (err) {
        throw inEntryError(err, e);
      }
      matched.add(e.index);
    }
    out[e.index] = entryFor(ctx, w.created ? 201 : 200, w.resource, prefer, true);
  });
}

/**
 * Conditional POST entries with each one after the conditional entries whose fullUrl it references
 * (in entry order otherwise; a reference cycle keeps entry order).
 */
function dependencyOrder(conditional: ParsedEntry[], refs: Map<string, string>): ParsedEntry[] {
  const named = new Set(conditional.flatMap((e) => (e.fullUrl && refs.has(e.fullUrl) ? [e.fullUrl] : [])));
  /** Per entry, the other conditional entries' fullUrls it references (read once). */
  const needs = new Map(
    conditional.map((e) => [
      e,
      referencePaths(e.resource, '').flatMap(({ ref }) => (ref !== e.fullUrl && named.has(ref) ? [ref] : [])),
    ]),
  );
  const ordered: ParsedEntry[] = [];
  let remaining = conditional;
  while (remaining.length) {
    const waiting = new Set(remaining.flatMap((e) => (e.fullUrl && named.has(e.fullUrl) ? [e.fullUrl] : [])));
    const ready = remaining.filter((e) => needs.get(e)?.every((ref) => !waiting.has(ref)));
    const next = ready.length ? ready : [remaining[0]];
    ordered.push(...next);
    const taken = new Set(next);
    remaining = remaining.filter((e) => !taken.has(e));
  }
  return ordered;
}

async function runBatch(
  store: StoreWrites,
  ctx: BundleContext,
  entries: BundleEntry[],
  prefer: ReturnPreference,
): Promise<Bundle> {
  const results: BundleEntry[] = [];
  const failures: FailedEntry[] = [];
  for (const [index, entry] of entries.entries()) {
    let parsed: ParsedEntry | undefined;
    try {
      parsed = parseEntry(entry, index, ctx);
      await resolveConditionalUpdates(store, [parsed]);
      const refs = new Map<string, string>();
      await resolveConditionalReferences(store, ctx.base, [parsed], refs);
      if (parsed.resource && refs.size)
        parsed.resource = rewriteReferences(parsed.resource, refs, parsed.fullUrl);
      results.push(await execute(store, ctx, parsed, prefer));
    } catch (err) {
      // Each entry answers for itself: an unexpected failure is this entry's 500, and the entries
      // before it (committed) and after it still get their answers.
      const failed =
        err instanceof FhirError
          ? err
          : new FhirError(
              500,
              issue('fatal', 'exception', `entry[${index}]: the entry could not be processed`),
            );
      results.push({
        response: { status: statusLine(failed.status), outcome: maskedOutcome(failed.outcome) },
      });
      failures.push(failedEntry(index, failed, entry, ctx, parsed));
    }
  }
  // The batch answers 200 whatever its entries did: each failed one is audited here (with security on)
  // before the answer goes, as a failed request is; a row that cannot be written fails the answer.
  if (store.auditFailedEntry) for (const f of failures) await store.auditFailedEntry(f);
  return responseBundle('batch-response', results);
}

/**
 * A failed batch entry as the audit log names it: its route's interaction (as the same request over
 * HTTP is audited) and target when its request was read; when it was not, the route its method and url
 * name if any, else `batch`.
 */
function failedEntry(
  index: number,
  error: FhirError,
  entry: unknown,
  ctx: BundleContext,
  parsed?: ParsedEntry,
): FailedEntry {
  if (parsed?.get) {
    const { route, request } = parsed.get;
    const { type, id } = request.params;
    return {
      index,
      interaction: routeInteraction(route),
      ...(type ? { entity: id ? `${type}/${id}` : type } : {}),
      error,
    };
  }
  if (parsed?.interaction) {
    const entity = parsed.id ? `${parsed.type}/${parsed.id}` : parsed.type;
    return { index, interaction: parsed.interaction, entity, error };
  }
  const request = isJsonObject(entry) && isJsonObject(entry.request) ? entry.request : {};
  const { method, url } = request as { method?: unknown; url?: unknown };
  const relative = typeof url === 'string' ? requestUrlUnderBase(url, ctx.base) : undefined;
  let route: FhirRoute | undefined;
  if (typeof method === 'string' && relative !== undefined) {
    try {
      route = ctx.routes.match(method, `/${relative.split('?')[0]}`).route;
    } catch {
      // no route: the entry is named as the batch's
    }
  }
  return { index, interaction: route ? routeInteraction(route) : 'batch', error };
}

function responseBundle(type: 'transaction-response' | 'batch-response', entry: BundleEntry[]): Bundle {
  return { resourceType: 'Bundle', type, ...(entry.length ? { entry } : {}) };
}
