import { type Match, createDispatcher } from '../fhir/dispatch.ts';
import { entryRoute } from '../fhir/entry-route.ts';
import { validate } from '../fhir/handlers.ts';
import type { Permission } from '../fhir/route-types.ts';
import { FHIR_ROUTES } from '../fhir/routes.ts';

/** What a request asks to do, read off its method and path before any handler runs. */
export type Need =
  /** Needs no token (capability statement, discovery, token endpoint, health). */
  | { kind: 'public' }
  /**
   * One FHIR interaction on a type: every permission listed is required. `conditional`: a write
   * that first looks for a match by criteria (a create with If-None-Exist, a conditional update).
   */
  | { kind: 'fhir'; type: string; perms: Permission[]; interaction: string; id?: string; conditional?: true }
  /** A transaction or batch Bundle: each entry is checked, one refused entry refuses the whole. */
  | { kind: 'bundle' }
  /** The audit log (read and search only): `interaction` is the route's (history, vread… are refused). */
  | { kind: 'audit'; id?: string; method: string; interaction: string }
  /**
   * The domain API: the permissions on every domain family (and, with `audit`, reading the audit log);
   * a write (any method but GET and HEAD) needs `c u s`, a view `r s`.
   */
  | { kind: 'domain'; perms: Permission[]; audit?: true }
  /** The sync's operator surface (`/api/sync/*`): the operator scope, never a receiving party. */
  | { kind: 'operator' }
  /** Anything else (unknown routes): a valid token, nothing more. */
  | { kind: 'other' };

const PUBLIC_PATHS = new Set([
  '/healthz',
  '/metrics',
  '/.well-known/smart-configuration',
  '/auth/token',
  '/auth/jwks',
]);

/** A client's disclosure log: read off the audit log, so it needs the audit scope as well. */
const DISCLOSURE_LOG = /^\/api\/clients\/[^/]+\/disclosures\/?$/;

/** The FHIR route table, matched here to read each route's access off its row. */
const FHIR = createDispatcher(FHIR_ROUTES);

/** The `mode` values of a request's (decoded) query: read only when the route is an instance `$validate`. */
export type ValidateModes = () => unknown;

/**
 * The need of a request to `path` with `method`; the query matters only to `$validate?mode=delete`,
 * which asks whether a DELETE would pass and so needs what a DELETE needs. `modes` reads the parsed
 * query (percent-decoded, repeated values kept), as the handler does: never the raw URL text.
 * `ifNoneExist`: the request carries If-None-Exist (a create then searches as well).
 */
export function needOf(
  method: string,
  path: string,
  modes: ValidateModes = () => undefined,
  ifNoneExist = false,
): Need {
  return conditionalNeed(withValidateMode(pathNeed(method, path), modes), ifNoneExist);
}

/**
 * A conditional write: a create with If-None-Exist answers differently when a match exists (the
 * match, or a refusal to show it) than when none does (a new resource), so it is a search as well and
 * needs `s` besides `c`; a conditional update's route already asks for `s`. Both are marked, for the
 * rules that refuse them to some callers (front.ts).
 */
function conditionalNeed(need: Need, ifNoneExist: boolean): Need {
  if (need.kind !== 'fhir') return need;
  if (need.interaction === 'create' && ifNoneExist)
    return { ...need, perms: [...need.perms, 's'], conditional: true };
  if (need.interaction === 'update' && need.id === undefined) return { ...need, conditional: true };
  return need;
}

function withValidateMode(need: Need, modes: ValidateModes): Need {
  if (need.kind !== 'fhir' || need.interaction !== 'operation' || !need.id) return need;
  return [modes()].flat().includes('delete') ? fhirNeed(need.type, ['d'], 'operation', need.id) : need;
}

/**
 * Whether a request to `path` with `method` runs `$validate` (the route table's handler, at type or
 * instance level): its answer tells only of what was sent, so no guarded read audits it (front.ts).
 */
export function runsValidate(method: string, path: string): boolean {
  if (!path.startsWith('/fhir/')) return false;
  return FHIR.find(method, path.slice('/fhir'.length))?.route.handler === validate;
}

function pathNeed(method: string, path: string): Need {
  if (PUBLIC_PATHS.has(path)) return { kind: 'public' };
  if (path === '/api/sync' || path.startsWith('/api/sync/')) return { kind: 'operator' };
  if (path === '/api' || path.startsWith('/api/')) {
    // A write finds what it writes, and the objects it names, by business identifier first (the
    // conditional references of its transaction): it searches as well as creates and updates.
    if (method !== 'GET' && method !== 'HEAD') return { kind: 'domain', perms: ['c', 'u', 's'] };
    return DISCLOSURE_LOG.test(path)
      ? { kind: 'domain', perms: ['r', 's'], audit: true }
      : { kind: 'domain', perms: ['r', 's'] };
  }
  if (path !== '/fhir' && !path.startsWith('/fhir/')) return { kind: 'other' };
  return fhirPathNeed(method, path.slice('/fhir'.length)) ?? { kind: 'other' };
}

/** One FHIR interaction's need (built without a spread: it is made on every request). */
function fhirNeed(type: string, perms: Permission[], interaction: string, id?: string): Need {
  return id === undefined
    ? { kind: 'fhir', type, perms, interaction }
    : { kind: 'fhir', type, perms, interaction, id };
}

/**
 * The need of a FHIR request given as method and path after the base, read off the route it matches;
 * the audit log, served beside the table (read-only), is any route on the type AuditEvent. Undefined
 * when no route matches, and the router then answers 404 or 405.
 */
function fhirPathNeed(method: string, path: string): Need | undefined {
  const match = FHIR.find(method, path);
  return match && matchNeed(method, match);
}

/** The need of a matched FHIR route. */
function matchNeed(method: string, match: Match): Need {
  const { access } = match.route;
  const { type, id } = match.params;
  if (type === 'AuditEvent') {
    const interaction = typeof access === 'object' ? access.interaction : access;
    return id === undefined
      ? { kind: 'audit', method, interaction }
      : { kind: 'audit', id, method, interaction };
  }
  if (access === 'public' || access === 'bundle') return { kind: access };
  return fhirNeed(type ?? '*', patchReads(access), access.interaction, id);
}

/**
 * A patch reads its target: it answers with the patched resource, and its `test` operations tell
 * whether a stored value is what the caller guessed. So it needs `r` besides the route's `u`, or an
 * update-only scope (`.cud`, v1 `.write`) would read every resource of the type.
 */
function patchReads(access: { perms: Permission[]; interaction: string }): Permission[] {
  return access.interaction === 'patch' && !access.perms.includes('r')
    ? [...access.perms, 'r']
    : access.perms;
}

/**
 * The need of a Bundle entry's request (`GET Observation?code=x`, `PUT Patient/1`, …), its url relative
 * to the FHIR base; `ifNoneExist`: the entry carries `request.ifNoneExist`.
 */
export function entryNeed(
  method: string | undefined,
  url: string | undefined,
  ifNoneExist = false,
): Need | undefined {
  if (!method || !url) return undefined;
  const match = entryRoute(method, url);
  if (!match) return undefined;
  const modes = () => new URLSearchParams(match.query).getAll('mode');
  return conditionalNeed(withValidateMode(matchNeed(method, match), modes), ifNoneExist);
}
