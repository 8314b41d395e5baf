// Kanta PHR takes `batch` Bundles (HL7 Finland's Kanta examples are batches of conditional creates);
// there is no transaction. Entries succeed or fail on their own; creates go to the store together.
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { weakEtag } from '../../shared/etag.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import { inEntry } from '../fhir/interactions.ts';
import { parseQueryString } from '../fhir/search-params.ts';
import { maskedOutcome } from '../http/outcome-cap.ts';
import {
  type KantaContext,
  type PreparedCreate,
  createdOrDuplicate,
  deleteOne,
  prepareCreate,
  readOne,
  searchType,
  updateOne,
} from './interactions.ts';

type Response = NonNullable<BundleEntry['response']>;

/** A failed entry's answer, each issue naming the entry (`Bundle.entry[i]…`) unless it already does. */
function errorEntry(err: unknown, i: number, type?: string): BundleEntry {
  const e =
    err instanceof FhirError
      ? err
      : new FhirError(500, issue('fatal', 'exception', 'Internal error while processing the entry'));
  const named = (e.outcome.issue ?? []).flatMap((x) =>
    x.expression?.every((path) => path.startsWith('Bundle.entry[')) ? [x] : inEntry([x], i, type),
  );
  return { response: { status: String(e.status), outcome: maskedOutcome({ ...e.outcome, issue: named }) } };
}

/** An entry that is an object with a string request.url, or a 400 naming what is wrong. */
function wellFormed(entry: unknown, i: number): BundleEntry {
  const at = `Bundle.entry[${i}]`;
  if (!entry || typeof entry !== 'object' || Array.isArray(entry))
    throw new FhirError(400, issue('error', 'structure', 'kanta-batch: an entry must be an object', at));
  const url = (entry as BundleEntry).request?.url;
  if (typeof url !== 'string')
    throw new FhirError(
      400,
      issue('error', 'required', 'kanta-batch: request.url must be a string', `${at}.request.url`),
    );
  return entry as BundleEntry;
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
    throw FhirError.badRequest('request.url must be Type, Type/id, Type/id/_history/version or Type?query');
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
      await deleteOne(ctx, type, id, req.ifMatch);
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
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry))
    throw new FhirError(
      400,
      issue('error', 'structure', 'kanta-batch: Bundle.entry must be an array', 'Bundle.entry'),
    );
  const entries: unknown[] = bundle.entry ?? [];
  const out: BundleEntry[] = new Array(entries.length);
  const creates: { i: number; prepared: PreparedCreate }[] = [];
  const others: { i: number; entry: BundleEntry }[] = [];
  for (const [i, raw] of entries.entries()) {
    try {
      const entry = wellFormed(raw, i);
      if (entry.request?.method !== 'POST') {
        others.push({ i, entry });
        continue;
      }
      const type = parseUrl(entry.request.url as string).type;
      const at = `Bundle.entry[${i}]`;
      creates.push({ i, prepared: prepareCreate(ctx, entry.resource, type, entry.request.ifNoneExist, at) });
    } catch (err) {
      out[i] = errorEntry(err, i);
    }
  }
  const results = await ctx.store.createMany(
    creates.map(({ prepared: p }) => ({
      resource: p.resource,
      opts: p.ifNoneExist ? { ifNoneExist: p.ifNoneExist } : undefined,
    })),
  );
  results.forEach((r, k) => {
    const { i, prepared } = creates[k] as (typeof creates)[number];
    try {
      if (r instanceof FhirError) throw r;
      const done = createdOrDuplicate(prepared, r, `Bundle.entry[${i}].resource`);
      out[i] = written(ctx, done.resource, done.created ? '201' : '200');
    } catch (err) {
      out[i] = errorEntry(err, i, prepared.resource.resourceType);
    }
  });
  for (const { i, entry } of others) {
    try {
      out[i] = await otherEntry(ctx, entry, i);
    } catch (err) {
      out[i] = errorEntry(err, i, parseUrlType(entry));
    }
  }
  return { resourceType: 'Bundle', type: 'batch-response', entry: out };
}

/** The resource type an entry's request.url names (for naming its issues), if it can be read. */
function parseUrlType(entry: BundleEntry): string | undefined {
  try {
    return parseUrl(entry.request?.url ?? '').type;
  } catch {
    return undefined;
  }
}
