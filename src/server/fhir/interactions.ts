import { randomUUID } from 'node:crypto';
import type { Bundle, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { changeRuleOf, differentClients, identifiersHeldAlone } from '../../mapping/index.ts';
import { parseIfMatch } from '../../shared/etag.ts';
import { FhirError, issue, outcome } from '../../shared/outcome.ts';
import type { ServerTiming } from '../../shared/server-timing.ts';
import {
  type TokenAlternative,
  type UpdateOptions,
  assertUnreferenced,
  checkExpectedVersion,
  checkVersionId,
  identifierCriteria,
  ifMatchRequired,
  multipleMatches,
  tokenAlternatives,
} from '../../store/index.ts';
import { maskedOutcome } from '../http/outcome-cap.ts';
import { isFormatParameter } from '../http/query-params.ts';
import type { StoreWrites } from '../ports.ts';
import { SUPPORTED_TYPES, isSupportedType } from '../resource-types.ts';
import type { WritePolicy } from '../write-policy.ts';
import { assertValidId } from '../write-policy.ts';
import { applyJsonPatch } from './json-patch.ts';
import { localizeReferences, targetsOf } from './references.ts';
import type { SavedSearches } from './route-types.ts';
import { searchCriteria, searchLinks } from './search-links.ts';
import { toSearchParams } from './search-params.ts';
import { shapeOf, shapedJson } from './shaping.ts';

/** What every interaction needs: where to write, how to validate, and the base URL for links. */
export interface InteractionContext {
  policy: WritePolicy;
  base: string;
  /** Collects validation and database time for the response's Server-Timing header. */
  timing?: ServerTiming;
}

/** Runs `fn` under the context's Server-Timing span `name`, if the context collects timings. */
export function timed<T>(ctx: InteractionContext, name: 'validate' | 'db', fn: () => T): T {
  return ctx.timing ? ctx.timing.measure(name, fn) : fn();
}

export function assertType(type: string): void {
  if (!isSupportedType(type)) {
    throw new FhirError(
      404,
      // Not quoted: the type comes from the URL or a reference, and may be anything.
      issue(
        'error',
        'not-supported',
        'This resource type is not supported by this server (see its CapabilityStatement)',
      ),
    );
  }
}

export function checkIfNoneExist(criteria: string): string {
  if (!new URLSearchParams(criteria).has('identifier')) {
    throw new FhirError(
      400,
      issue(
        'error',
        'invalid',
        'If-None-Exist must be "identifier=system|value" (its value is not quoted back: it may carry a HETU)',
        'If-None-Exist',
      ),
    );
  }
  return criteria;
}

/**
 * The identifiers conditional criteria (`[Type?]identifier=…&…`) name: per `identifier` parameter, its
 * alternatives as the store's search reads them (`,` an OR, `\\,` a comma of the value).
 */
export function criteriaIdentifiers(criteria: string): TokenAlternative[][] {
  return new URLSearchParams(criteria.replace(/^[A-Za-z]*\?/, ''))
    .getAll('identifier')
    .map((wanted) => tokenAlternatives('identifier', wanted));
}

/**
 * `fhir-cond-1`: the identifiers an If-None-Exist (or a conditional update) names must be ones the
 * resource itself carries: otherwise the same resource would be created again on every retry, and the
 * documented idempotency would not hold — and criteria naming another identifier could match another
 * client's resource and show it. Each `identifier` value is read as the store's search reads it
 * (`tokenAlternatives`: `,` separates alternatives that are OR-ed, `\,` is a comma of the value), and
 * every alternative must be a system and value (or a value without a system) of the resource's own.
 */
export function assertCriteriaMatchBody(criteria: string, resource: Resource): void {
  // QuestionnaireResponse (and a few others) carry one identifier, not a list.
  type Id = { system?: string; value?: string };
  const own = ([] as Id[]).concat((resource as { identifier?: Id | Id[] }).identifier ?? []);
  const carried = ({ system, value }: TokenAlternative) =>
    value !== undefined &&
    own.some((i) => i?.value === value && (system === undefined || (i.system ?? '') === system));
  for (const alternatives of criteriaIdentifiers(criteria)) {
    if (alternatives.every(carried)) continue;
    throw new FhirError(
      400,
      issue(
        'error',
        'invalid',
        `fhir-cond-1: the conditional criteria name an identifier the ${resource.resourceType} does not carry (each of their alternatives must be); they must name the resource's own identifier`,
        `${resource.resourceType}.identifier`,
      ),
    );
  }
}

/**
 * `tyk-id-2` (`differentClients`): a conditional create that found a Patient by business identifier
 * must be about the same person, or everything written for the second would land on the first: 409,
 * nothing written. No HETU is quoted.
 */
export function assertSameClient(incoming: Resource, matched: Resource): void {
  if (!differentClients(incoming, matched)) return;
  throw new FhirError(
    409,
    issue(
      'error',
      'conflict',
      `tyk-id-2: the business identifier matches Patient/${matched.id}, which has another HETU: two clients would share one identifier and their data would merge (senders must not share a local-id system; set localIdSystemBase)`,
      'Patient.identifier',
    ),
  );
}

export async function createResource(
  store: StoreWrites,
  ctx: InteractionContext,
  resource: Resource,
  ifNoneExist?: string,
  validated = false,
  keepId = false,
): Promise<{ resource: Resource; created: boolean }> {
  // An empty If-None-Exist is malformed, not absent: ignoring it would create a duplicate.
  if (ifNoneExist !== undefined) assertCriteriaMatchBody(checkIfNoneExist(ifNoneExist), resource);
  localizeReferences(resource, ctx.base);
  // A transaction (`validated`) checks its entries' references once all are written.
  if (!validated) timed(ctx, 'validate', () => ctx.policy.enforce(resource));
  const targets = validated ? [] : targetsOf(resource, ctx.base, resource.resourceType);
  const unique = identifiersHeldAlone(resource);
  const opts = {
    ...(ifNoneExist !== undefined ? { ifNoneExist } : {}),
    keepId,
    ...(targets.length ? { targets } : {}),
    ...(unique ? { unique } : {}),
  };
  const written = await timed(ctx, 'db', () => store.create(resource, opts));
  if (!written.created) assertSameClient(resource, written.resource);
  return written;
}

/** A conditional update's criteria: the identifier it names, and as `identifier=…` text (If-None-Exist's form). */
export interface ConditionalCriteria {
  text: string;
  system: string;
  value: string;
}

/**
 * A conditional update's criteria from its query: one `identifier=system|value` and nothing else but
 * the format parameters (the value is not quoted back).
 */
export function conditionalUpdateCriteria(
  query: Record<string, string | string[] | undefined>,
): ConditionalCriteria {
  const names = Object.keys(query).filter((name) => !isFormatParameter(name));
  const identifier = query.identifier;
  const bar = typeof identifier === 'string' ? identifier.indexOf('|') : -1;
  if (names.length !== 1 || typeof identifier !== 'string' || bar <= 0 || bar === identifier.length - 1) {
    throw new FhirError(
      400,
      issue(
        'error',
        'invalid',
        'A conditional update (PUT Type?criteria) takes exactly one identifier=system|value',
        'identifier',
      ),
    );
  }
  // Matched exactly (a comma or a backslash is part of the value), and as the create's If-None-Exist
  // escaped so that the store's search reads the same one identifier.
  const system = identifier.slice(0, bar);
  const value = identifier.slice(bar + 1);
  return { text: identifierCriteria(system, value), system, value };
}

/**
 * Where a conditional update writes: the id of the one resource its criteria (checked to name the
 * resource's own identifier) match, or undefined when none does and it creates; 412 for several, and
 * for none when `ifMatch` names a version (of nothing: RFC 9110 §13.1.1); 400 when the resource names
 * another id.
 */
export async function conditionalUpdateTarget(
  store: StoreWrites,
  resource: Resource,
  criteria: ConditionalCriteria,
  ifMatch: string | undefined,
): Promise<string | undefined> {
  const type = resource.resourceType;
  assertCriteriaMatchBody(criteria.text, resource);
  const [matches = []] = await store.findByIdentifiers(type, [
    { system: criteria.system, value: criteria.value },
  ]);
  if (matches.length > 1)
    throw multipleMatches('conditional update', type, "the URL's criteria", `${type}?identifier`);
  const match = matches[0]?.id;
  if (match === undefined && ifMatch !== undefined)
    throw new FhirError(
      412,
      issue(
        'error',
        'conflict',
        `No ${type} matches the conditional update's identifier, so its If-Match cannot hold; leave If-Match out to create`,
        'If-Match',
      ),
    );
  if (resource.id !== undefined && resource.id !== match) {
    throw new FhirError(
      400,
      issue(
        'error',
        'invalid',
        match
          ? `The resource's id is not that of the ${type} its identifier matches (${type}/${match})`
          : `No ${type} matches the conditional update's identifier: a new one gets an id from the server; leave id out`,
        `${type}.id`,
      ),
    );
  }
  return match;
}

/** A conditional update found no match, and its create then found one: written by another meanwhile. */
export function createdMeanwhile(type: string): FhirError {
  return new FhirError(
    412,
    issue('error', 'conflict', `A ${type} with this identifier was created meanwhile; retry the update`),
  );
}

/**
 * A patch of `type/id` with the JSON Patch `ops` (a PATCH request's, or a Bundle entry's): the stored
 * resource (read as this caller may read it), patched, then written exactly as a PUT of the result
 * would be — validated, its references checked, versioned by If-Match (428 without, 412 stale). The
 * version is checked ahead of the patch, so a stale one is a 412, not a failed patch; the store
 * checks it again, atomically, when it writes.
 */
export async function patchResource(
  store: StoreWrites,
  ctx: InteractionContext,
  type: string,
  id: string,
  ifMatch: string | undefined,
  ops: unknown,
): Promise<Resource> {
  const expected = ifMatch === undefined ? undefined : parseIfMatch(ifMatch, { header: true });
  const current = await readResource(store, type, id);
  if (expected === undefined) throw ifMatchRequired(type, id);
  checkExpectedVersion(type, id, expected, Number(current.meta?.versionId));
  return (await updateResource(store, ctx, applyJsonPatch(current, ops), ifMatch, false, 'patch')).resource;
}

/**
 * An update of an existing resource. The store checks If-Match (428 when missing, 412 when stale) and
 * refuses a new id with 405: this server does not create on PUT (`updateCreate: false`). `interaction`
 * says the update writes a PATCH's result (`patchResource`), which is audited as a patch.
 */
export async function updateResource(
  store: StoreWrites,
  ctx: InteractionContext,
  resource: Resource,
  ifMatch: string | undefined,
  validated = false,
  interaction?: UpdateOptions['interaction'],
): Promise<{ resource: Resource; created: boolean }> {
  localizeReferences(resource, ctx.base);
  if (!validated) timed(ctx, 'validate', () => ctx.policy.enforce(resource));
  const targets = validated ? [] : targetsOf(resource, ctx.base, resource.resourceType);
  const assertChange = changeRuleOf(resource.resourceType);
  const unique = identifiersHeldAlone(resource);
  return timed(ctx, 'db', () =>
    store.update(resource, {
      ...(ifMatch ? { ifMatch } : {}),
      noCreate: true,
      ...(targets.length ? { targets } : {}),
      ...(interaction ? { interaction } : {}),
      ...(assertChange ? { assertChange } : {}),
      ...(unique ? { unique } : {}),
    }),
  );
}

/**
 * A DELETE (or a batch's DELETE entry): `deleteIfPresent` and, in the same transaction once the delete
 * holds the resource's row, the delete policy (`assertUnreferenced`: 409 while current resources refer
 * to it, nothing deleted). A write adding a reference meanwhile has committed (and is seen here) or
 * waits for this and finds the resource deleted (422 `store-ref-1`). The check asks `store` — the
 * caller's, which names only the referrers it may read.
 */
export function deleteUnreferenced(
  store: StoreWrites,
  type: string,
  id: string,
  ifMatch: string | undefined,
): Promise<string | undefined> {
  return store.transaction(async (tx) => {
    const versionId = await deleteIfPresent(tx, type, id, ifMatch);
    await assertUnreferenced(tx, type, id);
    return versionId;
  });
}

/**
 * Deletes `type/id` (without the reference check): the deleted version's id, or undefined when there
 * was nothing to delete, which R4 answers with 204 all the same.
 */
export async function deleteIfPresent(
  store: StoreWrites,
  type: string,
  id: string,
  ifMatch: string | undefined,
): Promise<string | undefined> {
  try {
    const result = await store.delete(type, id, ifMatch === undefined ? {} : { ifMatch });
    return result.deleted ? result.versionId : undefined;
  } catch (err) {
    if (err instanceof FhirError && err.status === 404) return undefined;
    throw err;
  }
}

/**
 * A searchset Bundle as JSON text. The matches are spliced in as the store holds them: a page of
 * resources is never parsed and serialised again just to be wrapped. `posted`: the criteria came in a
 * POST _search body, so the links name them saved (search-links.ts).
 */
export async function searchTypeJson(
  store: StoreWrites,
  ctx: InteractionContext & { savedSearches?: SavedSearches },
  type: string,
  query: Record<string, unknown>,
  opts: { lenient: boolean; posted?: boolean },
): Promise<string> {
  assertType(type);
  const search = await searchCriteria(ctx, type, toSearchParams(query));
  const params = search.params;
  const shape = shapeOf(params);
  const { _summary, _elements, ...storeParams } = params;
  if (shape.summary === 'count') Object.assign(storeParams, { _total: 'accurate', _count: '0' });
  // The types served: what a chain or an include may name, and which one a chain names when only one fits.
  const result = await store.searchJson(type, storeParams, {
    lenient: opts.lenient,
    base: ctx.base,
    types: SUPPORTED_TYPES,
  });
  // The links say what the search was: a parameter ignored under handling=lenient is not part of it.
  const links = await searchLinks(ctx, type, search, result, opts.posted === true);
  const head: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(result.total !== undefined ? { total: result.total } : {}),
    link: links,
  };
  const shaped = shape.summary !== undefined || shape.elements !== undefined;
  const entries = result.json.map((json, i) =>
    searchEntryJson(
      `${ctx.base}/${type}/${result.ids[i]}`,
      shaped ? shapedJson(json, shape, ctx) : json,
      'match',
    ),
  );
  for (const inc of result.included ?? []) {
    const json = shaped ? shapedJson(inc.json, shape, ctx) : inc.json;
    entries.push(searchEntryJson(`${ctx.base}/${inc.type}/${inc.id}`, json, 'include'));
  }
  if (result.ignored?.length) entries.push(ignoredParametersEntryJson(type, result.ignored));
  return bundleWithEntries(head, entries);
}

/** A searchset entry around a resource's JSON text (as stored: never parsed to be wrapped). */
export function searchEntryJson(fullUrl: string, json: string, mode: 'match' | 'include'): string {
  return `{"fullUrl":${JSON.stringify(fullUrl)},"resource":${json},"search":{"mode":"${mode}"}}`;
}

/** A searchset entry carrying an OperationOutcome of `issues`. */
export function outcomeEntryJson(issues: OperationOutcomeIssue[]): string {
  return JSON.stringify({
    // Every searchset entry is identified by its fullUrl; the outcome has no id of its own.
    fullUrl: `urn:uuid:${randomUUID()}`,
    resource: { resourceType: 'OperationOutcome', issue: issues },
    search: { mode: 'outcome' },
  });
}

/** `head` as JSON text with `entries` (JSON texts) as its entry array. */
export function bundleWithEntries(head: Bundle, entries: string[]): string {
  // An empty searchset has no entry element at all (FHIR JSON has no empty arrays).
  if (!entries.length) return JSON.stringify(head);
  return `${JSON.stringify(head).slice(0, -1)},"entry":[${entries.join(',')}]}`;
}

export async function readResourceJson(
  store: StoreWrites,
  type: string,
  id: string,
): Promise<{ json: string; versionId: string; lastUpdated: string }> {
  assertType(type);
  assertValidId(id, type);
  return store.readJson(type, id);
}

/**
 * One version of a resource (vread), directly or in a Bundle entry; 400 at `Type.meta.versionId` for a
 * malformed version id (`checkVersionId`, the store's rule).
 */
export async function readVersion(
  store: StoreWrites,
  type: string,
  id: string,
  vid: string,
): Promise<Resource> {
  assertType(type);
  assertValidId(id, type);
  return store.vread(type, id, checkVersionId(type, vid));
}

export async function readResource(store: StoreWrites, type: string, id: string): Promise<Resource> {
  assertType(type);
  assertValidId(id, type);
  return store.read(type, id);
}

/** Where a Bundle entry carries what a direct request sends as a header (a header has no FHIRPath). */
const ENTRY_HEADERS: Readonly<Record<string, string>> = {
  'If-Match': 'request.ifMatch',
  'If-None-Exist': 'request.ifNoneExist',
  'If-None-Match': 'request.ifNoneMatch',
  'If-Modified-Since': 'request.ifModifiedSince',
};

/** What a Bundle entry holds: an expression starting with one of these names one of its elements. */
const ENTRY_ELEMENTS = /^(?:fullUrl|link|request|resource|response|search)(?:[.[]|$)/;

/**
 * Prefixes validator expressions (`Observation.x`) with the Bundle entry they came from, puts a
 * header's name at the entry's request element that carries it, and a query parameter's name (a
 * search's or a conditional update's, named as written: no element of a resource or an entry) or a
 * URL's criteria (`Observation?identifier`) at the entry's `request.url`, which holds the query.
 * `method`, for a write's refusal by the store: what the entry holds instead of the store's
 * `Type.meta.versionId` — the version precondition of a PUT, PATCH or DELETE, which the entry's
 * `request.ifMatch` gave — and, for an entry that holds no resource (a DELETE), what the store names at
 * the resource (`Type.id`) is at its `request.url`, which names it. A PATCH's resource is its patch
 * document: what names the patched resource (`Observation.valueInteger`, as the patch interaction
 * names it) stays as it is.
 */
export function inEntry(
  issues: OperationOutcomeIssue[],
  index: number,
  type?: string,
  method?: string,
): OperationOutcomeIssue[] {
  const prefix = `Bundle.entry[${index}]`;
  const versioned = method === 'PUT' || method === 'PATCH' || method === 'DELETE';
  const rewrite = (e: string) => {
    if (ENTRY_HEADERS[e]) return `${prefix}.${ENTRY_HEADERS[e]}`;
    if (type !== undefined && (e === type || e.startsWith(`${type}.`))) {
      if (versioned && e === `${type}.meta.versionId`) return `${prefix}.${ENTRY_HEADERS['If-Match']}`;
      if (method === 'PATCH') return e;
      if (method === 'DELETE') return `${prefix}.request.url`;
      return `${prefix}.resource${e.slice(type.length)}`;
    }
    if (e === 'resourceType') return `${prefix}.resource.resourceType`;
    if (/^[A-Za-z]+\?/.test(e)) return `${prefix}.request.url`;
    // A resource path starts with its type's name (capitalised); a parameter name never does.
    if (/^[A-Z]/.test(e) || ENTRY_ELEMENTS.test(e)) return `${prefix}.${e}`;
    return `${prefix}.request.url`;
  };
  return issues.map((i) => ({
    ...i,
    diagnostics: `entry[${index}]: ${i.diagnostics ?? ''}`,
    ...(i.expression ? { expression: i.expression.map(rewrite) } : { expression: [prefix] }),
    ...(i.location ? { location: i.location.map(rewrite) } : { location: [prefix] }),
  }));
}

/**
 * The outcome entry of a searchset naming the parameters `Prefer: handling=lenient` had ignored, a
 * HETU among their names masked (`?identifier%3D<HETU>` is one parameter's name): it is a 200's
 * warning, which no error path's mask sees.
 */
export function ignoredParametersEntryJson(type: string, names: readonly string[]): string {
  const issues = names.map((name) =>
    issue(
      'warning',
      'not-supported',
      `Search parameter "${name}" is unknown or unsupported for ${type}; ignored (Prefer: handling=lenient)`,
      name,
    ),
  );
  return outcomeEntryJson(maskedOutcome(outcome(issues)).issue ?? []);
}
