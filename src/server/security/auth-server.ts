import express, { type Request, type Response } from 'express';
import { AssertionError, verifyClientAssertion } from './clients.ts';
import { OWN_SCOPES, uncoveredScopes } from './scopes.ts';
import { type SigningKey, issueAccessToken } from './tokens.ts';

type Db = { query(sql: string, params?: unknown[]): Promise<unknown> };

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface AuthServerOptions {
  db: Db;
  /** The embedded server's key, when it issues tokens (absent with an external IdP). */
  key?: SigningKey;
  /** Public origin, e.g. https://facade.example (no trailing slash). */
  publicBase: () => string;
  /** Token issuer, endpoint and keys of an external IdP, advertised instead of ours. */
  external?: { issuer: string; tokenUrl: string; jwksUrl: string };
}

export const issuerOf = (base: string) => `${base}/auth`;
export const tokenUrlOf = (base: string) => `${base}/auth/token`;

function oauthError(res: Response, status: number, error: string, description: string): void {
  res.status(status).setHeader('Cache-Control', 'no-store').json({ error, error_description: description });
}

/** `/.well-known/smart-configuration`, `/auth/jwks` and `/auth/token` (client_credentials + private_key_jwt). */
export function authRoutes(opts: AuthServerOptions): express.Router {
  const router = express.Router({ caseSensitive: true });
  const form = express.urlencoded({ extended: false, limit: '64kb' });

  router.get('/.well-known/smart-configuration', (_req, res) => {
    const base = opts.publicBase();
    const { external } = opts;
    res.json({
      issuer: external?.issuer ?? issuerOf(base),
      jwks_uri: external?.jwksUrl ?? `${base}/auth/jwks`,
      token_endpoint: external?.tokenUrl ?? tokenUrlOf(base),
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      // What the embedded token endpoint accepts; an external IdP's own choice is its to publish.
      ...(external ? {} : { token_endpoint_auth_signing_alg_values_supported: ['ES384', 'RS384'] }),
      grant_types_supported: ['client_credentials'],
      scopes_supported: ['system/*.cruds', 'system/*.rs', 'system/AuditEvent.rs', ...OWN_SCOPES],
      capabilities: ['client-confidential-asymmetric', 'permission-v2', 'permission-v1'],
    });
  });
  if (!opts.key) return router;
  const key = opts.key;

  router.get('/auth/jwks', (_req, res) => {
    res.json(key.jwks);
  });

  router.post('/auth/token', form, async (req: Request, res: Response) => {
    res.locals.route = '/auth/token';
    const body = (req.body ?? {}) as Record<string, string | undefined>;
    if (body.grant_type !== 'client_credentials') {
      return oauthError(res, 400, 'unsupported_grant_type', 'grant_type must be client_credentials');
    }
    if (body.client_assertion_type !== ASSERTION_TYPE || typeof body.client_assertion !== 'string') {
      return oauthError(
        res,
        400,
        'invalid_request',
        `client_assertion_type must be ${ASSERTION_TYPE} with a client_assertion`,
      );
    }
    const base = opts.publicBase();
    let client: Awaited<ReturnType<typeof verifyClientAssertion>>;
    try {
      client = await verifyClientAssertion(opts.db, body.client_assertion, tokenUrlOf(base));
    } catch (err) {
      if (err instanceof AssertionError) return oauthError(res, 401, 'invalid_client', err.message);
      throw err;
    }
    res.locals.clientId = client.id;
    const registered = client.scope.split(/\s+/).filter(Boolean);
    const requested = typeof body.scope === 'string' ? body.scope.split(/\s+/).filter(Boolean) : registered;
    const refused = uncoveredScopes(requested, registered);
    if (refused.length || !requested.length) {
      return oauthError(
        res,
        400,
        'invalid_scope',
        `not registered for: ${refused.join(' ') || '(no scope)'}`,
      );
    }
    const scope = requested.join(' ');
    const token = await issueAccessToken(key, {
      issuer: issuerOf(base),
      audience: `${base}/fhir`,
      clientId: client.id,
      scope,
      party: client.party,
    });
    res.setHeader('Cache-Control', 'no-store');
    res.json({ access_token: token.accessToken, token_type: 'bearer', expires_in: token.expiresIn, scope });
  });
  return router;
}
