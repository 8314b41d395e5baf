// Matching a request path against the route table: segments compared once, no regular expression per
// route. What the binding calls for every FHIR request.
import { FhirError, issue } from '../../shared/outcome.ts';
import type { FhirRoute, Method, OperationLevel } from './route-types.ts';

interface Compiled {
  route: FhirRoute;
  /** Per segment: a literal to equal, or a parameter name (starting with ':'). */
  segments: string[];
  /** How many of the segments are literals (the more, the more specific). */
  literals: number;
}

export interface Match {
  route: FhirRoute;
  params: Record<string, string>;
}

export interface Dispatcher {
  /** The route for `method` and `path` (relative to the FHIR base), 404/405 OperationOutcomes otherwise. */
  match(method: string, path: string): Match;
  /** The route for `method` and `path`, or undefined (no route, or a malformed path). */
  find(method: string, path: string): Match | undefined;
  /**
   * A 405's `Allow` (RFC 9110 §15.5.6: a 405 MUST carry it) for `path`: the methods its routes take,
   * HEAD with GET, but `refused` — the method the 405 answers (a route's handler may refuse its own
   * method for the resource at hand: PUT of an id that does not exist, `updateCreate: false`).
   */
  allow(path: string, refused: string): string;
}

function split(path: string): string[] {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? [] : trimmed.split('/');
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // The segment is not quoted: it may be anything a client typed.
    throw FhirError.badRequest('Malformed percent-encoding in the URL path');
  }
}

function matchSegments(c: Compiled, parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const want = c.segments[i];
    if (want.startsWith(':')) params[want.slice(1)] = parts[i];
    else if (want !== parts[i]) return undefined;
  }
  return params;
}

/**
 * The routes whose pattern matches `parts`, the most specific only: where a literal segment
 * (`metadata`, `_history`, `$validate`) matches, a `:param` at the same place does not also claim the
 * path for other methods (`POST /metadata` is a 405, not a create of type "metadata").
 */
function candidates(
  list: Compiled[],
  parts: string[],
): Array<{ c: Compiled; params: Record<string, string> }> {
  let best = -1;
  let out: Array<{ c: Compiled; params: Record<string, string> }> = [];
  for (const c of list) {
    const params = matchSegments(c, parts);
    if (!params) continue;
    if (c.literals > best) {
      best = c.literals;
      out = [];
    }
    if (c.literals === best) out.push({ c, params });
  }
  return out;
}

/** The level an operation's `$name` segment stands at, by its place in a path. */
const LEVELS: readonly OperationLevel[] = ['system', 'type', 'instance'];
/** How a client writes an operation's URL at each level. */
const LEVEL_URL = { system: '', type: '[type]/', instance: '[type]/[id]/' } as const;
/** An operation name plain enough to be quoted back (`$everything`): anything else is not. */
const OPERATION_NAME = /^\$[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/**
 * Each operation the table has (`$validate`) with the levels it is defined at, read off its rows'
 * paths: what the dispatcher answers there, and what the CapabilityStatement declares.
 */
export function operationLevels(routes: readonly FhirRoute[]): Map<string, Set<OperationLevel>> {
  const out = new Map<string, Set<OperationLevel>>();
  for (const route of routes)
    split(route.path).forEach((segment, i) => {
      const level = LEVELS[i];
      if (!segment.startsWith('$') || !level) return;
      out.set(segment, (out.get(segment) ?? new Set()).add(level));
    });
  return out;
}

/**
 * Where a path names an operation (`$name`, which no type or id can be) that no route has there: the
 * best matches take it as a `:type` or `:id` (`GET Patient/$everything` as a read), or nothing
 * matches. The operation's 4xx then, not a route's answer to a type or id it is not.
 */
function operationMiss(
  parts: string[],
  found: Array<{ c: Compiled }>,
  levels: Map<string, Set<OperationLevel>>,
): FhirError | undefined {
  const at = parts.findIndex((p) => p.startsWith('$'));
  if (at < 0 || found.some(({ c }) => c.segments[at] === parts[at])) return undefined;
  const name = parts[at] as string;
  const defined = levels.get(name);
  if (!defined) {
    const text = OPERATION_NAME.test(name) ? `Unknown operation ${name}` : 'Unknown operation';
    return new FhirError(404, issue('error', 'not-supported', text));
  }
  const where = [...defined];
  const article = where[0] === 'instance' ? 'an' : 'a';
  const urls = where.map((l) => `${LEVEL_URL[l]}${name}`).join(', ');
  return new FhirError(
    400,
    issue('error', 'not-supported', `${name} is ${article} ${where.join(' or ')} operation here: ${urls}`),
  );
}

export function createDispatcher(routes: readonly FhirRoute[]): Dispatcher {
  const byLength = new Map<number, Compiled[]>();
  for (const route of routes) {
    const segments = split(route.path);
    const list = byLength.get(segments.length) ?? [];
    list.push({ route, segments, literals: segments.filter((x) => !x.startsWith(':')).length });
    byLength.set(segments.length, list);
  }
  const levels = operationLevels(routes);
  const methodOf = (method: string) => (method === 'HEAD' ? 'GET' : (method as Method));
  const lookup = (method: string, parts: string[]) => {
    const found = candidates(byLength.get(parts.length) ?? [], parts);
    const miss = operationMiss(parts, found, levels);
    const hit = miss ? undefined : found.find(({ c }) => c.route.method === methodOf(method));
    return { found, miss, hit: hit && { route: hit.c.route, params: hit.params } };
  };
  return {
    match(method, path) {
      const { found, miss, hit } = lookup(method, split(path).map(decode));
      if (miss) throw miss;
      if (hit) return hit;
      if (found.length) {
        // The path is not quoted: its ids are whatever the client sent.
        throw new FhirError(405, issue('error', 'not-supported', `${method} is not supported at this URL`), {
          Allow: allowOf(found, method),
        });
      }
      throw new FhirError(404, issue('error', 'not-found', 'No FHIR interaction at this URL'));
    },
    find(method, path) {
      let parts: string[];
      try {
        parts = split(path).map(decode);
      } catch {
        return undefined;
      }
      return lookup(method, parts).hit;
    },
    allow(path, refused) {
      let parts: string[];
      try {
        parts = split(path).map(decode);
      } catch {
        return '';
      }
      return allowOf(candidates(byLength.get(parts.length) ?? [], parts), refused);
    },
  };
}

/** The methods `found` routes take (HEAD with GET), but `refused`, as an `Allow` value. */
function allowOf(found: Array<{ c: Compiled }>, refused: string): string {
  const allowed = new Set(
    found.flatMap(({ c }) => (c.route.method === 'GET' ? ['GET', 'HEAD'] : [c.route.method])),
  );
  allowed.delete(refused);
  return [...allowed].join(', ');
}
