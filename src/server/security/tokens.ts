import {
  type JsonWebKey,
  KeyObject,
  createPublicKey,
  createSecretKey,
  randomUUID,
  type webcrypto,
} from 'node:crypto';
import {
  type JWK,
  type JWSHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
  SignJWT,
  createRemoteJWKSet,
  errors,
  exportJWK,
  generateSecret,
} from 'jose';
import jwt, { type Algorithm, type JwtPayload } from 'jsonwebtoken';
import { rows } from './schema.ts';

/**
 * Algorithms accepted on an external IdP's access tokens and on client assertions (asymmetric only:
 * no `none`, no HS*), and advertised as such (`token_endpoint_auth_signing_alg_values_supported`).
 * The embedded server's own tokens are checked against its stored keys' algorithms.
 */
export const ALGORITHMS = ['ES384', 'RS384', 'ES256', 'RS256'];
/** Allowed clock difference when checking `exp` and `nbf`. */
export const CLOCK_SKEW_S = 30;
/** Lifetime of access tokens issued by the embedded authorization server. */
export const TOKEN_LIFETIME_S = 300;

type Db = { query(sql: string, params?: unknown[]): Promise<unknown> };

/**
 * The embedded authorization server's access-token algorithm. Its tokens have one audience, this
 * facade's own FHIR base, and only this facade verifies them; so they carry an HMAC under a 256-bit
 * secret kept in the store (as the private key of an asymmetric pair would be), and no third party
 * needs a public key. Every request verifies its token: HMAC-SHA-256 costs about 7 µs per token
 * where an RSA-3072 signature costs about 45 µs and ECDSA P-384 500+ µs, on one core here.
 * Tokens from an external IdP and client assertions stay asymmetric (`ALGORITHMS`).
 */
export const ACCESS_TOKEN_ALG = 'HS256';

/** The embedded authorization server's signing key, created once and shared by every worker. */
export interface SigningKey {
  kid: string;
  secret: KeyObject;
  /**
   * Published at /auth/jwks: the public parts of asymmetric keys earlier versions signed with (so
   * their tokens verify elsewhere until they expire). Never a secret.
   */
  jwks: { keys: JWK[] };
  /** Every stored key by `kid`, as the verifier needs it (tokens signed before a key change verify). */
  keys: KeySource;
  /** The algorithms of the stored keys: what the verifier accepts from this server. */
  algorithms: string[];
}

/** The public members of a stored asymmetric private JWK (RSA or EC), as published. */
function publicJwk(jwk: JWK): JWK {
  const { kty, kid, alg } = jwk;
  const key = kty === 'RSA' ? { n: jwk.n, e: jwk.e } : { crv: jwk.crv, x: jwk.x, y: jwk.y };
  return { kty, ...key, kid, alg, use: 'sig' };
}

/** What loading the signing key needs of the store: SQL, and a transaction to hold a lock in. */
export interface KeyDb extends Db {
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
}

const storedKeys = async (db: Db) =>
  (await rows<{ private_jwk: string }>(db, 'SELECT private_jwk FROM security_key ORDER BY created, kid')).map(
    (r) => JSON.parse(r.private_jwk) as JWK,
  );

/**
 * The signing key: the oldest stored key of `ACCESS_TOKEN_ALG`, made and stored when there is none.
 * Workers of a pool start together: the look and the insert run under one advisory lock, so one
 * makes the key and the others find it (without the lock each could store its own and sign with it).
 */
export async function loadSigningKey(db: KeyDb): Promise<SigningKey> {
  const keys = await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['tyokyky_security_key']);
    const found = await storedKeys(tx);
    if (found.some((k) => k.alg === ACCESS_TOKEN_ALG)) return found;
    const secret = await generateSecret(ACCESS_TOKEN_ALG, { extractable: true });
    const fresh = { ...(await exportJWK(secret)), kid: randomUUID(), alg: ACCESS_TOKEN_ALG };
    await tx.query('INSERT INTO security_key (kid, private_jwk) VALUES ($1, $2)', [
      fresh.kid,
      JSON.stringify(fresh),
    ]);
    return storedKeys(tx);
  });
  const jwk = keys.find((k) => k.alg === ACCESS_TOKEN_ALG) as JWK;
  return {
    kid: jwk.kid as string,
    secret: createSecretKey(Buffer.from(jwk.k as string, 'base64url')),
    jwks: { keys: keys.filter((k) => k.kty !== 'oct').map(publicJwk) },
    keys: localKeys(keys),
    algorithms: [...new Set(keys.map((k) => k.alg as string))],
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
    .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, kid: key.kid, typ: 'at+jwt' })
    .setIssuer(claims.issuer)
    .setAudience(claims.audience)
    .setSubject(claims.clientId)
    .setIssuedAt()
    .setExpirationTime(`${TOKEN_LIFETIME_S}s`)
    .setJti(randomUUID())
    .sign(key.secret);
  return { accessToken, expiresIn: TOKEN_LIFETIME_S };
}

/** Verifies bearer tokens: signature by a key of the issuer's JWKS, `iss`, `aud`, `exp`/`nbf`. */
export interface TokenVerifier {
  verify(token: string): Promise<JWTPayload>;
}

/**
 * The key for a token's protected header (its `kid` and `alg`): a public key, or the embedded
 * server's own secret; throws when there is none.
 */
export type KeySource = (header: JWSHeaderParameters) => KeyObject | Promise<KeyObject>;

/** Why a token was refused: `code` names the failed check (never the token or its claims). */
export class TokenRejected extends Error {
  constructor(readonly code: string) {
    super(`access token rejected: ${code}`);
  }
}

/**
 * Verifies every token it is given, keeping no verdict: the signature (jsonwebtoken over node:crypto,
 * synchronous: WebCrypto's verify goes through the libuv thread pool, which under load cost more
 * than the signature check itself), the algorithm (an accepted one, the key's own), `iss`,
 * `aud`, `exp`/`nbf` with `CLOCK_SKEW_S`, and that `exp` and `sub` are there.
 */
export function createVerifier(opts: {
  issuer: () => string;
  audience: () => string;
  keys: KeySource;
  /** Accepted algorithms (default `ALGORITHMS`); each key is still used with its own algorithm only. */
  algorithms?: readonly string[];
}): TokenVerifier {
  const algorithms = [...(opts.algorithms ?? ALGORITHMS)] as Algorithm[];
  return {
    async verify(token) {
      const header = protectedHeader(token);
      // RFC 7515 §4.1.11: a recipient must refuse critical header parameters it does not understand;
      // we understand none (jsonwebtoken does not look at `crit`, jose would refuse it likewise).
      if (header.crit !== undefined) throw new TokenRejected('ERR_JOSE_NOT_SUPPORTED');
      const found = opts.keys(header);
      const key = found instanceof KeyObject ? found : await found;
      let claims: string | JwtPayload;
      try {
        claims = jwt.verify(token, key, {
          algorithms,
          issuer: opts.issuer(),
          audience: opts.audience(),
          clockTolerance: CLOCK_SKEW_S,
        });
      } catch (err) {
        throw new TokenRejected(rejectionCode(err as Error));
      }
      if (typeof claims !== 'object' || typeof claims.exp !== 'number' || typeof claims.sub !== 'string')
        throw new TokenRejected('ERR_JWT_CLAIM_VALIDATION_FAILED');
      return claims as JWTPayload;
    },
  };
}

/**
 * The protected header of a compact JWS, read only to find the key (jsonwebtoken checks the
 * algorithm against the accepted ones and the key's type again while it verifies).
 */
function protectedHeader(token: string): JWSHeaderParameters {
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString());
    if (header && typeof header === 'object' && !Array.isArray(header)) return header;
  } catch {}
  throw new TokenRejected('ERR_JWS_INVALID');
}

/** jsonwebtoken's failure as the code jose gives the same failure (what a 401 names, nothing more). */
function rejectionCode(err: Error): string {
  if (err.name === 'TokenExpiredError') return 'ERR_JWT_EXPIRED';
  if (err.name === 'NotBeforeError' || /^jwt (issuer|audience) invalid/.test(err.message))
    return 'ERR_JWT_CLAIM_VALIDATION_FAILED';
  if (err.message === 'invalid signature') return 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED';
  if (err.message === 'invalid algorithm') return 'ERR_JOSE_ALG_NOT_ALLOWED';
  return 'ERR_JWT_INVALID';
}

const noKey = () => new errors.JWKSNoMatchingKey();

/**
 * The embedded server's stored keys by `kid`, each imported once (a secret as a secret, a private
 * JWK by its public part): a token naming an unknown `kid`, or an algorithm other than its key's,
 * finds no key, so a public key can never serve as an HMAC secret.
 */
function localKeys(stored: JWK[]): KeySource {
  const byKid = new Map(
    stored.map((k) => [
      k.kid,
      {
        alg: k.alg,
        key:
          k.kty === 'oct'
            ? createSecretKey(Buffer.from(k.k as string, 'base64url'))
            : createPublicKey({ key: publicJwk(k) as JsonWebKey, format: 'jwk' }),
      },
    ]),
  );
  return (header) => {
    const found = header.kid === undefined ? undefined : byKid.get(header.kid);
    if (!found || found.alg !== header.alg) throw noKey();
    return found.key;
  };
}

/** An external IdP's keys: jose fetches and caches its JWKS; each key is converted once. */
export function remoteKeySource(getKey: JWTVerifyGetKey): KeySource {
  const converted = new WeakMap<object, KeyObject>();
  return async (header) => {
    const crypto = (await getKey(
      header as Parameters<JWTVerifyGetKey>[0],
      undefined as never,
    )) as webcrypto.CryptoKey;
    let key = converted.get(crypto);
    if (!key) {
      key = KeyObject.from(crypto);
      converted.set(crypto, key);
    }
    return key;
  };
}

export function remoteKeys(jwksUrl: string): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(jwksUrl), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000 });
}
