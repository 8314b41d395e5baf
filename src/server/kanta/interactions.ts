// The interactions Kanta PHR's statement declares, over our store, with Kanta's write rules.
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { FhirError, issue } from '../../shared/outcome.ts';
import { assertCriteriaMatchBody } from '../fhir/interactions.ts';
import { withQuery } from '../http/query-params.ts';
import type { FacadeStore } from '../ports.ts';
import { assertResourceShape, assertValidId } from '../write-policy.ts';
import { type KantaTypeRules, kantaCapability } from './capability.ts';
import { filteredPage, planSearch } from './search.ts';
import { type KantaWriteRules, identifierToken } from './write-rules.ts';

export interface KantaContext {
  store: FacadeStore;
  rules: KantaWriteRules;
  base: string;
}

/** Types whose writes carry citizen data and so follow every Kanta write rule (not ValueSet & co.). */
const CONFORMANCE_TYPES = new Set(['ValueSet', 'StructureDefinition', 'CodeSystem']);

/** The statement's rules for `type`, or 404 for a type Kanta PHR does not hold. */
export function typeRules(type: string): KantaTypeRules {
  const rules = kantaCapability().types.get(type);
  if (!rules) {
    const known = [...kantaCapability().types.keys()].join(', ');
    throw new FhirError(
      404,
      issue(
        'error',
        'not-supported',
        `kanta-type: Kanta PHR does not hold ${type} resources (it holds ${known})`,
      ),
    );
  }
  return rules;
}

/** 405 unless the statement lists `interaction` for the type. */
export function allow(rules: KantaTypeRules, interaction: string): void {
  if (!rules.interactions.has(interaction)) {
    throw new FhirError(
      405,
      issue(
        'error',
        'not-supported',
        `kanta-interaction: Kanta PHR does not allow ${interaction} on ${rules.type}`,
      ),
    );
  }
}

/** `identifier=…` is the only condition Kanta PHR accepts on a conditional create. */
export function checkIfNoneExist(criteria: string, rules: KantaTypeRules, at: string): string {
  if (!rules.conditionalCreate) {
    throw new FhirError(
      400,
      issue('error', 'not-supported', `kanta-conditional: no conditional create on ${rules.type}`, at),
    );
  }
  const parts = criteria.replace(/^\?/, '').split('&').filter(Boolean);
  if (parts.length !== 1 || !/^identifier=[^=]+$/.test(parts[0] as string)) {
    throw new FhirError(
      400,
      issue(
        'error',
        'not-supported',
        // The criteria are not quoted back: they may carry a HETU.
        'kanta-conditional: conditional create allows only one identifier=… as condition',
        at,
      ),
    );
  }
  return parts[0] as string;
}

function checkWrite(ctx: KantaContext, r: Resource, at: string): void {
  if (CONFORMANCE_TYPES.has(r.resourceType)) return;
  ctx.rules.check(r, at);
}

/** 409: a plain create (or an update) would give a second resource this business identifier. */
function duplicateIdentifier(type: string, at: string): FhirError {
  return new FhirError(
    409,
    issue(
      'error',
      'duplicate',
      `kanta-identifier: another ${type} already has this business identifier`,
      `${at}.identifier`,
    ),
  );
}

/**
 * What a validated create asks of the store. A plain create becomes a conditional create on its own
 * business identifier (`duplicateIfMatched`): the store's lock on the criteria makes "is it taken?"
 * and the insert one step, so neither concurrent requests nor two entries of one batch can store the
 * identifier twice; a match is then a 409, not the 200 of a conditional create.
 */
export interface PreparedCreate {
  resource: Resource;
  ifNoneExist?: string;
  duplicateIfMatched: boolean;
}

/** The answer to a prepared create's store result: 409 for a plain create that found its identifier. */
export function createdOrDuplicate<T extends { created: boolean }>(p: PreparedCreate, r: T, at: string): T {
  if (p.duplicateIfMatched && !r.created) throw duplicateIdentifier(p.resource.resourceType, at);
  return r;
}

/** Validates a create; the store call is left to the caller (one or many). */
export function prepareCreate(
  ctx: KantaContext,
  body: unknown,
  type: string,
  ifNoneExist: string | undefined,
  /** Where the entry sits in a batch (`Bundle.entry[3]`); absent for a plain create. */
  at?: string,
): PreparedCreate {
  const rules = typeRules(type);
  allow(rules, 'create');
  const resource = assertResourceShape(body, type);
  const condition =
    ifNoneExist === undefined
      ? undefined
      : checkIfNoneExist(ifNoneExist, rules, at ? `${at}.request.ifNoneExist` : 'If-None-Exist');
  const { id: _ignored, ...clean } = resource as Resource & { id?: string };
  if (clean.meta) {
    const { versionId: _v, lastUpdated: _l, ...meta } = clean.meta;
    clean.meta = meta;
  }
  checkWrite(ctx, clean as Resource, at === undefined ? type : `${at}.resource`);
  // The criteria name the resource's own identifier, or a retry would create it again.
  if (condition) assertCriteriaMatchBody(condition, clean as Resource);
  const token = condition ? undefined : identifierToken(clean as Resource);
  return {
    resource: clean as Resource,
    ...(condition ? { ifNoneExist: condition } : token ? { ifNoneExist: `identifier=${token}` } : {}),
    duplicateIfMatched: token !== undefined,
  };
}

export async function createOne(ctx: KantaContext, body: unknown, type: string, ifNoneExist?: string) {
  const p = prepareCreate(ctx, body, type, ifNoneExist);
  const r = await ctx.store.create(p.resource, p.ifNoneExist ? { ifNoneExist: p.ifNoneExist } : {});
  return createdOrDuplicate(p, r, type);
}

export async function updateOne(
  ctx: KantaContext,
  body: unknown,
  type: string,
  id: string,
  ifMatch: string | undefined,
) {
  const rules = typeRules(type);
  allow(rules, 'update');
  assertValidId(id, type);
  if (!ifMatch) {
    throw new FhirError(
      428,
      issue(
        'error',
        'required',
        'kanta-version: update needs If-Match with the current version (versioned update)',
      ),
    );
  }
  const resource = assertResourceShape(body, type, id);
  const current = await ctx.store.read(type, id); // 404/410: Kanta PHR does not create on update
  checkWrite(ctx, resource, type);
  // A stored resource keeps its business identifier: changing it could hand another resource's.
  if (identifierToken(current) !== identifierToken(resource))
    throw new FhirError(
      409,
      issue(
        'error',
        'conflict',
        `kanta-identifier: a stored ${type} keeps its business identifier; an update cannot change it`,
        `${type}.identifier`,
      ),
    );
  return ctx.store.update(resource, { ifMatch });
}

/** A delete; an If-Match, when given, must name the current version (412 otherwise), as on an update. */
export async function deleteOne(ctx: KantaContext, type: string, id: string, ifMatch?: string) {
  allow(typeRules(type), 'delete');
  assertValidId(id, type);
  return ctx.store.delete(type, id, ifMatch === undefined ? {} : { ifMatch });
}

export async function readOne(ctx: KantaContext, type: string, id: string, versionId?: string) {
  allow(typeRules(type), versionId ? 'vread' : 'read');
  assertValidId(id, type);
  return versionId ? ctx.store.vread(type, id, versionId) : ctx.store.read(type, id);
}

export async function searchType(
  ctx: KantaContext,
  type: string,
  query: Record<string, string | string[]>,
): Promise<Bundle> {
  const rules = typeRules(type);
  allow(rules, 'search-type');
  const plan = planSearch(rules, query);
  const page = plan.filters.length
    ? await filteredPage((params) => ctx.store.search(type, params), plan)
    : await ctx.store.search(type, plan.store);
  const { resources } = page;
  // The links carry the search (a next link of `_cursor` alone would lose its mandatory `patient`).
  const link = (cursor?: string) => {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query))
      if (name !== '_cursor') for (const v of [value].flat()) params.append(name, v);
    if (cursor) params.set('_cursor', cursor);
    return withQuery(`${ctx.base}/${type}`, params);
  };
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    link: [{ relation: 'self', url: link(typeof query._cursor === 'string' ? query._cursor : undefined) }],
    entry: resources.map((r) => ({
      fullUrl: `${ctx.base}/${type}/${r.id}`,
      resource: r,
      search: { mode: 'match' },
    })),
  };
  if (plan.total) bundle.total = page.total;
  if (page.nextCursor) bundle.link?.push({ relation: 'next', url: link(page.nextCursor) });
  return bundle;
}
