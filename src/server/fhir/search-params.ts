import { FhirError, issue } from '../../shared/outcome.ts';

/**
 * Normalises Express's query object into the store's parameter map. Names and values are checked
 * by the store (one set of rules for every caller); this only rejects shapes a query string
 * cannot legitimately produce and drops presentation parameters.
 */
export function toSearchParams(query: Record<string, unknown>): Record<string, string | string[]> {
  const params: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(query)) {
    if (name === '_format' || name === '_pretty') continue;
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

/** A query string (`a=1&a=2&b=3`) as a parameter map with every value kept. */
export function parseQueryString(qs: string): Record<string, string[]> {
  const params: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(qs)) {
    const list = params[k] ?? [];
    list.push(v);
    params[k] = list;
  }
  return params;
}
