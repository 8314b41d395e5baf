import type { Response } from 'express';
import { FhirError, issue } from '../../shared/outcome.ts';
import type { FacadeStore } from '../ports.ts';
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
  /** Holds the sync operator's scope (`/api/sync/*`). */
  syncOperator?: boolean;
  /** The request id, carried into audit rows. */
  requestId?: string;
  /**
   * The FHIR base the request is answered under: a reference written as an absolute URL under it names
   * a resource here (Kanta PHR mode stores references as written), so consent and audit read the client off it.
   */
  base?: string;
}

export const ANONYMOUS: Principal = {
  clientId: 'anonymous',
  scopes: [],
  unrestricted: true,
  turvakielto: true,
};

/**
 * Where the security front leaves the request's guarded store in `res.locals`. A symbol only this
 * module holds: nothing but the front (through `bindRequestStore`) can place a store there.
 */
const REQUEST_STORE = Symbol('tyokyky guarded store');

type Locals = Record<symbol, FacadeStore | undefined>;

/** Called by the security front once the caller is authenticated and permitted. */
export function bindRequestStore(res: Response, store: FacadeStore): void {
  (res.locals as Locals)[REQUEST_STORE] = store;
}

/**
 * The store a route uses for this request: the guarded store bound to the request's caller. A
 * request the front has not passed has none; serving it would be unchecked, so it is refused.
 */
export function requestStore(res: Response): FacadeStore {
  const store = (res.locals as Locals)[REQUEST_STORE];
  if (!store)
    throw new FhirError(500, issue('fatal', 'security', 'sec-ctx-1: no access context for this call'));
  return store;
}
