// Kanta PHR takes `batch` Bundles (HL7 Finland's Kanta examples are batches of conditional creates);
// there is no transaction. Entries succeed or fail on their own; creates go to the store together.
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { weakEtag } from '../../shared/etag.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import { parseQueryString } from '../fhir/search-params.ts';
import {
  type KantaContext,
  assertUniqueIdentifier,
  deleteOne,
  prepareCreate,
  readOne,
  searchType,
  updateOne,
} from './interactions.ts';

type Response = NonNullable<BundleEntry['response']>;

function errorEntry(err: unknown): BundleEntry {
  const e =
    err instanceof FhirError
      ? err
      : new FhirError(500, issue('fatal', 'exception', 'Internal error while processing the entry'));
  return { response: { status: String(e.status), outcome: e.outcome } };
}

function written(ctx: KantaContext, r: Resource, status: string): BundleEntry {
  const response: Response = {
    status,
    location: `${r.resourceType}/${r.id}/_history/${r.meta?.versionId}`,
    etag: weakEtag(r.meta?.versionId ?? ''),
    lastModified: r.meta?.lastUpdated,
  };
  return { fullUrl: `${ctx.base}/${r.resourceType}/${r.id}`, resource: r, response };
}

function noConditional(what: 'update' | 'delete', at: string): FhirError {
  const message = `kanta-conditional: no conditional ${what} in Kanta PHR`;
  return new FhirError(400, issue('error', 'not-supported', message, `${at}.url`));
}

/** `Type`, `Type/id`, `Type/id/_history/v` or `Type?query` from an entry's request.url. */
function parseUrl(url: string): {
  type: string;
  id?: string;
  version?: string;
  query?: Record<string, string[]>;
} {
  const [path, qs] = url.split('?');
  const [type, id, hist, version] = path.replace(/^\/+|\/+$/g, '').split('/');
  if (hist !== undefined && hist !== '_history')
    throw FhirError.badRequest(`Unsupported request.url '${url}'`);
  return { type, id, version, query: qs === undefined ? undefined : parseQueryString(qs) };
}

async function otherEntry(ctx: KantaContext, entry: BundleEntry, i: number): Promise<BundleEntry> {
  const req = entry.request;
  const { type, id, version, query } = parseUrl(req?.url ?? '');
  const at = `Bundle.entry[${i}].request`;
  switch (req?.method) {
    case 'GET':
      if (id) return { resource: await readOne(ctx, type, id, version), response: { status: '200' } };
      return { resource: await searchType(ctx, type, query ?? {}), response: { status: '200' } };
    case 'PUT': {
      if (!id || query) {
        throw noConditional('update', at);
      }
      const r = await updateOne(ctx, entry.resource, type, id, req.ifMatch);
      return written(ctx, r.resource, '200');
    }
    case 'DELETE':
      if (!id || query) {
        throw noConditional('delete', at);
      }
      await deleteOne(ctx, type, id);
      return { response: { status: '204' } };
    default:
      throw new FhirError(
        400,
        issue('error', 'not-supported', `Unsupported method '${req?.method}'`, `${at}.method`),
      );
  }
}

export async function processKantaBatch(ctx: KantaContext, bundle: Bundle): Promise<Bundle> {
  if (bundle.type !== 'batch') {
    throw new FhirError(
      400,
      issue(
        'error',
        'not-supported',
        `kanta-batch: Kanta PHR accepts only batch Bundles, not '${bundle.type}'`,
        'Bundle.type',
      ),
    );
  }
  const entries = bundle.entry ?? [];
  const out: BundleEntry[] = new Array(entries.length);
  const creates: { i: number; resource: Resource; ifNoneExist?: string }[] = [];
  for (const [i, entry] of entries.entries()) {
    if (entry.request?.method !== 'POST') continue;
    try {
      const type = parseUrl(entry.request.url ?? '').type;
      const p = prepareCreate(ctx, entry.resource, type, entry.request.ifNoneExist, `Bundle.entry[${i}]`);
      if (!p.ifNoneExist) await assertUniqueIdentifier(ctx.store, p.resource, `Bundle.entry[${i}].resource`);
      creates.push({ i, ...p });
    } catch (err) {
      out[i] = errorEntry(err);
    }
  }
  const results = await ctx.store.createMany(
    creates.map((c) => ({
      resource: c.resource,
      opts: c.ifNoneExist ? { ifNoneExist: c.ifNoneExist } : undefined,
    })),
  );
  results.forEach((r, k) => {
    out[creates[k].i] =
      r instanceof FhirError ? errorEntry(r) : written(ctx, r.resource, r.created ? '201' : '200');
  });
  for (const [i, entry] of entries.entries()) {
    if (entry.request?.method === 'POST') continue;
    try {
      out[i] = await otherEntry(ctx, entry, i);
    } catch (err) {
      out[i] = errorEntry(err);
    }
  }
  return { resourceType: 'Bundle', type: 'batch-response', entry: out };
}
