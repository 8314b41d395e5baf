// What every kind of search value shares: the 400 that names the parameter, and the comparison prefix
// (`ge2026-01-01`, `le7`) that date and number values may start with.
import { FhirError, issue } from '../shared/outcome.ts';

export const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;
export type Prefix = (typeof PREFIXES)[number];

/**
 * A 400 naming the parameter (its `expression`). The diagnostics never quote the caller's value: a
 * search value may carry a HETU, and error texts end up in logs.
 */
export function badSearch(param: string, diagnostics: string): FhirError {
  return new FhirError(400, issue('error', 'invalid', diagnostics, param));
}

/**
 * A 400 (`not-supported`) naming a parameter this store does not search by: an unknown name, chain or
 * reverse chain, or an unsupported modifier. A lenient search ignores these (`isUnsupported`).
 */
export function unsupportedSearch(param: string, diagnostics: string): FhirError {
  return new FhirError(400, issue('error', 'not-supported', diagnostics, param));
}

/** Whether `err` is `unsupportedSearch`'s refusal. */
export function isUnsupported(err: unknown): boolean {
  return err instanceof FhirError && err.outcome.issue?.[0]?.code === 'not-supported';
}

/** A date or number search value's prefix (`eq` when it has none) and the rest of it. */
export function splitPrefix(key: string, value: string): { prefix: Prefix; text: string } {
  if (!/^[a-zA-Z]{2}/.test(value)) return { prefix: 'eq', text: value };
  const p = value.slice(0, 2);
  if (!(PREFIXES as readonly string[]).includes(p)) {
    throw badSearch(key, `Invalid value for '${key}': unknown prefix (allowed: ${PREFIXES.join(', ')})`);
  }
  return { prefix: p as Prefix, text: value.slice(2) };
}
