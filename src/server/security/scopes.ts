/**
 * SMART on FHIR system scopes: v2 (`system/Observation.rs`, `system/*.cruds`) and v1
 * (`system/Observation.read`, `system/*.write`, `system/*.*`). Only `system/` scopes grant anything
 * here (Backend Services); `patient/` and `user/` scopes and scopes with query restrictions are
 * ignored rather than read too widely.
 */

import type { Permission } from '../fhir/route-types.ts';

export type { Permission };

export interface Scope {
  /** A resource type or `*`. */
  type: string;
  perms: ReadonlySet<Permission>;
}

/** Read access to Patients labelled turvakielto without redaction. */
export const TURVAKIELTO_SCOPE = 'tyokyky/turvakielto.read';

/**
 * The sync's operator surface, `/api/sync/*`: its outbox lists every client's rows (resource and
 * patient ids, why each stopped) and requeues them, so no FHIR scope reaches it (docs/security.md).
 */
export const SYNC_OPERATOR_SCOPE = 'tyokyky/sync.operate';

/** The scopes that are not SMART's: each grants what its constant above says, nothing else. */
export const OWN_SCOPES: readonly string[] = [TURVAKIELTO_SCOPE, SYNC_OPERATOR_SCOPE];

/** Types a `*` scope does not reach: the audit log needs its own scope. */
const EXPLICIT_ONLY = new Set(['AuditEvent']);

const V1: Record<string, Permission[]> = {
  read: ['r', 's'],
  write: ['c', 'u', 'd'],
  '*': ['c', 'r', 'u', 'd', 's'],
};
const SCOPE_RE = /^system\/(\*|[A-Z][A-Za-z]{0,63})\.([a-z*]+)$/;
const V2_RE = /^c?r?u?d?s?$/;

/** Parses one scope token; undefined when it grants nothing here. */
export function parseScope(token: string): Scope | undefined {
  const [, type, access] = SCOPE_RE.exec(token) ?? [];
  if (type === undefined || access === undefined) return undefined;
  const v1 = Object.hasOwn(V1, access) ? V1[access] : undefined;
  if (v1) return { type, perms: new Set(v1) };
  if (!access || !V2_RE.test(access)) return undefined;
  return { type, perms: new Set(access.split('') as Permission[]) };
}

export function parseScopes(text: string | undefined): Scope[] {
  return (text ?? '')
    .split(/\s+/)
    .map(parseScope)
    .filter((s): s is Scope => s !== undefined);
}

/** Does any scope grant `perm` on `type`? */
export function allows(scopes: readonly Scope[], type: string, perm: Permission): boolean {
  return scopes.some(
    (s) => (s.type === type || (s.type === '*' && !EXPLICIT_ONLY.has(type))) && s.perms.has(perm),
  );
}

/**
 * The scopes a client asked for, checked against what it is registered for: every requested token
 * must be covered by a registered one (same type or registered `*`, a subset of its permissions;
 * other tokens only when registered verbatim). Returns the tokens refused, empty when all are fine.
 */
export function uncoveredScopes(requested: string[], registered: string[]): string[] {
  const granted = registered.map((t) => ({ token: t, scope: parseScope(t) }));
  return requested.filter((token) => {
    const want = parseScope(token);
    if (!want) return !registered.includes(token);
    return !granted.some(
      ({ scope }) =>
        scope !== undefined &&
        (scope.type === want.type || (scope.type === '*' && !EXPLICIT_ONLY.has(want.type))) &&
        [...want.perms].every((p) => scope.perms.has(p)),
    );
  });
}
