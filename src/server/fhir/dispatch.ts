// Matching a request path against the route table: segments compared once, no regular expression per
// route. What the binding calls for every FHIR request.
import { FhirError, issue } from '../../shared/outcome.ts';
import type { FhirRoute, Method } from './route-types.ts';

interface Compiled {
  route: FhirRoute;
  /** Per segment: a literal to equal, or a parameter name (starting with ':'). */
  segments: string[];
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
}

function split(path: string): string[] {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? [] : trimmed.split('/');
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw FhirError.badRequest(`Malformed percent-encoding in the URL path segment "${segment}"`);
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

export function createDispatcher(routes: readonly FhirRoute[]): Dispatcher {
  const byLength = new Map<number, Compiled[]>();
  for (const route of routes) {
    const segments = split(route.path);
    const list = byLength.get(segments.length) ?? [];
    list.push({ route, segments });
    byLength.set(segments.length, list);
  }
  const methodOf = (method: string) => (method === 'HEAD' ? 'GET' : (method as Method));
  return {
    match(method, path) {
      const parts = split(path).map(decode);
      let allowed: Set<string> | undefined; // made only on the way to a 405
      for (const c of byLength.get(parts.length) ?? []) {
        const params = matchSegments(c, parts);
        if (!params) continue;
        if (c.route.method === methodOf(method)) return { route: c.route, params };
        allowed ??= new Set();
        allowed.add(c.route.method);
        if (c.route.method === 'GET') allowed.add('HEAD');
      }
      if (allowed) {
        throw new FhirError(405, issue('error', 'not-supported', `${method} is not supported on ${path}`), {
          Allow: [...allowed].join(', '),
        });
      }
      throw new FhirError(404, issue('error', 'not-found', `No FHIR interaction at ${path}`));
    },
    find(method, path) {
      let parts: string[];
      try {
        parts = split(path).map(decode);
      } catch {
        return undefined;
      }
      for (const c of byLength.get(parts.length) ?? []) {
        if (c.route.method !== methodOf(method)) continue;
        const params = matchSegments(c, parts);
        if (params) return { route: c.route, params };
      }
      return undefined;
    },
  };
}
