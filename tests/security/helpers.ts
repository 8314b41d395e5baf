import { randomUUID, type webcrypto } from 'node:crypto';
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { type JWK, SignJWT, exportJWK, generateKeyPair } from 'jose';
import { type RunningServer, type StartOptions, startServer } from '../../src/server/index.ts';
import type { FacadeStore, FacadeValidator } from '../../src/server/ports.ts';
import { type RegisteredClient, addClient } from '../../src/server/security/index.ts';
import { silent } from '../server/helpers.ts';

export interface ClientKey {
  kid: string;
  privateKey: webcrypto.CryptoKey;
  jwks: { keys: JWK[] };
}

/** A fresh ES384 key pair for a test client (never stored anywhere). */
export async function clientKey(): Promise<ClientKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES384');
  const kid = randomUUID();
  return {
    kid,
    privateKey: privateKey as webcrypto.CryptoKey,
    jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES384' }] },
  };
}

/** A SMART Backend Services client assertion; `change` tampers with claims or header for attack cases. */
export async function assertion(
  clientId: string,
  key: ClientKey,
  tokenUrl: string,
  change: { claims?: Record<string, unknown>; expiresIn?: string; jti?: string } = {},
): Promise<string> {
  return new SignJWT({ ...change.claims })
    .setProtectedHeader({ alg: 'ES384', kid: key.kid })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(tokenUrl)
    .setJti(change.jti ?? randomUUID())
    .setExpirationTime(change.expiresIn ?? '4m')
    .sign(key.privateKey);
}

export async function requestToken(url: string, clientAssertion: string, scope?: string): Promise<Response> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: clientAssertion,
  });
  if (scope) form.set('scope', scope);
  return fetch(`${url}/auth/token`, { method: 'POST', body: form });
}

/**
 * A validator that finds nothing, for suites about authentication, transport and defaults, where what
 * is judged is who may call, not what is sent; loading the real one would cost each file seconds.
 */
export const acceptingValidator: FacadeValidator = {
  validate: () => ({ resourceType: 'OperationOutcome', issue: [] }),
  registry: { all: () => [] },
} as unknown as FacadeValidator;

export interface Secured {
  running: RunningServer;
  url: string;
  fhir: string;
  /** Registers a client and returns an access token obtained over HTTP. */
  client(
    c: Omit<RegisteredClient, 'jwks' | 'jwksUrl'>,
    scope?: string,
  ): Promise<{ token: string; key: ClientKey }>;
  call(token: string | undefined, path: string, init?: RequestInit): Promise<Response>;
  /** `call` with a JSON body; the answer's status and parsed body. */
  send(
    token: string | undefined,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any }>;
}

/** Client `agent`'s audit rows, oldest first, as the client holding `auditorToken` reads them. */
export async function auditEventsOf(s: Secured, auditorToken: string, agent: string): Promise<AuditEvent[]> {
  const r = await s.send(auditorToken, 'GET', `/AuditEvent?agent=${agent}&_count=100`);
  if (r.status !== 200) throw new Error(`audit search for ${agent}: ${r.status}`);
  return ((r.body as Bundle).entry ?? []).map((e) => e.resource as AuditEvent).reverse();
}

/** A facade with the embedded authorization server on an OS-chosen port. */
export async function startSecured(
  store: FacadeStore,
  validator: FacadeValidator,
  extra: Partial<StartOptions> = {},
): Promise<Secured> {
  const running = await startServer({
    store,
    validator,
    logger: silent,
    auth: { mode: 'embedded' },
    port: 0,
    ...extra,
  });
  const url = running.url;
  const fhir = `${url}/fhir`;
  return {
    running,
    url,
    fhir,
    async client(c, scope) {
      const key = await clientKey();
      await addClient(store as never, { ...c, jwks: key.jwks });
      const res = await requestToken(url, await assertion(c.id, key, `${url}/auth/token`), scope);
      const body = (await res.json()) as { access_token?: string };
      if (!res.ok || !body.access_token)
        throw new Error(`token for ${c.id}: ${res.status} ${JSON.stringify(body)}`);
      return { token: body.access_token, key };
    },
    call,
    async send(token, method, path, body, headers) {
      const res = await call(token, path, {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(headers ? { headers } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
  };
  function call(token: string | undefined, path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/fhir+json');
    return fetch(path.startsWith('http') ? path : `${fhir}${path}`, { ...init, headers });
  }
}
