// What every kind of search value shares: the 400 that names the parameter, the comparison prefix
// (`ge2026-01-01`, `le7`) that date and number values may start with, and the escapes (`\,` `\|` `\$`
// `\\`) that let a value hold the separators.
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

/** One comma-separated alternative of a token or reference search: `system|value`, `value` or `system|`. */
export type TokenAlternative = { system: string; value?: string } | { system?: undefined; value: string };

/**
 * A token search value's comma-separated alternatives: `system|code`, `code`, `|code` (system `''`:
 * a code without a system) or `system|` (any code of the system), escapes undone.
 */
export function tokenAlternatives(key: string, value: string): TokenAlternative[] {
  return splitValues(key, value).map((one) => {
    const bar = indexOfUnescaped(one, '|');
    if (bar < 0) return { value: unescapeValue(one) };
    if (indexOfUnescaped(one.slice(bar + 1), '|') >= 0)
      throw badSearch(
        key,
        `Invalid value for '${key}': more than one '|' (a '|' in a code is written '\\|')`,
      );
    const system = unescapeValue(one.slice(0, bar));
    const code = unescapeValue(one.slice(bar + 1));
    return code === '' ? { system } : { system, value: code };
  });
}

/**
 * Comma-separated alternatives (OR); `\,` escapes a comma. Empty alternatives are an error, and so is a
 * `\` that ends the value (it escapes nothing).
 */
export function splitValues(key: string, value: string): string[] {
  if (endsInLoneEscape(value))
    throw badSearch(
      key,
      `Invalid value for '${key}': a '\\' at the end escapes nothing (a backslash is written '\\\\')`,
    );
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\') i++;
    else if (value[i] === ',') {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  if (parts.some((p) => p === '')) throw badSearch(key, `Invalid value for '${key}': empty value`);
  return parts;
}

/** Whether `value` ends in a `\` that is not itself escaped. */
function endsInLoneEscape(value: string): boolean {
  let run = 0;
  while (value[value.length - 1 - run] === '\\') run++;
  return run % 2 === 1;
}

/** Where `ch` first stands unescaped in `s`, or -1. */
export function indexOfUnescaped(s: string, ch: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === ch) return i;
  }
  return -1;
}

/** A token's text with its search escapes (`\,` `\|` `\$` `\\`) undone. */
export function unescapeValue(s: string): string {
  return s.replace(/\\([\\,|$])/g, '$1');
}

/** `s` as a search value naming exactly it: `\` `,` `|` `$` escaped (what `unescapeValue` undoes). */
export function escapeValue(s: string): string {
  return s.replace(/[\\,|$]/g, '\\$&');
}
