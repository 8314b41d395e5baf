// The interactions Kanta PHR's statement declares, over our store, with Kanta's write rules.
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { FhirError, issue } from '../../shared/outcome.ts';
import type { FacadeStore, StoreWrites } from '../ports.ts';
import { assertResourceShape, assertValidId } from '../write-policy.ts';
import { type KantaTypeRules, kantaCapability } from './capability.ts';
import { applyFilters, planSearch } from './search.ts';
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
  if (parts.length !== 1 || !/^identifier=[^=]+$/.test(parts[0])) {
    throw new FhirError(
      400,
      issue(
        'error',
        'not-supported',
        `kanta-conditional: conditional create allows only identifier as condition, got '${criteria}'`,
        at,
      ),
    );
  }
  return parts[0];
}

function checkWrite(ctx: KantaContext, r: Resource, at: string): void {
  if (CONFORMANCE_TYPES.has(r.resourceType)) return;
  ctx.rules.check(r, at);
}

/** Refuses a plain create whose business identifier another resource of the type already has. */
export async function assertUniqueIdentifier(store: StoreWrites, r: Resource, at: string): Promise<void> {
  const token = identifierToken(r);
  if (!token) return;
  const found = await store.search(r.resourceType, { identifier: token, _count: '1' });
  if (found.resources.length) {
    throw new FhirError(
      409,
      issue(
        'error',
        'duplicate',
        `kanta-identifier: another ${r.resourceType} already has this business identifier`,
        `${at}.identifier`,
      ),
    );
  }
}

/** Validates a create; the store call is left to the caller (one or many). */
export function prepareCreate(
  ctx: KantaContext,
  body: unknown,
  type: string,
  ifNoneExist: string | undefined,
  /** Where the entry sits in a batch (`Bundle.entry[3]`); absent for a plain create. */
  at?: string,
) {
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
  return { resource: clean as Resource, ifNoneExist: condition };
}

export async function createOne(ctx: KantaContext, body: unknown, type: string, ifNoneExist?: string) {
  const p = prepareCreate(ctx, body, type, ifNoneExist);
  if (!p.ifNoneExist) await assertUniqueIdentifier(ctx.store, p.resource, type);
  return ctx.store.create(p.resource, { ifNoneExist: p.ifNoneExist });
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
  await ctx.store.read(type, id); // 404/410: Kanta PHR does not create on update
  checkWrite(ctx, resource, type);
  return ctx.store.update(resource, { ifMatch });
}

export async function deleteOne(ctx: KantaContext, type: string, id: string) {
  allow(typeRules(type), 'delete');
  assertValidId(id, type);
  return ctx.store.delete(type, id);
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
  const page = await ctx.store.search(type, plan.store);
  const resources = applyFilters(page.resources, plan);
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    link: [{ relation: 'self', url: `${ctx.base}/${type}` }],
    entry: resources.map((r) => ({
      fullUrl: `${ctx.base}/${type}/${r.id}`,
      resource: r,
      search: { mode: 'match' },
    })),
  };
  if (plan.total) bundle.total = plan.filters.length ? resources.length : page.total;
  if (page.nextCursor && !plan.filters.length) {
    bundle.link?.push({
      relation: 'next',
      url: `${ctx.base}/${type}?_cursor=${encodeURIComponent(page.nextCursor)}`,
    });
  }
  return bundle;
}
