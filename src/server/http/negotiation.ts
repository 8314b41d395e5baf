import { STATUS_CODES } from 'node:http';
import type { Resource } from '@medplum/fhirtypes';
import type { Request, Response } from 'express';
import { etagListNames, weakEtag } from '../../shared/etag.ts';
import { parseAsWritten, stringifyAsWritten } from '../../shared/json-text.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import type { ServerTiming } from '../../shared/server-timing.ts';

export const FHIR_JSON = 'application/fhir+json';
/** What `_format` and `Accept` may name to get FHIR JSON (`application/json+fhir` is the R3-era name). */
const FHIR_JSON_NAMES = new Set(['json', 'application/fhir+json', 'application/json+fhir']);
const XML_FORMATS = new Set([
  'xml',
  'text/xml',
  'application/xml',
  'application/fhir+xml',
  'application/xml+fhir',
]);
const ANY = new Set(['*/*', 'application/*']);
/**
 * Generic JSON types: FHIR JSON, answered in the type asked for (R4 http.html: a generic mime type in
 * Accept SHOULD be answered in that type) and taken as a body like application/fhir+json.
 */
const GENERIC_JSON = new Set(['application/json', 'text/json']);

function notAcceptable(diagnostics: string, expression?: string): FhirError {
  return new FhirError(406, issue('error', 'not-supported', diagnostics, expression));
}

/** `type/subtype; a=b` → the lower-case media type and its parameters. */
export function parseMediaType(value: string): { type: string; params: Map<string, string> } {
  const [type, ...rest] = value.split(';');
  const params = new Map<string, string>();
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq > 0)
      params.set(
        p.slice(0, eq).trim().toLowerCase(),
        p
          .slice(eq + 1)
          .trim()
          .replace(/^"|"$/g, ''),
      );
  }
  return { type: type.trim().toLowerCase(), params };
}

/** A `fhirVersion` parameter names R4 (4.0 or 4.0.x) or is absent. */
function isR4(params: Map<string, string>): boolean {
  const v = params.get('fhirversion');
  return v === undefined || v === '4.0' || v.startsWith('4.0.');
}

/**
 * The response media type from `_format` or `Accept`, or a 406 when the client wants only something
 * we do not produce (XML, another FHIR version). Only an explicit generic JSON type (`application/json`,
 * `text/json`) gets that type back.
 */
export function responseType(format: string | undefined, accept: string | undefined): string {
  if (format !== undefined) {
    const { type, params } = parseMediaType(format.replace(/ /g, '+'));
    if (XML_FORMATS.has(type)) {
      throw notAcceptable('_format=xml is not supported; this server speaks JSON only', '_format');
    }
    if (GENERIC_JSON.has(type)) return type;
    if (!FHIR_JSON_NAMES.has(type) || !isR4(params)) {
      throw notAcceptable('this _format is not supported; use json', '_format');
    }
    return FHIR_JSON;
  }
  if (!accept) return FHIR_JSON;
  let best: { type: string; q: number } | undefined;
  for (const range of accept.split(',')) {
    const { type, params } = parseMediaType(range);
    const q = params.has('q') ? Number(params.get('q')) : 1;
    if (!(q > 0) || !isR4(params)) continue;
    const produced =
      FHIR_JSON_NAMES.has(type) || ANY.has(type) ? FHIR_JSON : GENERIC_JSON.has(type) ? type : undefined;
    if (produced && (!best || q > best.q)) best = { type: produced, q };
  }
  if (!best) {
    throw notAcceptable(
      'Cannot produce any type the Accept header asks for; this server returns FHIR R4 (fhirVersion=4.0) as application/fhir+json or application/json',
    );
  }
  return best.type;
}

/** The body's media type must be JSON (FHIR or plain); 415 otherwise. Returns the parsed type. */
export function assertJsonType(contentType: string | undefined): ReturnType<typeof parseMediaType> {
  if (!contentType) {
    throw new FhirError(
      415,
      issue('error', 'not-supported', 'Content-Type is missing; send application/fhir+json'),
    );
  }
  const parsed = parseMediaType(contentType);
  if (!(FHIR_JSON_NAMES.has(parsed.type) || GENERIC_JSON.has(parsed.type)) || !isR4(parsed.params)) {
    throw new FhirError(
      415,
      issue(
        'error',
        'not-supported',
        'this Content-Type is not supported; send application/fhir+json or application/json',
      ),
    );
  }
  return parsed;
}

/**
 * Request body bytes as text in the declared charset (UTF-8 when none is declared). A charset we
 * cannot decode is a 415, bytes that are not valid in it a 400: never stored garbled.
 */
export function decodeText(body: Buffer, charset = 'utf-8'): string {
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(charset.toLowerCase(), { fatal: true });
  } catch {
    throw new FhirError(
      415,
      issue('error', 'not-supported', 'this charset is not supported; send UTF-8', 'Content-Type'),
    );
  }
  try {
    return decoder.decode(body);
  } catch {
    throw new FhirError(
      400,
      issue('error', 'invalid', `Request body is not valid ${charset} text`, 'Content-Type'),
    );
  }
}

export interface Prefer {
  return?: 'minimal' | 'representation' | 'OperationOutcome';
  lenient: boolean;
}

/** RFC 7240 Preference-Applied: the preferences of `prefer` this answer honours (none: no header). */
export function preferenceApplied(
  prefer: Prefer,
  honoured: Array<'return' | 'handling'>,
): Record<string, string> {
  const applied = [
    ...(honoured.includes('return') && prefer.return ? [`return=${prefer.return}`] : []),
    ...(honoured.includes('handling') && prefer.lenient ? ['handling=lenient'] : []),
  ];
  return applied.length ? { 'Preference-Applied': applied.join(', ') } : {};
}

const RETURNS: ReadonlySet<string> = new Set(['minimal', 'representation', 'OperationOutcome']);

/** The preferences of a `Prefer` header (repeated headers joined) that this server acts on. */
export function parsePrefer(raw: string | string[] | undefined): Prefer {
  const prefs = preferences(Array.isArray(raw) ? raw.join(',') : (raw ?? ''));
  const ret = prefs.get('return');
  return {
    return: ret !== undefined && RETURNS.has(ret) ? (ret as Prefer['return']) : undefined,
    lenient: prefs.get('handling') === 'lenient',
  };
}

/**
 * A `Prefer` header's preferences by name, as RFC 7240 §2 writes them: `preference *( ";" parameter )`
 * separated by commas, each `token [ "=" word ]` with optional whitespace around `=`, a word a token or
 * a quoted-string (unquoted here). Names are lower-cased (they are case-insensitive); the first
 * occurrence of a name wins; a preference's parameters are not read (none here takes any).
 */
export function preferences(header: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const preference of splitOutsideQuotes(header, ',')) {
    const [first = ''] = splitOutsideQuotes(preference, ';');
    const eq = first.indexOf('=');
    const name = (eq < 0 ? first : first.slice(0, eq)).trim().toLowerCase();
    if (!name || out.has(name)) continue;
    out.set(name, eq < 0 ? '' : unquote(first.slice(eq + 1).trim()));
  }
  return out;
}

/** `text` split at each `sep` that is not inside a quoted-string. */
function splitOutsideQuotes(text: string, sep: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === sep) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** A quoted-string's content (its `\` escapes undone); any other word as it is. */
function unquote(word: string): string {
  if (word.length < 2 || !word.startsWith('"') || !word.endsWith('"')) return word;
  return word.slice(1, -1).replace(/\\(.)/g, '$1');
}

function serverTiming(res: Response): void {
  const header = (res.locals.timing as ServerTiming | undefined)?.header();
  if (header) res.setHeader('Server-Timing', header);
}

export function send(res: Response, status: number, body: unknown): void {
  serverTiming(res);
  if (body === undefined) {
    res.status(status).end();
    return;
  }
  sendJsonText(res, status, stringifyAsWritten(body));
}

/** Sends JSON that is already text (stored resources, Bundles built around them). */
export function sendJsonText(res: Response, status: number, json: string): void {
  const type = (res.locals.contentType as string | undefined) ?? FHIR_JSON;
  res.status(status);
  res.setHeader('Content-Type', `${type}; charset=utf-8`);
  // _pretty=true (R4 http.html) costs a parse and a stringify; only a person reading asks for it.
  // (Express 5 parses req.query on every access: the URL is looked at first.)
  const pretty = res.req?.url.includes('_pretty=') && res.req.query._pretty === 'true';
  res.end(pretty ? indented(json) : json);
}

/** `json` indented by two spaces, its numbers as written (`1.50` stays `1.50`). */
function indented(json: string): string {
  return stringifyAsWritten(parseAsWritten(json), 2);
}

/**
 * The public base of the FHIR API: the origin a trusted proxy reported (set by the security front,
 * security/forwarded.ts, in `res.locals.forwardedOrigin`), else the configured one, else the address
 * the connection came in on; plus the path the app is mounted at (recorded by createApp in
 * `res.locals.appBase`) and `/fhir`. Never the `Host` header: anyone can send one, and a Location or
 * paging link built from it would send the next request wherever the sender chose.
 */
export function baseUrl(req: Request, configured?: string): string {
  const mount = (req.res?.locals.appBase as string | undefined) ?? '';
  const forwarded = req.res?.locals.forwardedOrigin as string | undefined;
  if (forwarded) return `${forwarded}${mount}/fhir`;
  return configured ?? `${socketOrigin(req)}${mount}/fhir`;
}

/** `http://<local address>:<port>` of the connection (https over TLS), an IPv6 address bracketed. */
function socketOrigin(req: Request): string {
  const socket = req.socket as Request['socket'] & { encrypted?: boolean };
  const address = (socket.localAddress ?? '127.0.0.1').replace(/^::ffff:(?=\d+\.)/, '');
  const host = address.includes(':') ? `[${address}]` : address;
  return `${socket.encrypted ? 'https' : 'http'}://${host}:${socket.localPort}`;
}

export function versionHeaders(
  meta: { versionId?: string; lastUpdated?: string } = {},
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (meta.versionId) headers.ETag = weakEtag(meta.versionId);
  if (meta.lastUpdated) headers['Last-Modified'] = new Date(meta.lastUpdated).toUTCString();
  return headers;
}

type HeaderValue = string | string[] | undefined;
/** A request header as one text (a repeated header's values joined, as RFC 9110 §5.3 allows). */
export const headerText = (v: HeaderValue) => (Array.isArray(v) ? v.join(', ') : v);

/**
 * A conditional read (R4 http.html §3.1.0.5.1, RFC 9110 §13): whether the client's copy of this
 * version is current, so the answer is 304 without a body. `If-None-Match` naming the version (or
 * `*`) says so; only without it, `If-Modified-Since` at or after the last update. An HTTP-date has whole
 * seconds, as Last-Modified has: it is compared to the second, a weak validator (RFC 9110 §8.8.2.2: two
 * versions within one second look alike; If-None-Match, the ETag, tells them apart). A batch GET entry's
 * `ifModifiedSince` is an instant, compared to the millisecond. A date that does not parse is ignored,
 * as RFC 9110 asks.
 */
export function notModified(
  headers: { 'if-none-match'?: HeaderValue; 'if-modified-since'?: HeaderValue },
  meta: { versionId?: string; lastUpdated?: string },
): boolean {
  const noneMatch = headerText(headers['if-none-match']);
  if (noneMatch !== undefined)
    return meta.versionId !== undefined && etagListNames(noneMatch, meta.versionId);
  const modifiedSince = headerText(headers['if-modified-since']);
  if (modifiedSince === undefined || !meta.lastUpdated) return false;
  const since = Date.parse(modifiedSince);
  if (Number.isNaN(since)) return false;
  const updated = Date.parse(meta.lastUpdated);
  const instant = /^\d{4}-\d{2}-\d{2}T/.test(modifiedSince);
  return (instant ? updated : Math.floor(updated / 1000) * 1000) <= since;
}

/**
 * RFC 9110 §13.1.1 on a read: an `If-Match` that names none of the current version's tags (nor `*`)
 * fails the request, 412 naming the header; evaluated before `If-None-Match` (`notModified`).
 */
export function assertIfMatchOnRead(
  headers: { 'if-match'?: HeaderValue },
  versionId: string | undefined,
): void {
  const ifMatch = headerText(headers['if-match']);
  if (ifMatch === undefined || (versionId !== undefined && etagListNames(ifMatch, versionId))) return;
  throw new FhirError(
    412,
    issue('error', 'conflict', 'If-Match names no tag of the current version of this resource', 'If-Match'),
  );
}

/**
 * `If-None-Match` on an update, a patch or a delete: the headers that make a write conditional here
 * are `If-Match` (versioned update) and `If-None-Exist` (create only when none matches). Evaluating it
 * (RFC 9110 §13.1.2) would at best repeat those; ignoring it would write what the client asked not to,
 * so it is refused, 400 naming the header.
 */
export function refuseIfNoneMatchOnWrite(headers: { 'if-none-match'?: HeaderValue }): void {
  if (headerText(headers['if-none-match']) === undefined) return;
  throw new FhirError(
    400,
    issue(
      'error',
      'not-supported',
      'If-None-Match is not evaluated on an update, patch or delete here: use If-Match (versioned update) or POST with If-None-Exist (create only if none exists)',
      'If-None-Match',
    ),
  );
}

export function versionedLocation(base: string, resource: Resource): string {
  return `${base}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`;
}

/** A Bundle entry's `response.status`: the code and its reason phrase (`201 Created`, `412 Precondition Failed`). */
export function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? ''}`.trim();
}
