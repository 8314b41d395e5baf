// The interactions Kanta PHR's statement declares, over our store, with Kanta's write rules.
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { Logger } from 'pino';
import { GLOBAL_IDENTIFIER_SYSTEM } from '../../domain/index.ts';
import { identifiersHeldAlone } from '../../mapping/index.ts';
import { parseIfMatch } from '../../shared/etag.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import { type CreateOptions, type ReferenceTarget, checkExpectedVersion } from '../../store/index.ts';
import { assertCriteriaMatchBody } from '../fhir/interactions.ts';
import { withQuery } from '../http/query-params.ts';
import type { FacadeStore, StoreWrites } from '../ports.ts';
import { assertResourceShape, assertValidId } from '../write-policy.ts';
import { type KantaTypeRules, kantaCapability } from './capability.ts';
import { type ReferenceCheck, refusedTargets, writeTargets } from './references.ts';
import { filteredPage, planSearch } from './search.ts';
import { assertKeepsIdentity } from './update-rules.ts';
import type { KantaWriteRules } from './write-rules.ts';

export interface KantaContext extends ReferenceCheck {
  store: FacadeStore;
  rules: KantaWriteRules;
  base: string;
  /** Where unexpected failures are logged (no client data), with the request's id. */
  log: Logger;
  requestId?: string;
}

/**
 * The statement's rules for `type`, or 404 for a type Kanta PHR does not hold — naming it only when
 * it is written as a type name: it is the caller's path, which may carry a HETU (`/fhir/<HETU>/x`).
 */
export function typeRules(type: string): KantaTypeRules {
  const rules = kantaCapability().types.get(type);
  if (!rules) {
    const known = [...kantaCapability().types.keys()].join(', ');
    const asked = /^[A-Z][A-Za-z]{0,63}$/.test(type) ? type : 'such';
    throw new FhirError(
      404,
      issue(
        'error',
        'not-supported',
        `kanta-type: Kanta PHR does not hold ${asked} resources (it holds ${known})`,
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

/**
 * Where the first unescaped `ch` of a search value is, or -1 (a literal `,` or `|` is written `\,`,
 * `\|`, a literal backslash `\\`). Read as the store reads criteria, percent-decoded first: an
 * unescaped `,` is an OR of values, the first unescaped `|` parts a token's system from its value.
 */
function unescapedAt(value: string, ch: ',' | '|'): number {
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\') i++;
    else if (value[i] === ch) return i;
  }
  return -1;
}

/**
 * `identifier=…` (one identifier) is the only condition Kanta PHR accepts on a conditional create.
 * A bare value (as Kanta's own example batch writes it) is read as a business identifier,
 * `urn:ietf:rfc:3986|<value>`: searched under any system, it could match another person's resource
 * carrying that value under a local system and answer with it. `|value` (no system) and `system|`
 * (any value) are refused.
 */
export function checkIfNoneExist(criteria: string, rules: KantaTypeRules, at: string): string {
  if (!rules.conditionalCreate) {
    throw new FhirError(
      400,
      issue('error', 'not-supported', `kanta-conditional: no conditional create on ${rules.type}`, at),
    );
  }
  const parts = criteria.replace(/^\?/, '').split('&').filter(Boolean);
  const only = parts[0] as string;
  // One identifier: a conditional create matching any of several could answer with another person's resource.
  const value = new URLSearchParams(only).get('identifier');
  if (
    parts.length !== 1 ||
    !/^identifier=[^=]+$/.test(only) ||
    value === null ||
    unescapedAt(value, ',') >= 0
  ) {
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
  const bar = unescapedAt(value, '|');
  if (bar < 0) return `identifier=${GLOBAL_IDENTIFIER_SYSTEM}|${only.slice('identifier='.length)}`;
  if (bar === 0 || bar === value.length - 1) {
    throw new FhirError(
      400,
      issue(
        'error',
        'not-supported',
        `kanta-conditional: a conditional create's identifier names a system and a value (system|value; a bare value is read as ${GLOBAL_IDENTIFIER_SYSTEM}|value)`,
        at,
      ),
    );
  }
  return only;
}

/** A validated create, and what the store is to hold with it. */
export interface PreparedCreate {
  resource: Resource;
  /** The client's If-None-Exist criteria (`identifier=system|value`), if any. */
  ifNoneExist?: string;
  /** Where it sits, for a refusal: `Observation`, or `Bundle.entry[3].resource`. */
  at: string;
  /** The references it must find (references.ts; none in the open sandbox). */
  targets: ReferenceTarget[];
}

/**
 * What the store is asked for a prepared create: its criteria, its references, and its global business
 * identifiers, which no other resource of the type may hold (`tyk-id-4`: a plain create of a taken
 * one is a 409, as is a batch's second create of one).
 */
export function createOptions(p: PreparedCreate): CreateOptions {
  const unique = identifiersHeldAlone(p.resource, p.at);
  return {
    ...(p.ifNoneExist ? { ifNoneExist: p.ifNoneExist } : {}),
    ...(p.targets.length ? { targets: p.targets } : {}),
    ...(unique ? { unique } : {}),
  };
}

/**
 * Runs `write` after the check of the creates' references (references.ts), with each create's
 * refusal: a batch's entry with a missing target fails alone.
 */
export async function withReferenceCheck<T>(
  store: StoreWrites,
  creates: readonly PreparedCreate[],
  write: (s: StoreWrites, refused: Array<FhirError | undefined>) => Promise<T>,
): Promise<T> {
  return write(
    store,
    await refusedTargets(
      store,
      creates.map((p) => p.targets),
    ),
  );
}

/**
 * A create as the store is given it: no id, and no meta.versionId or meta.lastUpdated — the server's
 * to set (FHIR ignores them on create). A meta with nothing else in it is left out, not sent on empty
 * (ele-1); a meta sent empty, or that is no object, is left for the validator to refuse.
 */
function withoutServerMeta(resource: Resource): Resource {
  const { id: _ignored, ...clean } = resource as Resource & { id?: string };
  const sent: unknown = clean.meta;
  if (sent === null || typeof sent !== 'object' || Array.isArray(sent) || !Object.keys(sent).length)
    return clean;
  const { versionId: _v, lastUpdated: _l, ...meta } = sent as NonNullable<Resource['meta']>;
  if (Object.keys(meta).length) return { ...clean, meta };
  const { meta: _empty, ...rest } = clean;
  return rest as Resource;
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
  const clean = withoutServerMeta(resource);
  const where = at === undefined ? type : `${at}.resource`;
  ctx.rules.check(clean as Resource, where, ctx.base);
  // The criteria name the resource's own identifier, or a retry would create it again.
  if (condition) assertCriteriaMatchBody(condition, clean as Resource);
  return {
    resource: clean as Resource,
    ...(condition ? { ifNoneExist: condition } : {}),
    at: where,
    targets: writeTargets(ctx, clean as Resource, where),
  };
}

export async function createOne(ctx: KantaContext, body: unknown, type: string, ifNoneExist?: string) {
  const p = prepareCreate(ctx, body, type, ifNoneExist);
  return withReferenceCheck(ctx.store, [p], async (s, [refused]) => {
    if (refused) throw refused;
    return s.create(p.resource, createOptions(p));
  });
}

/** How often an update without If-Match reads again when another write came between its read and its write. */
const BLIND_UPDATE_TRIES = 5;

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
  // If-Match is required where the statement declares versioned updates (`versioning`), optional
  // (and checked when given) on the types it declares none for.
  if (!ifMatch && rules.versionedUpdate) {
    throw new FhirError(
      428,
      issue(
        'error',
        'required',
        `kanta-version: an update of ${type} needs If-Match with the current version (Kanta PHR declares versioned-update)`,
        'If-Match',
      ),
    );
  }
  const expected = ifMatch ? parseIfMatch(ifMatch, { header: true }) : undefined;
  const resource = assertResourceShape(body, type, id);
  // Without If-Match the last writer wins, but only over what it read: a 412 from the store means a
  // write or a delete came in between, and a read again answers the delete (410) or goes over the write.
  for (let tries = 1; ; tries++) {
    try {
      return await updateAsRead(ctx, resource, type, id, expected);
    } catch (err) {
      const raced = expected === undefined && err instanceof FhirError && err.status === 412;
      if (!raced) throw err;
      if (tries >= BLIND_UPDATE_TRIES) throw keptChanging(type, id, tries);
    }
  }
}

/**
 * One try of an update: the stored resource read (404/410: Kanta PHR does not create on update, a
 * deleted resource stays deleted), the checks against it, and the write as a compare-and-set on the
 * version read — so nothing written or deleted since the read is undone by this write.
 */
async function updateAsRead(
  ctx: KantaContext,
  resource: Resource,
  type: string,
  id: string,
  expected: number | undefined,
) {
  const current = await ctx.store.read(type, id);
  const version = Number(current.meta?.versionId);
  // The version first: a stale one must not learn, from which rule refuses its body, what is stored.
  checkExpectedVersion(type, id, expected, version);
  ctx.rules.check(resource, type, ctx.base);
  assertKeepsIdentity(current, resource, type, ctx.base);
  const targets = writeTargets(ctx, resource, type);
  return ctx.store.update(resource, { ifMatch: String(version), ...(targets.length ? { targets } : {}) });
}

/** 409 when other writes kept coming between an update's read and its write, try after try. */
function keptChanging(type: string, id: string, tries: number): FhirError {
  return new FhirError(
    409,
    issue(
      'error',
      'conflict',
      `kanta-version: ${type}/${id} was written by others between each of ${tries} reads and this update; nothing was written, send it again`,
      `${type}.meta.versionId`,
    ),
  );
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
  const plan = planSearch(rules, query, ctx.base);
  // A reference value under this server's base names the relative reference (`<base>/Patient/1` is
  // `Patient/1`), as in the facade's searches.
  const opts = { base: ctx.base };
  const page = plan.filters.length
    ? await filteredPage((params) => ctx.store.search(type, params, opts), plan)
    : await ctx.store.search(type, plan.store, opts);
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
