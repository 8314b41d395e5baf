import type { Permission } from './scopes.ts';

/** What a request asks to do, read off its method and path before any handler runs. */
export type Need =
  /** Needs no token (capability statement, discovery, token endpoint, health). */
  | { kind: 'public' }
  /** One FHIR interaction on a type: every permission listed is required. */
  | { kind: 'fhir'; type: string; perms: Permission[]; interaction: string; id?: string }
  /** A transaction or batch Bundle: each entry is checked, one refused entry refuses the whole. */
  | { kind: 'bundle' }
  /** The audit log (read and search only). */
  | { kind: 'audit'; id?: string; method: string }
  /** The domain API: the permissions on every domain family. */
  | { kind: 'domain'; perms: Permission[] }
  /** Anything else (unknown routes): a valid token, nothing more. */
  | { kind: 'other' };

const PUBLIC_PATHS = new Set([
  '/healthz',
  '/metrics',
  '/.well-known/smart-configuration',
  '/auth/token',
  '/auth/jwks',
  '/fhir/metadata',
]);

function segments(path: string): string[] | undefined {
  try {
    return path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

/**
 * The need of a request to `path` with `method`; the query matters only to `$validate?mode=delete`,
 * which asks whether a DELETE would pass and so needs what a DELETE needs.
 */
export function needOf(method: string, path: string, validateMode?: unknown): Need {
  const need = pathNeed(method, path);
  if (validateMode === 'delete' && need.kind === 'fhir' && need.interaction === 'operation' && need.id)
    return fhirNeed(need.type, ['d'], 'operation', need.id);
  return need;
}

function pathNeed(method: string, path: string): Need {
  if (PUBLIC_PATHS.has(path)) return { kind: 'public' };
  if (path === '/api' || path.startsWith('/api/')) {
    return { kind: 'domain', perms: method === 'GET' || method === 'HEAD' ? ['r', 's'] : ['c', 'u'] };
  }
  if (path !== '/fhir' && !path.startsWith('/fhir/')) return { kind: 'other' };
  const seg = segments(path.slice('/fhir'.length));
  if (!seg) return { kind: 'other' };
  if (seg.length === 0) return method === 'POST' ? { kind: 'bundle' } : { kind: 'other' };
  if (seg[0] === 'AuditEvent') return { kind: 'audit', id: seg[1], method };
  return interactionNeed(method, seg) ?? { kind: 'other' };
}

/** One FHIR interaction's need (built without a spread: it is made on every request). */
function fhirNeed(type: string, perms: Permission[], interaction: string, id?: string): Need {
  return id === undefined
    ? { kind: 'fhir', type, perms, interaction }
    : { kind: 'fhir', type, perms, interaction, id };
}

/** The need of one FHIR request given as method and path segments after the base. */
export function interactionNeed(method: string, seg: string[]): Need | undefined {
  const [type, second, third] = seg as [string, string | undefined, string | undefined];
  const m = method === 'HEAD' ? 'GET' : method;
  // System and type history list versions across clients: read and search on every type asked for.
  if (type === '_history' && seg.length === 1) {
    return m === 'GET'
      ? { kind: 'fhir', type: '*', perms: ['r', 's'], interaction: 'history-system' }
      : undefined;
  }
  if (second === '_history' && seg.length === 2) {
    return m === 'GET' ? fhirNeed(type, ['r', 's'], 'history-type') : undefined;
  }
  if (seg.length === 1) {
    if (m === 'GET') return fhirNeed(type, ['s'], 'search-type');
    if (m === 'POST') return fhirNeed(type, ['c'], 'create');
    if (m === 'PUT') return fhirNeed(type, ['c', 'u'], 'update');
    if (m === 'DELETE') return fhirNeed(type, ['d'], 'delete');
    return undefined;
  }
  if (second === '_search' && seg.length === 2 && m === 'POST') return fhirNeed(type, ['s'], 'search-type');
  if (second === '$validate' && seg.length === 2) return fhirNeed(type, ['c'], 'operation');
  if (seg.length === 2) {
    if (m === 'GET') return fhirNeed(type, ['r'], 'read', second);
    if (m === 'PUT' || m === 'PATCH') return fhirNeed(type, ['u'], 'update', second);
    if (m === 'DELETE') return fhirNeed(type, ['d'], 'delete', second);
    return undefined;
  }
  if (third === '$validate' && seg.length === 3) return fhirNeed(type, ['r'], 'operation', second);
  if (third === '_history' && seg.length <= 4 && m === 'GET') {
    return fhirNeed(type, ['r'], seg.length === 3 ? 'history-instance' : 'vread', second);
  }
  return undefined;
}

/** The need of a Bundle entry's request (`GET Observation?code=x`, `PUT Patient/1`, …). */
export function entryNeed(method: string | undefined, url: string | undefined): Need | undefined {
  if (!method || !url) return undefined;
  const [path = '', query] = url.split('?', 2);
  const seg = path.split('/').filter(Boolean);
  if (!seg.length) return undefined;
  if (seg[0] === 'AuditEvent') return { kind: 'audit', id: seg[1], method };
  // A conditional update or delete (`PUT Observation?identifier=…`) searches first.
  if (query !== undefined && seg.length === 1 && (method === 'PUT' || method === 'DELETE')) {
    return {
      kind: 'fhir',
      type: seg[0] as string,
      perms: method === 'PUT' ? ['s', 'c', 'u'] : ['s', 'd'],
      interaction: method === 'PUT' ? 'update' : 'delete',
    };
  }
  return interactionNeed(method, seg);
}
