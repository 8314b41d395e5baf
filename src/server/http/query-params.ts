// The query parameters an answer takes: the format parameters every interaction accepts, and the one
// rule for a parameter an endpoint does not take (the store's, which its search applies too).
import { isFormatParameter, unknownParameter } from '../../store/index.ts';

export { isFormatParameter };

/**
 * The parameters of `query` that are neither in `supported` nor a format parameter, by the one rule
 * for them (`unknownParameter`): a 400 (not-supported) naming the first, or — `lenient`, the request's
 * `Prefer: handling=lenient` — their names, ignored. `what` names the endpoint ("_history", "the plan
 * view"); the value is not quoted.
 */
export function refuseUnknownParameters(
  query: Record<string, unknown>,
  supported: readonly string[],
  what: string,
  opts: { lenient?: boolean } = {},
): string[] {
  const ignored: string[] = [];
  for (const name of Object.keys(query)) {
    if (supported.includes(name) || isFormatParameter(name)) continue;
    const list = supported.length ? supported.join(', ') : 'none';
    unknownParameter(
      name,
      `Unknown parameter "${name}" for ${what} (supported: ${list})`,
      opts.lenient,
      ignored,
    );
  }
  return ignored;
}

/** `url` with `params` as its query; no `?` when there are none. */
export function withQuery(url: string, params: URLSearchParams): string {
  const text = params.toString();
  return text ? `${url}?${text}` : url;
}
