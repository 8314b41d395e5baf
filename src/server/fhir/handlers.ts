// The FHIR interactions as named, transport-free handlers: (request, context) → response. The route
// table (routes.ts) pairs each with its URL pattern; nothing here knows about Express.
import type { OperationOutcome, OperationOutcomeIssue, Parameters, Resource } from '@medplum/fhirtypes';
import { parseIfMatch, weakEtag } from '../../shared/etag.ts';
import { FhirError, issue, outcome } from '../../shared/outcome.ts';
import { assertUnreferenced } from '../../store/index.ts';
import { bodyJson } from '../http/json-body.ts';
import {
  assertIfMatchOnRead,
  headerText,
  notModified,
  parsePrefer,
  preferenceApplied,
  refuseIfNoneMatchOnWrite,
  versionHeaders,
  versionedLocation,
} from '../http/negotiation.ts';
import { maskedOutcome } from '../http/outcome-cap.ts';
import { assertResourceShape, assertValidId } from '../write-policy.ts';
import { processBundle } from './bundle.ts';
import { historyBundle, historyQuery, instanceHistoryBundle } from './history.ts';
import {
  assertType,
  conditionalUpdateCriteria,
  conditionalUpdateTarget,
  createResource,
  createdMeanwhile,
  deleteUnreferenced,
  patchResource,
  readResource,
  readResourceJson,
  readVersion,
  searchTypeJson,
  updateResource,
} from './interactions.ts';
import { patchDocument } from './json-patch.ts';
import { searchFormQuery } from './posted-parameters.ts';
import { assertTargetsExist } from './references.ts';
import type { FhirContext, FhirHandler, FhirRequest, FhirResponse } from './route-types.ts';
import { shapeOf, shapeResource, shapeResourceJson, wantsShaping } from './shaping.ts';

function header(req: FhirRequest, name: string): string | undefined {
  return headerText(req.headers[name]);
}

function resourceBody(req: FhirRequest, ctx: FhirContext, report?: OperationOutcomeIssue[]): unknown {
  return bodyJson(
    req.body,
    header(req, 'content-type'),
    { maxDepth: ctx.limits.jsonDepth, report },
    'a FHIR resource',
  );
}

/** The type and id of an instance URL, checked. */
function instance(req: FhirRequest): { type: string; id: string } {
  const { type, id } = req.params;
  assertType(type);
  assertValidId(id, type);
  return { type, id };
}

/**
 * A written resource as the client's `Prefer: return=` asks for it, with version headers and its
 * versioned Location (create, update, conditional update and patch alike).
 */
function written(req: FhirRequest, ctx: FhirContext, resource: Resource, status: number): FhirResponse {
  const preferences = parsePrefer(req.headers.prefer);
  const headers = {
    ...versionHeaders(resource.meta),
    ...preferenceApplied(preferences, ['return']),
    Location: versionedLocation(ctx.base, resource),
  };
  const prefer = preferences.return;
  if (prefer === 'minimal') return { status, headers };
  if (prefer === 'OperationOutcome') {
    const text = status === 201 ? 'Created' : 'OK';
    const oo = outcome([
      issue('information', 'informational', `${text} ${resource.resourceType}/${resource.id}`),
    ]);
    return { status, headers, body: oo };
  }
  return { status, headers, body: resource };
}

export const read: FhirHandler = async (req, ctx) => {
  const stored = await readResourceJson(ctx.store, req.params.type, req.params.id);
  assertIfMatchOnRead(req.headers, stored.versionId);
  if (notModified(req.headers, stored)) return { status: 304, headers: versionHeaders(stored) };
  const json = wantsShaping(req.query) ? shapeResourceJson(stored.json, req.query, ctx) : stored.json;
  return { status: 200, headers: versionHeaders(stored), json };
};

export const vread: FhirHandler = async (req, ctx) => {
  const { type, id } = instance(req);
  const resource = await readVersion(ctx.store, type, id, req.params.vid);
  assertIfMatchOnRead(req.headers, resource.meta?.versionId);
  if (notModified(req.headers, resource.meta ?? {})) {
    return { status: 304, headers: versionHeaders(resource.meta) };
  }
  const body = wantsShaping(req.query) ? shapeResource(resource, shapeOf(req.query), ctx) : resource;
  return { status: 200, headers: versionHeaders(resource.meta), body };
};

export const create: FhirHandler = async (req, ctx) => {
  const type = req.params.type;
  assertType(type);
  const resource = assertResourceShape(resourceBody(req, ctx), type);
  const stored = await createResource(ctx.store, ctx, resource, header(req, 'if-none-exist'));
  const out = written(req, ctx, stored.resource, stored.created ? 201 : 200);
  // A conditional create that matched: the matched resource, also under Content-Location (200).
  if (!stored.created && out.headers?.Location) out.headers['Content-Location'] = out.headers.Location;
  return out;
};

/** PUT: an update of an existing resource with If-Match; a new id is 405 (updateCreate: false). */
export const update: FhirHandler = async (req, ctx) => {
  const { type, id } = instance(req);
  refuseIfNoneMatchOnWrite(req.headers);
  const ifMatch = header(req, 'if-match');
  if (ifMatch !== undefined) parseIfMatch(ifMatch, { header: true });
  const resource = assertResourceShape(resourceBody(req, ctx), type, id);
  const stored = await updateResource(ctx.store, ctx, resource, ifMatch);
  return written(req, ctx, stored.resource, stored.created ? 201 : 200);
};

/**
 * PUT Type?identifier=system|value (conditional update): the one resource carrying that identifier
 * is updated as a PUT to its id would be (If-Match required: 428 without, 412 stale); with none, the
 * resource is created as a conditional create on the same identifier would be (201); two or more
 * are 412. The criteria name only the identifier, and the resource must carry it.
 */
export const conditionalUpdate: FhirHandler = async (req, ctx) => {
  const type = req.params.type;
  assertType(type);
  const criteria = conditionalUpdateCriteria(req.query);
  const resource = assertResourceShape(resourceBody(req, ctx), type);
  refuseIfNoneMatchOnWrite(req.headers);
  const ifMatch = header(req, 'if-match');
  if (ifMatch !== undefined) parseIfMatch(ifMatch, { header: true });
  const target = await conditionalUpdateTarget(ctx.store, resource, criteria, ifMatch);
  if (target === undefined) {
    const stored = await createResource(ctx.store, ctx, resource, criteria.text);
    if (!stored.created) throw createdMeanwhile(type);
    return written(req, ctx, stored.resource, 201);
  }
  const stored = await updateResource(ctx.store, ctx, { ...resource, id: target }, ifMatch);
  return written(req, ctx, stored.resource, 200);
};

/**
 * PATCH with a JSON Patch (`patchResource`): written exactly as a PUT of the result would be —
 * validated, and versioned by If-Match (428 without, 412 stale).
 */
export const patch: FhirHandler = async (req, ctx) => {
  const { type, id } = instance(req);
  refuseIfNoneMatchOnWrite(req.headers);
  const ifMatch = header(req, 'if-match');
  if (ifMatch !== undefined) parseIfMatch(ifMatch, { header: true });
  const ops = patchDocument(header(req, 'content-type'), req.body, ctx.limits.jsonDepth);
  const stored = await patchResource(ctx.store, ctx, type, id, ifMatch, ops);
  // Location names the version written, as a PUT's answer does.
  return written(req, ctx, stored, 200);
};

/** DELETE: 204 also for an id that never existed (R4 allows it); 409 while still referenced. */
export const remove: FhirHandler = async (req, ctx) => {
  const { type, id } = instance(req);
  refuseIfNoneMatchOnWrite(req.headers);
  const ifMatch = header(req, 'if-match');
  if (ifMatch !== undefined) parseIfMatch(ifMatch, { header: true });
  const versionId = await deleteUnreferenced(ctx.store, type, id, ifMatch);
  const headers: Record<string, string> = versionId === undefined ? {} : { ETag: weakEtag(versionId) };
  return { status: 204, headers };
};

/** A search of `query`; `posted`: it came by POST _search, so its links name its criteria saved. */
async function answerSearch(
  req: FhirRequest,
  ctx: FhirContext,
  query: FhirRequest['query'],
  posted: boolean,
): Promise<FhirResponse> {
  const prefer = parsePrefer(req.headers.prefer);
  const json = await searchTypeJson(ctx.store, ctx, req.params.type, query, {
    lenient: prefer.lenient,
    posted,
  });
  return { status: 200, headers: preferenceApplied(prefer, ['handling']), json };
}

export const searchType: FhirHandler = (req, ctx) => answerSearch(req, ctx, req.query, false);

/** POST _search: form parameters in the body, joined with any in the URL. */
export const searchTypePost: FhirHandler = (req, ctx) =>
  answerSearch(req, ctx, searchFormQuery(req.query, req.body, header(req, 'content-type')), true);

export const historyInstance: FhirHandler = async (req, ctx) => {
  const { type, id } = instance(req);
  const prefer = parsePrefer(req.headers.prefer);
  const q = historyQuery(req.query, prefer);
  return {
    status: 200,
    headers: preferenceApplied(prefer, ['handling']),
    body: instanceHistoryBundle(ctx.base, type, id, await ctx.store.history(type, id), q),
  };
};

export const historyType: FhirHandler = async (req, ctx) => {
  assertType(req.params.type);
  const prefer = parsePrefer(req.headers.prefer);
  const q = historyQuery(req.query, prefer);
  const page = await ctx.store.historyPage(req.params.type, q);
  return {
    status: 200,
    headers: preferenceApplied(prefer, ['handling']),
    body: historyBundle(`${ctx.base}/${req.params.type}/_history`, ctx.base, q, page),
  };
};

export const historySystem: FhirHandler = async (req, ctx) => {
  const prefer = parsePrefer(req.headers.prefer);
  const q = historyQuery(req.query, prefer);
  const page = await ctx.store.historyPage(undefined, q);
  return {
    status: 200,
    headers: preferenceApplied(prefer, ['handling']),
    body: historyBundle(`${ctx.base}/_history`, ctx.base, q, page),
  };
};

export const transaction: FhirHandler = async (req, ctx) => {
  const body = bodyJson(
    req.body,
    header(req, 'content-type'),
    { maxDepth: ctx.limits.jsonDepth },
    'a Bundle',
  );
  const prefer = parsePrefer(req.headers.prefer);
  return {
    status: 200,
    headers: preferenceApplied(prefer, ['return']),
    body: await processBundle(ctx.store, ctx, body, prefer.return),
  };
};

const VALIDATE_MODES = ['create', 'update', 'delete', 'profile'];

/** What a $validate `Parameters` body gives: its resource, profile and mode (each absent when not given). */
interface ValidateParameters {
  resource?: unknown;
  profile?: string;
  mode?: unknown;
}

/**
 * The $validate parameters of a `Parameters` body (the first of each name), or a 400 naming the element
 * that is not one — `parameter` a list of objects with a string `name`, `profile` a canonical URL as
 * a string (`valueUri`, as R4 types it, or `valueCanonical`, which some clients send) — instead of
 * reading past it (a profile ignored would answer for another validation than the one asked).
 */
function validateParameters(body: Parameters): ValidateParameters {
  const bad = (what: string, at: string) => FhirError.badRequest(`$validate: ${what}`, at);
  const list: unknown = body.parameter ?? [];
  if (!Array.isArray(list))
    throw bad('Parameters.parameter must be a list of parameters', 'Parameters.parameter');
  const out: ValidateParameters = {};
  list.forEach((p: unknown, i) => {
    const at = `Parameters.parameter[${i}]`;
    if (p === null || typeof p !== 'object' || Array.isArray(p))
      throw bad(`${at} must be a parameter: an object with a name`, at);
    const { name, resource, valueUri, valueCanonical, valueCode } = p as Record<string, unknown>;
    if (typeof name !== 'string') throw bad(`${at}.name must be a string`, `${at}.name`);
    if (name === 'resource' && !('resource' in out)) out.resource = resource;
    if (name === 'mode' && !('mode' in out)) out.mode = valueCode;
    if (name !== 'profile') return;
    const profile = valueUri ?? valueCanonical;
    if (typeof profile !== 'string')
      throw bad('the profile parameter is a canonical URL (valueUri or valueCanonical, a string)', at);
    out.profile ??= profile;
  });
  return out;
}

/** The `mode` of a $validate, from the query or the body's Parameters; 400 for a code R4 does not define. */
function validateMode(req: FhirRequest, params: ValidateParameters | undefined): string | undefined {
  const inUrl = typeof req.query.mode === 'string' ? req.query.mode : undefined;
  const mode = params?.mode ?? inUrl;
  // The security layer checks the delete permission before it reads a body, from the URL.
  if (mode === 'delete' && inUrl !== 'delete')
    throw FhirError.badRequest(
      '$validate mode=delete goes in the URL: [type]/[id]/$validate?mode=delete',
      'mode',
    );
  if (mode !== undefined && (typeof mode !== 'string' || !VALIDATE_MODES.includes(mode)))
    throw FhirError.badRequest(`$validate mode must be one of ${VALIDATE_MODES.join(', ')}`, 'mode');
  return mode;
}

/**
 * `$validate?mode=delete` on an instance: would a DELETE be accepted now? The same checks a DELETE makes
 * (the resource exists; nothing current still references it), reported as findings, nothing deleted.
 */
async function validateDelete(ctx: FhirContext, type: string, id: string | undefined): Promise<FhirResponse> {
  if (id === undefined)
    throw FhirError.badRequest('$validate mode=delete needs an instance: POST [type]/[id]/$validate', 'mode');
  await readResource(ctx.store, type, id);
  try {
    await assertUnreferenced(ctx.store, type, id);
  } catch (err) {
    if (err instanceof FhirError) return { status: 200, body: err.outcome };
    throw err;
  }
  return {
    status: 200,
    body: outcome([issue('information', 'informational', `${type}/${id} can be deleted`)]),
  };
}

/** `store-ref-1` as findings: what a create or update of `resource` would be refused for. */
async function missingTargets(ctx: FhirContext, resource: Resource): Promise<OperationOutcomeIssue[]> {
  try {
    await assertTargetsExist(ctx.store, ctx.base, [{ resource, path: resource.resourceType }]);
    return [];
  } catch (err) {
    if (err instanceof FhirError && err.status === 422) return err.outcome.issue ?? [];
    throw err;
  }
}

/**
 * $validate at type or instance level: a resource or a Parameters(resource, profile, mode) in the body.
 * Its findings are masked as a refusal's are: they name what the client sent (a property it named
 * with a HETU), and a 200 leaves the server without passing the error handler's net.
 */
export const validate: FhirHandler = async (req, ctx) => {
  const answer = await validateAnswer(req, ctx);
  return { ...answer, body: maskedOutcome(answer.body as OperationOutcome) };
};

const validateAnswer: FhirHandler = async (req, ctx) => {
  const type = req.params.type;
  assertType(type);
  const id = req.params.id;
  if (id !== undefined) assertValidId(id, type);
  // Strings the store would refuse (U+0000, lone surrogates, over 1 MB) are findings of the validation.
  const stringIssues: OperationOutcomeIssue[] = [];
  const body = req.body?.length ? (resourceBody(req, ctx, stringIssues) as Resource | Parameters) : undefined;
  const params = body?.resourceType === 'Parameters' ? validateParameters(body as Parameters) : undefined;
  const mode = validateMode(req, params);
  if (mode === 'delete') return validateDelete(ctx, type, id);
  let resource: unknown;
  let profile = typeof req.query.profile === 'string' ? req.query.profile : undefined;
  if (body) {
    if (params) {
      resource = params.resource;
      profile = params.profile ?? profile;
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
    resource = await readResource(ctx.store, type, id);
  } else {
    throw FhirError.badRequest('$validate needs a resource in the body');
  }
  const checked = assertResourceShape(resource, type, undefined);
  if (id !== undefined && checked.id !== undefined && checked.id !== id) {
    throw FhirError.badRequest('Resource id does not match the id in the URL', `${type}.id`);
  }
  const result = ctx.policy.check(checked, { profile });
  // mode=create/update asks whether that write would be accepted: its reference targets must exist.
  const targetIssues = mode === 'create' || mode === 'update' ? await missingTargets(ctx, checked) : [];
  if (!stringIssues.length && !targetIssues.length) return { status: 200, body: result };
  const found = (result.issue ?? []).filter(
    (i) => i.severity !== 'information' || i.code !== 'informational',
  );
  return { status: 200, body: outcome([...stringIssues, ...targetIssues, ...found]) };
};
