import { AsyncLocalStorage } from 'node:async_hooks';
import { FhirError, issue } from '../../shared/outcome.ts';
import type { Scope } from './scopes.ts';

/** Who is calling: the authenticated client (or `anonymous` when auth is off) and what it may do. */
export interface Principal {
  clientId: string;
  /** consent-party code of a receiving party; its reads are limited by the client's consents. */
  party?: string;
  scopes: readonly Scope[];
  /** All scopes (auth is off): every interaction is allowed. */
  unrestricted: boolean;
  /** May read turvakielto Patients unredacted. */
  turvakielto: boolean;
  /** The request id, carried into audit rows. */
  requestId?: string;
}

export const ANONYMOUS: Principal = {
  clientId: 'anonymous',
  scopes: [],
  unrestricted: true,
  turvakielto: true,
};

const current = new AsyncLocalStorage<Principal>();

/** Runs `fn` (the rest of the request) as `principal`. */
export function runAs<T>(principal: Principal, fn: () => T): T {
  return current.run(principal, fn);
}

/**
 * The caller of the running request. The guarded store is only used by request handlers; a call
 * without one is a wiring fault and is refused rather than served unchecked.
 */
export function principal(): Principal {
  const p = current.getStore();
  if (!p) throw new FhirError(500, issue('fatal', 'security', 'sec-ctx-1: no access context for this call'));
  return p;
}
