import type { Bundle, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { FhirError, issue } from '../../shared/outcome.ts';
import type { ServerTiming } from '../http/server-timing.ts';
import type { StoreWrites } from '../ports.ts';
import { isSupportedType } from '../resource-types.ts';
import type { WritePolicy } from '../write-policy.ts';
import { assertValidId } from '../write-policy.ts';
import { toSearchParams } from './search-params.ts';

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
      issue('error', 'not-supported', `Resource type "${type}" is not supported by this server`),
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
        `If-None-Exist must be "identifier=system|value", got "${criteria}"`,
        'If-None-Exist',
      ),
    );
  }
  return criteria;
}

export async function createResource(
  store: StoreWrites,
  ctx: InteractionContext,
  resource: Resource,
  ifNoneExist?: string,
  validated = false,
  keepId = false,
): Promise<{ resource: Resource; created: boolean }> {
  if (!validated) timed(ctx, 'validate', () => ctx.policy.enforce(resource));
  const opts = { ...(ifNoneExist ? { ifNoneExist: checkIfNoneExist(ifNoneExist) } : {}), keepId };
  return timed(ctx, 'db', () => store.create(resource, opts));
}

export async function updateResource(
  store: StoreWrites,
  ctx: InteractionContext,
  resource: Resource,
  ifMatch: string | undefined,
  validated = false,
): Promise<{ resource: Resource; created: boolean }> {
  if (!ifMatch) {
    throw FhirError.preconditionRequired(
      `Update of ${resource.resourceType}/${resource.id} requires If-Match with the current version (W/"<versionId>")`,
    );
  }
  if (!/^(W\/)?"?[A-Za-z0-9\-.]{1,64}"?$/.test(ifMatch)) {
    throw new FhirError(
      400,
      issue('error', 'invalid', `Malformed If-Match "${ifMatch}" (expected W/"<versionId>")`, 'If-Match'),
    );
  }
  if (!validated) timed(ctx, 'validate', () => ctx.policy.enforce(resource));
  return timed(ctx, 'db', () => store.update(resource, { ifMatch }));
}

export async function searchType(
  store: StoreWrites,
  ctx: InteractionContext,
  type: string,
  query: Record<string, unknown>,
  lenient: boolean,
): Promise<Bundle> {
  return JSON.parse(await searchTypeJson(store, ctx, type, query, lenient)) as Bundle;
}

/**
 * A searchset Bundle as JSON text. The matches are spliced in as the store holds them: a page of
 * resources is never parsed and serialised again just to be wrapped.
 */
export async function searchTypeJson(
  store: StoreWrites,
  ctx: InteractionContext,
  type: string,
  query: Record<string, unknown>,
  lenient: boolean,
): Promise<string> {
  assertType(type);
  const params = toSearchParams(query);
  const result = await store.searchJson(type, params, { lenient });
  const link = (change: Record<string, string | undefined>) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...params, ...change })) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) q.append(k, one);
    }
    return `${ctx.base}/${type}?${q.toString()}`;
  };
  const links: Bundle['link'] = [{ relation: 'self', url: link({}) }];
  if (result.nextCursor) {
    links.push({
      relation: 'next',
      url: link({ _cursor: result.nextCursor, _offset: undefined, _count: String(result.count) }),
    });
  }
  const head: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(result.total !== undefined ? { total: result.total } : {}),
    link: links,
  };
  const entries = result.json.map(
    (json, i) =>
      `{"fullUrl":${JSON.stringify(`${ctx.base}/${type}/${result.ids[i]}`)},"resource":${json},"search":{"mode":"match"}}`,
  );
  if (result.ignored?.length) {
    const ignored = result.ignored.map((name) =>
      issue(
        'warning',
        'not-supported',
        `Unknown search parameter "${name}" for ${type} ignored (Prefer: handling=lenient)`,
        name,
      ),
    );
    entries.push(
      JSON.stringify({
        resource: { resourceType: 'OperationOutcome', issue: ignored },
        search: { mode: 'outcome' },
      }),
    );
  }
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

export async function readResource(store: StoreWrites, type: string, id: string): Promise<Resource> {
  assertType(type);
  assertValidId(id, type);
  return store.read(type, id);
}

/** Prefixes validator expressions (`Observation.x`) with the Bundle entry they came from. */
export function inEntry(
  issues: OperationOutcomeIssue[],
  index: number,
  type?: string,
): OperationOutcomeIssue[] {
  const prefix = `Bundle.entry[${index}]`;
  const rewrite = (e: string) =>
    type && (e === type || e.startsWith(`${type}.`))
      ? `${prefix}.resource${e.slice(type.length)}`
      : `${prefix}.${e}`;
  return issues.map((i) => ({
    ...i,
    diagnostics: `entry[${index}]: ${i.diagnostics ?? ''}`,
    ...(i.expression ? { expression: i.expression.map(rewrite) } : { expression: [prefix] }),
    ...(i.location ? { location: i.location.map(rewrite) } : { location: [prefix] }),
  }));
}
