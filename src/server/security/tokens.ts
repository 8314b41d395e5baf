import { randomUUID } from 'node:crypto';
import type { webcrypto } from 'node:crypto';
import {
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  SignJWT,
  createLocalJWKSet,
  createRemoteJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
} from 'jose';
import { rows } from './schema.ts';

/** Algorithms accepted on access tokens and client assertions (asymmetric only: no `none`, no HS*). */
export const ALGORITHMS = ['ES384', 'RS384', 'ES256', 'RS256'];
/** Allowed clock difference when checking `exp` and `nbf`. */
export const CLOCK_SKEW_S = 30;
/** Lifetime of access tokens issued by the embedded authorization server. */
export const TOKEN_LIFETIME_S = 300;

type Db = { query(sql: string, params?: unknown[]): Promise<unknown> };

/** The embedded authorization server's signing key (ES384), created once and shared by every worker. */
export interface SigningKey {
  kid: string;
  privateKey: webcrypto.CryptoKey;
  /** The public JWKS served at /auth/jwks. */
  jwks: { keys: JWK[] };
}

export async function loadSigningKey(db: Db): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair('ES384', { extractable: true });
  const fresh = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'ES384' };
  await db.query(
    'INSERT INTO security_key (kid, private_jwk) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM security_key)',
    [fresh.kid, JSON.stringify(fresh)],
  );
  const [row] = await rows<{ private_jwk: string }>(
    db,
    'SELECT private_jwk FROM security_key ORDER BY created LIMIT 1',
  );
  const jwk = JSON.parse(row?.private_jwk ?? JSON.stringify(fresh)) as JWK;
  const { d: _d, ...pub } = jwk;
  return {
    kid: jwk.kid as string,
    privateKey: (await importJWK(jwk, 'ES384')) as webcrypto.CryptoKey,
    jwks: { keys: [{ ...pub, use: 'sig' }] },
  };
}

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
}

export async function issueAccessToken(
  key: SigningKey,
  claims: { issuer: string; audience: string; clientId: string; scope: string; party?: string },
): Promise<IssuedToken> {
  const accessToken = await new SignJWT({
    scope: claims.scope,
    client_id: claims.clientId,
    ...(claims.party ? { tyokyky_party: claims.party } : {}),
  })
    .setProtectedHeader({ alg: 'ES384', kid: key.kid, typ: 'at+jwt' })
    .setIssuer(claims.issuer)
    .setAudience(claims.audience)
    .setSubject(claims.clientId)
    .setIssuedAt()
    .setExpirationTime(`${TOKEN_LIFETIME_S}s`)
    .setJti(randomUUID())
    .sign(key.privateKey);
  return { accessToken, expiresIn: TOKEN_LIFETIME_S };
}

/** Verifies bearer tokens: signature by a key of the issuer's JWKS, `iss`, `aud`, `exp`/`nbf`. */
export interface TokenVerifier {
  verify(token: string): Promise<JWTPayload>;
}

/** Verified tokens kept (by their exact text, signature included) until they expire. */
const VERIFIED_CACHE = 10_000;

/**
 * Checks signature (a key of the issuer's JWKS), `iss`, `aud` and `exp`/`nbf` with jose. A token
 * whose exact text (signature included) verified before is not verified again while it is unexpired:
 * the signature check is the costly part, and the same bytes cannot verify differently; its expiry is
 * checked on every request.
 */
export function createVerifier(opts: {
  issuer: () => string;
  audience: () => string;
  keys: JWTVerifyGetKey;
}): TokenVerifier {
  const verified = new Map<string, JWTPayload>();
  return {
    async verify(token) {
      const known = verified.get(token);
      if (known && (known.exp as number) - CLOCK_SKEW_S > Date.now() / 1000) return known;
      const { payload } = await jwtVerify(token, opts.keys, {
        issuer: opts.issuer(),
        audience: opts.audience(),
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_SKEW_S,
        requiredClaims: ['exp', 'sub'],
      });
      if (verified.size >= VERIFIED_CACHE) verified.clear();
      verified.set(token, payload);
      return payload;
    },
  };
}

export function localKeys(key: SigningKey): JWTVerifyGetKey {
  return createLocalJWKSet(key.jwks);
}

export function remoteKeys(jwksUrl: string): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(jwksUrl), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000 });
}
