// The parameters a POST carries in its body instead of its URL (R4 http.html#search, operations.html):
// form parameters (`application/x-www-form-urlencoded`) for a search — POST _search, of a type or of
// the audit log — and, for an operation, those or a `Parameters` resource. Either is joined with any
// parameters in the URL, and the handler reads the result as it reads a GET's query.
import { FhirError, issue } from '../../shared/outcome.ts';
import { bodyJson } from '../http/json-body.ts';
import { decodeText, parseMediaType } from '../http/negotiation.ts';
import { assertQueryEncoding } from './search-params.ts';

export type Query = Record<string, string | string[]>;

const FORM = 'application/x-www-form-urlencoded';

/** `query` with `name=value` added: a name given again keeps every value, as a repeated URL parameter does. */
function add(query: Query, name: string, value: string): void {
  const prev = query[name];
  query[name] = prev === undefined ? value : ([] as string[]).concat(prev, value);
}

/** `query` joined with the form parameters of `body` (checked as a query string is). */
function withForm(query: Query, body: Buffer, charset: string | undefined): Query {
  const out: Query = { ...query };
  const text = decodeText(body, charset);
  assertQueryEncoding(text);
  for (const [k, v] of new URLSearchParams(text)) add(out, k, v);
  return out;
}

/**
 * A POSTed search's parameters: form parameters in the body (415 for any other media type), joined
 * with any in the URL. `what` names the request in the refusal (`POST _search`).
 */
export function searchFormQuery(
  query: Query,
  body: Buffer | undefined,
  contentType: string | undefined,
  what = 'POST _search',
): Query {
  const form = contentType ? parseMediaType(contentType) : undefined;
  if (form && form.type !== FORM) {
    throw new FhirError(415, issue('error', 'not-supported', `${what} takes ${FORM} parameters`));
  }
  return body?.length ? withForm(query, body, form?.params.get('charset')) : { ...query };
}

/** A primitive `value[x]` of a Parameters parameter, as a URL would carry it; undefined for anything else. */
function primitiveValue(p: Record<string, unknown>): string | undefined {
  const values = Object.keys(p).filter((k) => k.startsWith('value'));
  if (values.length !== 1 || 'resource' in p || 'part' in p) return undefined;
  const v = p[values[0] as string];
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))
    ? String(v)
    : undefined;
}

/** The parameters of a `Parameters` resource as a query: each a name and a primitive value (400 naming it otherwise). */
function parametersQuery(query: Query, body: unknown, op: string): Query {
  const resource = body as { resourceType?: unknown; parameter?: unknown } | null;
  if (resource?.resourceType !== 'Parameters')
    throw FhirError.badRequest(`POST ${op} takes its parameters in a Parameters resource`, 'Parameters');
  const list = resource.parameter ?? [];
  if (!Array.isArray(list))
    throw FhirError.badRequest(`POST ${op}: Parameters.parameter must be a list`, 'Parameters.parameter');
  const out: Query = { ...query };
  list.forEach((p: unknown, i) => {
    const item =
      p !== null && typeof p === 'object' && !Array.isArray(p) ? (p as Record<string, unknown>) : {};
    const value = primitiveValue(item);
    if (typeof item.name !== 'string' || value === undefined)
      throw FhirError.badRequest(
        `POST ${op}: each parameter has a name and a primitive value[x]`,
        `Parameters.parameter[${i}]`,
      );
    add(out, item.name, value);
  });
  return out;
}

/**
 * The parameters of an operation invoked by POST (`op`: `$everything`): a `Parameters` resource (FHIR
 * JSON) or form parameters in the body, or none, joined with any in the URL; 415 for another body.
 */
export function operationQuery(
  query: Query,
  body: Buffer | undefined,
  contentType: string | undefined,
  op: string,
  maxDepth: number,
): Query {
  if (!body?.length) return { ...query };
  const media = contentType ? parseMediaType(contentType) : undefined;
  if (media?.type === FORM) return withForm(query, body, media.params.get('charset'));
  try {
    return parametersQuery(query, bodyJson(body, contentType, { maxDepth }, 'a Parameters resource'), op);
  } catch (err) {
    if (err instanceof FhirError && err.status === 415)
      throw new FhirError(
        415,
        issue(
          'error',
          'not-supported',
          `POST ${op} takes a Parameters resource (application/fhir+json) or ${FORM} parameters`,
        ),
      );
    throw err;
  }
}
