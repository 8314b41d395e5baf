import { randomUUID } from 'node:crypto';
import { type JWK, SignJWT, importJWK } from 'jose';
import { isJsonObject } from '../shared/json-object.ts';
import type { OAuthConfig } from './config.ts';
import { TokenError, isRetryableStatus } from './resilience.ts';

interface CachedToken {
  value: string;
  refreshAt: number;
}

/** RFC 6750's b64token: what a bearer token may be written with. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * OAuth 2.0 client-credentials tokens, cached and refreshed before they expire. Concurrent callers
 * share one in-flight token request.
 */
export class TokenSource {
  private cached?: CachedToken;
  private inflight?: Promise<string>;

  constructor(
    private readonly config: OAuthConfig,
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async token(): Promise<string> {
    if (this.cached && this.now() < this.cached.refreshAt) return this.cached.value;
    this.inflight ??= this.fetchToken().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Forget the cached token (the resource server answered 401). */
  invalidate(): void {
    this.cached = undefined;
  }

  private async fetchToken(): Promise<string> {
    const { tokenUrl, clientId, clientSecret, scope, method = 'basic' } = this.config;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope) form.set('scope', scope);
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (method === 'private_key_jwt') {
      if (!this.config.privateKey) throw refused('private_key_jwt needs the client private key');
      form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      form.set('client_assertion', await clientAssertion(clientId, tokenUrl, this.config.privateKey));
    } else if (method === 'basic') {
      const basic = `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret ?? '')}`;
      headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
    } else {
      form.set('client_id', clientId);
      form.set('client_secret', clientSecret ?? '');
    }
    let res: Response;
    try {
      res = await fetch(tokenUrl, {
        method: 'POST',
        headers,
        body: form,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw unavailable(`token endpoint ${tokenUrl} unreachable: ${(err as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) {
      const code = oauthErrorCode(text);
      const said = `token endpoint answered ${res.status}${code ? ` (${code})` : ''}`;
      throw isRetryableStatus(res.status) ? unavailable(said) : refused(said, res.status);
    }
    let body: { access_token?: unknown; expires_in?: unknown; token_type?: unknown };
    try {
      body = JSON.parse(text);
    } catch {
      throw unavailable('token endpoint answered a body that is not JSON');
    }
    // It goes into every request's Authorization header: RFC 6750's token characters only.
    if (
      !isJsonObject(body) ||
      typeof body.access_token !== 'string' ||
      !BEARER_TOKEN.test(body.access_token)
    ) {
      throw unavailable('token endpoint answer has no usable access_token');
    }
    const expiresIn = body.expires_in;
    const seconds =
      typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 300;
    const lifetimeMs = seconds * 1000;
    // Refresh early: at 80% of the lifetime, but never later than 30 s before expiry.
    const margin = Math.min(30_000, lifetimeMs * 0.2);
    this.cached = { value: body.access_token, refreshAt: this.now() + lifetimeMs - margin };
    return body.access_token;
  }
}

/** An OAuth 2.0 `error` code as RFC 6749 spells them (`invalid_client`): a plain token, nothing more. */
const OAUTH_ERROR_CODE = /^[a-z_]{1,64}$/;

/**
 * The OAuth `error` code of a token endpoint's refusal, when its answer is a JSON object whose `error`
 * is a plain token; else undefined. Nothing else of the answer is repeated in our errors (and so in
 * logs and the status): its `error_description` and any other text may echo anything we sent or the
 * endpoint knows.
 */
function oauthErrorCode(text: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const code = isJsonObject(body) ? body.error : undefined;
  return typeof code === 'string' && OAUTH_ERROR_CODE.test(code) ? code : undefined;
}

/**
 * A SMART Backend Services client assertion: `iss` = `sub` = the client id, `aud` = the token
 * endpoint, a fresh `jti`, valid for five minutes, signed with the client's private key (jose).
 */
export async function clientAssertion(clientId: string, tokenUrl: string, privateKey: JWK): Promise<string> {
  const alg = privateKey.alg ?? (privateKey.kty === 'RSA' ? 'RS384' : 'ES384');
  const key = await importJWK(privateKey, alg);
  return new SignJWT({})
    .setProtectedHeader({ alg, ...(privateKey.kid ? { kid: privateKey.kid } : {}), typ: 'JWT' })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(tokenUrl)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key);
}

const refused = (diagnostics: string, answered?: number) => new TokenError(401, diagnostics, false, answered);
const unavailable = (diagnostics: string) => new TokenError(502, diagnostics, true);
