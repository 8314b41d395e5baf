import { FhirError, issue } from '../../shared/outcome.ts';
import { isFormatParameter } from '../http/query-params.ts';

/**
 * Normalises Express's query object into the store's parameter map. Names and values are checked
 * by the store (one set of rules for every caller); this only rejects shapes a query string
 * cannot legitimately produce and drops presentation parameters.
 */
export function toSearchParams(query: Record<string, unknown>): Record<string, string | string[]> {
  const params: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(query)) {
    if (isFormatParameter(name)) continue;
    if (typeof value === 'string') params[name] = value;
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string'))
      params[name] = value as string[];
    else
      throw new FhirError(
        400,
        issue('error', 'invalid', `Search parameter "${name}" has a malformed value`, name),
      );
  }
  return params;
}

/**
 * A query string must be percent-encoded UTF-8: a broken escape (`%A`) or bytes that are not UTF-8
 * would otherwise be read as U+FFFD and searched for, answering 200 with nothing found. 400 naming
 * the parameter (or `_query` when its name is what is broken); the value is not quoted.
 */
export function assertQueryEncoding(qs: string): void {
  for (const part of qs.split('&')) {
    const eq = part.indexOf('=');
    const [name, value] = eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    const decoded = decodeOrUndefined(name);
    if (decoded === undefined || decodeOrUndefined(value) === undefined)
      throw new FhirError(
        400,
        issue(
          'error',
          'invalid',
          'The query string is not well-formed: every % must begin an escape of UTF-8 (%XX)',
          decoded ?? '_query',
        ),
      );
  }
}

function decodeOrUndefined(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

/** A query string (`a=1&a=2&b=3`) as a parameter map with every value kept (checked first). */
export function parseQueryString(qs: string): Record<string, string[]> {
  assertQueryEncoding(qs);
  const params: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(qs)) {
    const list = params[k] ?? [];
    list.push(v);
    params[k] = list;
  }
  return params;
}
