// How a Kanta PHR batch entry's request is read: through the facade's route table (fhir/entry-route.ts),
// the very reading the security front checks the caller's scopes against, and run only as one of the
// interactions a Kanta batch takes; anything else is a 400 naming what cannot be. An entry the batch
// read otherwise — `POST Patient/_search` run as a create — would do what that check did not allow.
// No message quotes the url or the method: they are the sender's text, and may carry a HETU or a name.
import type { BundleEntry } from '@medplum/fhirtypes';
import { FhirError, issue } from '../../shared/outcome.ts';
import { isFhirId } from '../../shared/references.ts';
import { type EntryRoute, entryRoute } from '../fhir/entry-route.ts';
import { routeInteraction } from '../fhir/route-types.ts';
import { parseQueryString } from '../fhir/search-params.ts';

export type EntryMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** An entry's request as the batch runs it. */
export interface EntryRequest {
  method: EntryMethod;
  /** The interaction its route runs (the audit log's name for it). */
  interaction: string;
  type: string;
  id?: string;
  /** `_history/<version>` (GET only). */
  version?: string;
  /** `Type?query`; present (maybe empty) when the url has a `?`. */
  query?: Record<string, string[]>;
  ifNoneExist?: string;
  ifMatch?: string;
}

const METHODS: ReadonlySet<string> = new Set(['GET', 'POST', 'PUT', 'DELETE']);

/** The FHIR routes (by name) a batch entry may name: each runs as the interaction of the same name. */
const BATCH_ROUTES: ReadonlySet<string> = new Set([
  'create',
  'read',
  'vread',
  'search-type',
  'update',
  'delete',
]);

/** A resource type as a path segment names one (checked before any message could quote it). */
const TYPE_NAME = /^[A-Za-z]+$/;

const refused = (diagnostics: string, at: string, code: 'structure' | 'invalid' | 'required' = 'invalid') =>
  new FhirError(400, issue('error', code, `kanta-batch: ${diagnostics}`, at));

/** An entry that is an object with a string request.url, or a 400 naming what is wrong. */
function wellFormed(entry: unknown, at: string): BundleEntry {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry))
    throw refused('an entry must be an object', at, 'structure');
  const url = (entry as BundleEntry).request?.url;
  if (typeof url !== 'string') throw refused('request.url must be a string', `${at}.request.url`, 'required');
  return entry as BundleEntry;
}

/** `request[field]` when absent or a string; a 400 naming it otherwise (it would be read as text). */
function optionalText(request: Record<string, unknown>, field: 'ifNoneExist' | 'ifMatch', at: string) {
  const value = request[field];
  if (value === undefined || typeof value === 'string') return value;
  throw refused(`request.${field} must be a string`, `${at}.request.${field}`);
}

function noConditional(what: 'update' | 'delete', at: string): FhirError {
  const message = `kanta-conditional: no conditional ${what} in Kanta PHR`;
  return new FhirError(400, issue('error', 'not-supported', message, `${at}.request.url`));
}

/** Why `method` and `url` are not an entry the batch runs, read off the route table. */
function unreadable(method: EntryMethod, url: string, at: string): FhirError {
  if (method === 'POST')
    return refused(
      'a POST entry is a create: request.url must be the resource type alone',
      `${at}.request.url`,
    );
  if (method !== 'GET') {
    // What a GET of the same url would be: a search (a conditional write) or a version.
    const asGet = entryRoute('GET', url)?.route.name;
    if (asGet === 'search-type') return noConditional(method === 'PUT' ? 'update' : 'delete', at);
    if (asGet === 'vread')
      return refused(
        `request.url of a ${method} entry cannot name a version (_history)`,
        `${at}.request.url`,
      );
  }
  return refused(
    'request.url must be Type, Type/id, Type/id/_history/version or Type?query, as written',
    `${at}.request.url`,
  );
}

/**
 * The entry's route when it is one the batch runs, its type and ids well-formed and, but on a
 * search, no query (a create or an instance names no search); undefined otherwise.
 */
function batchRoute(method: EntryMethod, url: string): EntryRoute | undefined {
  const match = entryRoute(method, url);
  if (!match || !BATCH_ROUTES.has(match.route.name)) return undefined;
  const { type, id, vid } = match.params;
  if (!type || !TYPE_NAME.test(type)) return undefined;
  if ((id !== undefined && !isFhirId(id)) || (vid !== undefined && !isFhirId(vid))) return undefined;
  if (match.route.name !== 'search-type' && match.query) return undefined;
  return match;
}

/** The request of batch entry `i` as the batch runs it, or a 400 naming what cannot be read as written. */
export function readEntryRequest(raw: unknown, i: number): { entry: BundleEntry; request: EntryRequest } {
  const at = `Bundle.entry[${i}]`;
  const entry = wellFormed(raw, at);
  const request = entry.request as unknown as Record<string, unknown>;
  const method = request.method;
  if (typeof method !== 'string' || !METHODS.has(method))
    throw refused('request.method must be GET, POST, PUT or DELETE', `${at}.request.method`);
  const url = request.url as string;
  const match = batchRoute(method as EntryMethod, url);
  if (!match) throw unreadable(method as EntryMethod, url, at);
  const { type, id, vid } = match.params as { type: string; id?: string; vid?: string };
  const read: EntryRequest = {
    method: method as EntryMethod,
    interaction: routeInteraction(match.route),
    type,
  };
  if (id !== undefined) read.id = id;
  if (vid !== undefined) read.version = vid;
  if (match.query !== undefined && match.route.name === 'search-type')
    read.query = parseQueryString(match.query);
  const ifNoneExist = optionalText(request, 'ifNoneExist', at);
  const ifMatch = optionalText(request, 'ifMatch', at);
  if (ifNoneExist !== undefined) read.ifNoneExist = ifNoneExist;
  if (ifMatch !== undefined) read.ifMatch = ifMatch;
  return { entry, request: read };
}
