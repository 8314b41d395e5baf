// How a Kanta PHR batch entry's request is read: exactly as written, or a 400 naming what cannot be.
// The security front reads each entry's method and url through the facade's route table
// (security/access.ts entryNeed) to check the caller's scopes; an entry the batch read otherwise —
// `POST Patient/_search` run as a create, `DELETE Observation/1/_history/2` as a delete of the whole
// resource — would do what that check did not allow. No message quotes the url or the method: they
// are the sender's text, and may carry a HETU or a name.
import type { BundleEntry } from '@medplum/fhirtypes';
import { FhirError, issue } from '../../shared/outcome.ts';
import { parseQueryString } from '../fhir/search-params.ts';

export type EntryMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** An entry's request as the batch runs it. */
export interface EntryRequest {
  method: EntryMethod;
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

/**
 * `Type`, `Type/id`, `Type/id/_history/version` or `Type?query`, each id a FHIR id, the path with at
 * most one `/` before and after it (the security front's route matching trims them; Kanta's own
 * example batch writes `Observation/`); nothing else: no further or empty segment, no `_history`
 * without its version, no query on an instance.
 */
const URL_FORM =
  /^\/?([A-Za-z]+)(?:\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?\/?|\/?\?(.*)|\/)?$/;

/** What a POST entry's url may be: the type alone (a create), with at most one `/` around it. */
const CREATE_FORM = /^\/?([A-Za-z]+)\/?\??$/;

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

/** The url of a GET, PUT or DELETE: what it names, or a 400 when it cannot be read as written. */
function target(method: EntryMethod, url: string, at: string): EntryRequest {
  const m = URL_FORM.exec(url);
  if (!m)
    throw refused(
      'request.url must be Type, Type/id, Type/id/_history/version or Type?query, as written',
      `${at}.request.url`,
    );
  const [, type, id, version, query] = m as unknown as [string, string, string?, string?, string?];
  const read: EntryRequest = { method, type };
  if (id !== undefined) read.id = id;
  if (version !== undefined) read.version = version;
  if (query !== undefined) read.query = parseQueryString(query);
  if (method === 'GET') return read;
  // An update or a delete names one current resource.
  if (version !== undefined)
    throw refused(`request.url of a ${method} entry cannot name a version (_history)`, `${at}.request.url`);
  if (id === undefined || query !== undefined)
    throw noConditional(method === 'PUT' ? 'update' : 'delete', at);
  return read;
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
  let read: EntryRequest;
  if (method === 'POST') {
    const type = CREATE_FORM.exec(url)?.[1];
    if (!type)
      throw refused(
        'a POST entry is a create: request.url must be the resource type alone',
        `${at}.request.url`,
      );
    read = { method, type };
  } else read = target(method as EntryMethod, url, at);
  const ifNoneExist = optionalText(request, 'ifNoneExist', at);
  const ifMatch = optionalText(request, 'ifMatch', at);
  if (ifNoneExist !== undefined) read.ifNoneExist = ifNoneExist;
  if (ifMatch !== undefined) read.ifMatch = ifMatch;
  return { entry, request: read };
}
