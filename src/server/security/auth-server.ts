import express, { type NextFunction, type Request, type Response } from 'express';
import { AssertionError, verifyClientAssertion } from './clients.ts';
import { OWN_SCOPES, uncoveredScopes } from './scopes.ts';
import { ALGORITHMS, type SigningKey, issueAccessToken } from './tokens.ts';

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

/** RFC 6749 §5.1: a token endpoint's answers are never cached (`Pragma` for HTTP/1.0 caches). */
function noCache(res: Response): Response {
  return res.setHeader('Cache-Control', 'no-store').setHeader('Pragma', 'no-cache');
}

function oauthError(res: Response, status: number, error: string, description: string): void {
  noCache(res).status(status).json({ error, error_description: description });
}

/** The largest token-request body read. */
const FORM_LIMIT_KB = 64;

/** Why a token request's body was not read, by status (fixed texts: nothing of the request is quoted). */
const FORM_FAILURE: Readonly<Record<number, string>> = {
  413: `the request body is larger than ${FORM_LIMIT_KB} kB`,
  415: 'the request body must be a form in UTF-8, without a content encoding',
};

/**
 * The form of a token request, its failures (413 too large, 415 a charset or encoding not taken, 400
 * unparsable) answered in RFC 6749's shape rather than as a FHIR OperationOutcome.
 */
function tokenForm(): express.RequestHandler {
  const parse = express.urlencoded({ extended: false, limit: `${FORM_LIMIT_KB}kb` });
  return (req: Request, res: Response, next: NextFunction) =>
    parse(req, res, (err?: unknown) => {
      if (!err) return next();
      const status = (err as { status?: number }).status;
      if (typeof status !== 'number' || status < 400 || status > 499) return next(err);
      oauthError(
        res,
        status,
        'invalid_request',
        FORM_FAILURE[status] ?? 'the request body is not a readable form',
      );
    });
}

/**
 * RFC 6749 §3.1: a request parameter must not be included more than once. The first parameter that
 * is present but not one string (repeated), or undefined; an absent one is not judged here.
 */
function repeatedParameter(body: Record<string, unknown>): string | undefined {
  return Object.keys(body).find((name) => body[name] !== undefined && typeof body[name] !== 'string');
}

/** `/.well-known/smart-configuration`, `/auth/jwks` and `/auth/token` (client_credentials + private_key_jwt). */
export function authRoutes(opts: AuthServerOptions): express.Router {
  const router = express.Router({ caseSensitive: true });
  const form = tokenForm();

  router.get('/.well-known/smart-configuration', (_req, res) => {
    const base = opts.publicBase();
    const { external } = opts;
    res.json({
      issuer: external?.issuer ?? issuerOf(base),
      jwks_uri: external?.jwksUrl ?? `${base}/auth/jwks`,
      token_endpoint: external?.tokenUrl ?? tokenUrlOf(base),
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      // What the embedded token endpoint accepts; an external IdP's own choice is its to publish.
      ...(external ? {} : { token_endpoint_auth_signing_alg_values_supported: [...ALGORITHMS] }),
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
    const given = (req.body ?? {}) as Record<string, unknown>;
    const repeated = repeatedParameter(given);
    if (repeated !== undefined)
      return oauthError(res, 400, 'invalid_request', `${repeated} must be given once`);
    const body = given as Record<string, string | undefined>;
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
      client = await verifyClientAssertion(opts.db, body.client_assertion, tokenUrlOf(base), body.client_id);
    } catch (err) {
      if (err instanceof AssertionError) return oauthError(res, 401, 'invalid_client', err.message);
      throw err;
    }
    res.locals.clientId = client.id;
    const registered = client.scope.split(/\s+/).filter(Boolean);
    // Absent: every registered scope (a repeated one was refused above, never read as absent).
    const requested = body.scope === undefined ? registered : body.scope.split(/\s+/).filter(Boolean);
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
    noCache(res).json({
      access_token: token.accessToken,
      token_type: 'bearer',
      expires_in: token.expiresIn,
      scope,
    });
  });
  return router;
}
