import type { RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { FhirError, issue } from '../../shared/outcome.ts';
import { migrateAuditLog } from '../../store/index.ts';
import { DEFAULT_LIMITS } from '../http/limits.ts';
import type { FacadeStore, StoreFor } from '../ports.ts';
import { AuditWriter } from './audit.ts';
import { authRoutes, issuerOf } from './auth-server.ts';
import { type Principal, requestStore } from './context.ts';
import {
  type Disclosure,
  type DisclosureClient,
  type DisclosureFilter,
  auditedDisclosureLog,
} from './disclosures.ts';
import { forwardedOrigin } from './forwarded.ts';
import { securityFront } from './front.ts';
import { record } from './guard-context.ts';
import { guardStore } from './guard-store.ts';
import {
  PARTY_CURSOR_MIGRATION,
  PARTY_CURSOR_STATEMENTS,
  SECURITY_MIGRATION,
  SECURITY_STATEMENTS,
  type SecurityStore,
} from './schema.ts';
import { type TokenVerifier, createVerifier, loadSigningKey, remoteKeySource, remoteKeys } from './tokens.ts';

export {
  addClient,
  checkClient,
  getClient,
  listClients,
  removeClient,
  type RegisteredClient,
} from './clients.ts';
export { checkTrustedProxies } from './forwarded.ts';
export { ANONYMOUS, type Principal, requestStore } from './context.ts';
export { SYNC_OPERATOR_SCOPE, TURVAKIELTO_SCOPE, allows, parseScopes } from './scopes.ts';
export {
  SECURITY_MIGRATION,
  SECURITY_STATEMENTS,
  type SecurityStore,
  isSecurityStore,
} from './schema.ts';
export { NOT_SERVED } from './guard-store.ts';
export type { Disclosure, DisclosureClient, DisclosureFilter } from './disclosures.ts';

/** How the facade authenticates callers. */
export type AuthConfig =
  /** No authentication: every caller is `anonymous` with every permission (loopback only by default). */
  | { mode: 'off' }
  /** The embedded SMART Backend Services authorization server issues and verifies the tokens. */
  | { mode: 'embedded' }
  /** Tokens from an external IdP (Keycloak, Azure AD…): its issuer, JWKS URL and token endpoint. */
  | { mode: 'external'; issuer: string; jwksUrl: string; tokenUrl: string };

export interface SecurityOptions {
  store: SecurityStore;
  auth: AuthConfig;
  /** Public origin (scheme, host, port), e.g. https://facade.example; may be set later with `setPublicBase`. */
  publicBase?: string;
  /** Requests per client per minute (default 6000). */
  rateLimit?: number;
  bodyLimit?: number | string;
  /** Deepest JSON nesting a body may have (the facade's `jsonDepth`; default DEFAULT_LIMITS'). */
  jsonDepth?: number;
  /**
   * Addresses or CIDR ranges of reverse proxies whose X-Forwarded-Proto/Host/Prefix set the origin
   * of links (Location, fullUrl, paging) for requests they forward; nobody else's are read.
   */
  trustProxy?: readonly string[];
  logger: Logger;
}

export interface Security {
  readonly auth: AuthConfig['mode'];
  /** Middleware for the front of the app, before every route. */
  readonly front: RequestHandler;
  /**
   * How the routes find their store: per request, the guarded store (consent-aware, redacting,
   * audited) the front bound to the request's caller in `res.locals`; a request without one is
   * refused (`sec-ctx-1`). `store` must be the store security was created with (the guard writes
   * audit rows in that store's transactions).
   */
  wrapStore(store: FacadeStore): StoreFor;
  /** The public origin once known (the listening address when none is configured). */
  setPublicBase(origin: string): void;
  publicBase(): string;
  /** A client's disclosure log (*luovutusloki*), newest first (security/disclosures.ts). */
  disclosureLog(
    client: DisclosureClient,
    filter: DisclosureFilter,
    caller: FacadeStore,
    query: string,
  ): Promise<Disclosure[]>;
  /** Resolves once every audit row handed over so far is written (or has failed): before closing the store. */
  auditSettled(): Promise<void>;
  /**
   * Records a successful call of the sync's operator API (`/api/sync/*`) by the request's caller,
   * before it is answered: `detail` says what it did (counts and row numbers, never client data).
   */
  auditOperator(res: Response, call: { action: 'E' | 'U'; detail: string }): Promise<void>;
}

/** Sets up audit tables, the embedded server's key (when embedded) and the security front. */
export async function createSecurity(opts: SecurityOptions): Promise<Security> {
  await opts.store.migrate(SECURITY_MIGRATION, SECURITY_STATEMENTS);
  await opts.store.migrate(PARTY_CURSOR_MIGRATION, PARTY_CURSOR_STATEMENTS);
  await migrateAuditLog(opts.store);
  let origin = opts.publicBase?.replace(/\/+$/, '') ?? 'http://127.0.0.1';
  const publicBase = () => origin;
  const key = opts.auth.mode === 'embedded' ? await loadSigningKey(opts.store) : undefined;
  const postgres = opts.store.engine === 'postgres';
  const writer = new AuditWriter(opts.store, postgres ? 4 : 1);
  let verifier: TokenVerifier | undefined;
  if (opts.auth.mode === 'embedded' && key) {
    verifier = createVerifier({
      issuer: () => issuerOf(origin),
      audience: () => `${origin}/fhir`,
      keys: key.keys,
      algorithms: key.algorithms,
    });
  } else if (opts.auth.mode === 'external') {
    const { issuer, jwksUrl } = opts.auth;
    verifier = createVerifier({
      issuer: () => issuer,
      audience: () => `${origin}/fhir`,
      keys: remoteKeySource(remoteKeys(jwksUrl)),
    });
  }
  const external = opts.auth.mode === 'external' ? opts.auth : undefined;
  const front = securityFront({
    verifier,
    guard: guardStore(opts.store, writer),
    writer,
    db: opts.store,
    fhirBase: () => `${origin}/fhir`,
    rateLimit: opts.rateLimit ?? 6000,
    bodyLimit: opts.bodyLimit ?? DEFAULT_LIMITS.bodyBytes,
    jsonDepth: opts.jsonDepth ?? DEFAULT_LIMITS.jsonDepth,
    publicRoutes: authRoutes({ db: opts.store, key, publicBase, ...(external ? { external } : {}) }),
    ...(opts.trustProxy?.length ? { forwarded: forwardedOrigin(opts.trustProxy) } : {}),
    logger: opts.logger,
  });
  return {
    auth: opts.auth.mode,
    front,
    wrapStore(store) {
      if (store !== opts.store) {
        throw new Error('sec-wire-1: wrapStore must be given the store createSecurity was given');
      }
      return requestStore;
    },
    setPublicBase(o) {
      origin = o.replace(/\/+$/, '');
    },
    publicBase,
    disclosureLog: auditedDisclosureLog,
    auditSettled: () => writer.settled(),
    auditOperator: (res, call) => writer.record(operatorRecord(res, call)),
  };
}

/** The audit record of an operator's call, by the caller the front admitted (`sec-ctx-1` without one). */
function operatorRecord(res: Response, call: { action: 'E' | 'U'; detail: string }) {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new FhirError(500, issue('fatal', 'security', 'sec-ctx-1: no access context for this call'));
  return record(p, { interaction: 'operation', outcome: '0', entities: [], patients: [], ...call });
}
