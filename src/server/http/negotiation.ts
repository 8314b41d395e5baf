import type { Resource } from '@medplum/fhirtypes';
import type { Request, Response } from 'express';
import { FhirError, issue } from '../../shared/outcome.ts';
import type { ServerTiming } from './server-timing.ts';

export const FHIR_JSON = 'application/fhir+json';
const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json']);
const XML_FORMATS = new Set(['xml', 'text/xml', 'application/xml', 'application/fhir+xml']);

/** The response media type, or a 406 when the client wants only something we do not produce. */
export function responseType(req: Request): string {
  const format = typeof req.query._format === 'string' ? req.query._format.replace(/ /g, '+') : undefined;
  if (format !== undefined) {
    if (XML_FORMATS.has(format)) {
      throw new FhirError(
        406,
        issue(
          'error',
          'not-supported',
          '_format=xml is not supported; this server speaks JSON only',
          '_format',
        ),
      );
    }
    if (!JSON_FORMATS.has(format)) {
      throw new FhirError(
        406,
        issue('error', 'not-supported', `_format "${format}" is not supported; use json`, '_format'),
      );
    }
    return format === 'application/json' ? 'application/json' : FHIR_JSON;
  }
  const accept = req.headers.accept;
  if (!accept) return FHIR_JSON;
  const chosen = req.accepts([FHIR_JSON, 'application/json']);
  if (!chosen) {
    throw new FhirError(
      406,
      issue(
        'error',
        'not-supported',
        `Cannot produce any of "${accept}"; this server returns application/fhir+json or application/json`,
      ),
    );
  }
  // `*/*` matches the first candidate; only an explicit application/json gets application/json back.
  return chosen === 'application/json' && !/fhir\+json|\*\/\*/.test(accept) ? 'application/json' : FHIR_JSON;
}

/** Rejects request bodies that are not FHIR JSON (415). */
export function assertJsonBody(req: Request, extra: string[] = []): void {
  const type = req.headers['content-type'];
  if (!type) {
    throw new FhirError(
      415,
      issue('error', 'not-supported', 'Content-Type is missing; send application/fhir+json'),
    );
  }
  if (!req.is([FHIR_JSON, 'application/json', ...extra])) {
    throw new FhirError(
      415,
      issue(
        'error',
        'not-supported',
        `Content-Type "${type}" is not supported; send application/fhir+json or application/json`,
      ),
    );
  }
}

export interface Prefer {
  return?: 'minimal' | 'representation' | 'OperationOutcome';
  lenient: boolean;
}

export function parsePrefer(req: Request): Prefer {
  const raw = req.headers.prefer ?? '';
  const header = Array.isArray(raw) ? raw.join(',') : raw;
  const ret = /return=(minimal|representation|OperationOutcome)/.exec(header)?.[1] as Prefer['return'];
  return { return: ret, lenient: /handling=lenient/.test(header) };
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
  sendJsonText(res, status, JSON.stringify(body));
}

/** Sends JSON that is already text (stored resources, Bundles built around them). */
export function sendJsonText(res: Response, status: number, json: string): void {
  const type = (res.locals.contentType as string | undefined) ?? FHIR_JSON;
  res.status(status);
  res.setHeader('Content-Type', `${type}; charset=utf-8`);
  res.end(json);
}

export function baseUrl(req: Request, configured?: string): string {
  return configured ?? `${req.protocol}://${req.get('host')}/fhir`;
}

export function versionHeaders(res: Response, meta: { versionId?: string; lastUpdated?: string } = {}): void {
  if (meta.versionId) res.setHeader('ETag', `W/"${meta.versionId}"`);
  if (meta.lastUpdated) res.setHeader('Last-Modified', new Date(meta.lastUpdated).toUTCString());
}

export function versionedLocation(base: string, resource: Resource): string {
  return `${base}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`;
}
