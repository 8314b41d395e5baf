// The query parameters an answer takes: the format parameters every interaction accepts, and the one
// rule for a parameter an endpoint does not take.
import { FhirError, issue } from '../../shared/outcome.ts';

/** Taken by every interaction: they shape the answer (R4 http.html), not what it holds. */
const FORMAT_PARAMETERS: ReadonlySet<string> = new Set(['_format', '_pretty']);

/** `name` is a format parameter. */
export function isFormatParameter(name: string): boolean {
  return FORMAT_PARAMETERS.has(name);
}

/**
 * 400 (not-supported) naming the first parameter of `query` that is neither in `supported` nor a
 * format parameter: an answer that silently ignored it would not be the one the caller asked for.
 * `what` names the endpoint ("_history", "the plan view"); the value is not quoted.
 */
export function refuseUnknownParameters(
  query: Record<string, unknown>,
  supported: readonly string[],
  what: string,
): void {
  for (const name of Object.keys(query)) {
    if (supported.includes(name) || isFormatParameter(name)) continue;
    const list = supported.length ? supported.join(', ') : 'none';
    throw new FhirError(
      400,
      issue('error', 'not-supported', `Unknown parameter "${name}" for ${what} (supported: ${list})`, name),
    );
  }
}

/** `url` with `params` as its query; no `?` when there are none. */
export function withQuery(url: string, params: URLSearchParams): string {
  const text = params.toString();
  return text ? `${url}?${text}` : url;
}
