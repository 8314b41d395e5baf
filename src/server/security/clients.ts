import {
  type JWK,
  type JWTVerifyGetKey,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  jwtVerify,
} from 'jose';
import { CONSENT_PARTIES } from '../../domain/index.ts';
import { checkHttpUrl } from '../../shared/http-url.ts';
import { isSupportedType } from '../resource-types.ts';
import { auditRefusalText } from './admit.ts';
import { rows } from './schema.ts';
import { OWN_SCOPES, parseScope } from './scopes.ts';
import { ALGORITHMS, CLOCK_SKEW_S, remoteKeys } from './tokens.ts';

type Db = { query(sql: string, params?: unknown[]): Promise<unknown> };

/** A client registered for SMART Backend Services (`tyokyky clients add`). */
export interface RegisteredClient {
  id: string;
  /** Space-separated scopes it may request. */
  scope: string;
  /** consent-party code when the client is a receiving party (its reads follow the clients' consents). */
  party?: string;
  /** Its public keys, inline … */
  jwks?: { keys: JWK[] };
  /** … or where to fetch them. */
  jwksUrl?: string;
}

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Rejects (one line naming what is wrong) when `client` cannot be registered: its id, its keys (exactly
 * one of a JWKS whose every key jose imports as a public signature-verification key of an algorithm
 * assertions are checked with, or an absolute http(s) JWKS URL without credentials), scopes this
 * server can grant, a consent party, and no audit-log scope for a party. `addClient` applies it; the
 * CLI calls it before opening a store.
 */
export async function checkClient(client: RegisteredClient): Promise<void> {
  if (!CLIENT_ID.test(client.id))
    throw new Error(`client id "${client.id}" must be 1-128 of A-Z a-z 0-9 . _ : -`);
  if ((client.jwks === undefined) === (client.jwksUrl === undefined))
    throw new Error('give exactly one of a JWKS (file) or a JWKS URL');
  if (client.jwksUrl !== undefined) checkHttpUrl(client.jwksUrl, 'the JWKS URL');
  if (client.jwks !== undefined) await checkJwks(client.jwks);
  for (const token of client.scope.split(/\s+/).filter(Boolean)) {
    const why = scopeProblem(token);
    if (why) throw new Error(`scope "${token}" ${why}`);
  }
  if (client.party !== undefined && !(CONSENT_PARTIES as readonly string[]).includes(client.party))
    throw new Error(`party "${client.party}" is not a consent party (${CONSENT_PARTIES.join(', ')})`);
  // A party is refused the audit log whatever its scopes (admit.ts): no registration suggests otherwise.
  const audit = client.party && client.scope.split(/\s+/).find((t) => parseScope(t)?.type === 'AuditEvent');
  if (client.party && audit) throw new Error(`scope "${audit}": ${auditRefusalText(client.party)}`);
}

export async function addClient(db: Db, client: RegisteredClient): Promise<void> {
  await checkClient(client);
  await db.query(
    `INSERT INTO security_client (id, scope, party, jwks, jwks_url) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO UPDATE SET scope = $2, party = $3, jwks = $4, jwks_url = $5`,
    [
      client.id,
      client.scope,
      client.party ?? null,
      client.jwks ? JSON.stringify(client.jwks) : null,
      client.jwksUrl ?? null,
    ],
  );
}

/** The algorithm a key without `alg` verifies with, by its type and curve. */
const DEFAULT_ALG: Record<string, string> = { RSA: 'RS384', 'P-256': 'ES256', 'P-384': 'ES384' };

/**
 * A registered JWKS: an object with a non-empty `keys` array of public keys, each with a kid (an
 * assertion must name its key: claimedClient), and each imported by jose as a public key of one of
 * `ALGORITHMS` for signatures: a key no assertion could be checked with is refused now, naming its
 * place and kid, not when the client first asks for a token.
 */
async function checkJwks(jwks: unknown): Promise<void> {
  const keys = (jwks as { keys?: unknown })?.keys;
  if (!jwks || typeof jwks !== 'object' || Array.isArray(jwks) || !Array.isArray(keys))
    throw new Error('the JWKS must be a JSON object with a "keys" array');
  if (!keys.length) throw new Error('the JWKS has no keys');
  keys.forEach((k, i) => {
    if (!k || typeof k !== 'object' || Array.isArray(k))
      throw new Error(`key ${i} of the JWKS is not a JSON object`);
  });
  const jwkList = keys as JWK[];
  if (jwkList.some((k) => 'd' in k || k.kty === 'oct'))
    throw new Error('the JWKS must hold public keys only (no private or symmetric keys)');
  if (jwkList.some((k) => typeof k.kid !== 'string' || !k.kid))
    throw new Error('every key of the JWKS needs a kid (SMART Backend Services: assertions name their key)');
  for (const [i, k] of jwkList.entries()) {
    const why = await keyProblem(k);
    if (why)
      throw new Error(
        `key ${i} (kid ${JSON.stringify(k.kid)}) of the JWKS is not a usable public signature key: ${why}`,
      );
  }
}

/** Why jose cannot verify an assertion with `k`, or undefined; names parameters, never their values. */
async function keyProblem(k: JWK): Promise<string | undefined> {
  if (k.use !== undefined && k.use !== 'sig') return '"use" must be "sig"';
  const alg = k.alg ?? DEFAULT_ALG[k.kty === 'EC' ? (k.crv ?? '') : (k.kty ?? '')];
  if (!alg || !ALGORITHMS.includes(alg))
    return `"alg" must be one of ${ALGORITHMS.join(', ')} (or "kty" RSA, or EC with "crv" P-256 or P-384)`;
  try {
    const imported = (await importJWK(k, alg)) as { type?: string; algorithm?: { modulusLength?: number } };
    if (imported.type !== 'public') return 'not a public key';
    // jose verifies RS* only with a modulus of 2048 bits or more (and imports shorter ones).
    if ((imported.algorithm?.modulusLength ?? 2048) < 2048) return '"n": an RSA key needs 2048 bits or more';
  } catch (err) {
    // jose's messages name the parameter at fault ("kty", "crv"), never its value.
    return (err as Error).message;
  }
  return undefined;
}

/**
 * Why a registered scope would grant nothing (a typo stays unnoticed until a call is refused), or
 * undefined. A client may be registered only for what this server can grant.
 */
function scopeProblem(token: string): string | undefined {
  if (OWN_SCOPES.includes(token)) return undefined;
  const scope = parseScope(token);
  if (!scope)
    return `grants nothing here: use system/<Type or *>.<cruds> (SMART v2), .read/.write (v1) or ${OWN_SCOPES.join(' or ')}`;
  if (scope.type !== '*' && scope.type !== 'AuditEvent' && !isSupportedType(scope.type))
    return `names ${scope.type}, a type this server does not hold`;
  return undefined;
}

interface ClientRow {
  id: string;
  scope: string;
  party: string | null;
  jwks: string | null;
  jwks_url: string | null;
}

const fromRow = (r: ClientRow): RegisteredClient => ({
  id: r.id,
  scope: r.scope,
  ...(r.party ? { party: r.party } : {}),
  ...(r.jwks ? { jwks: JSON.parse(r.jwks) } : {}),
  ...(r.jwks_url ? { jwksUrl: r.jwks_url } : {}),
});

export async function listClients(db: Db): Promise<RegisteredClient[]> {
  return (
    await rows<ClientRow>(db, 'SELECT id, scope, party, jwks, jwks_url FROM security_client ORDER BY id')
  ).map(fromRow);
}

export async function getClient(db: Db, id: string): Promise<RegisteredClient | undefined> {
  const [row] = await rows<ClientRow>(
    db,
    'SELECT id, scope, party, jwks, jwks_url FROM security_client WHERE id = $1',
    [id],
  );
  return row ? fromRow(row) : undefined;
}

export async function removeClient(db: Db, id: string): Promise<boolean> {
  const gone = await rows<{ id: string }>(db, 'DELETE FROM security_client WHERE id = $1 RETURNING id', [id]);
  return gone.length > 0;
}

/** Why a client assertion was refused (the token endpoint answers `invalid_client`). */
export class AssertionError extends Error {}

/**
 * One answer for an unknown client and for a signature no registered key of the client verifies, so
 * that someone without a client's key cannot tell which client ids are registered.
 */
export const ASSERTION_NOT_VERIFIED =
  'client assertion not verified: unknown client, or no key registered for it verifies the signature';

/** jose's codes for an assertion whose signature verified but whose claims did not hold. */
const CLAIM_FAILURES = new Set(['ERR_JWT_CLAIM_VALIDATION_FAILED', 'ERR_JWT_EXPIRED']);

const remoteSets = new Map<string, JWTVerifyGetKey>();

function keysOf(client: RegisteredClient): JWTVerifyGetKey {
  if (client.jwks) return createLocalJWKSet(client.jwks);
  const url = client.jwksUrl as string;
  let set = remoteSets.get(url);
  if (!set) {
    set = remoteKeys(url);
    remoteSets.set(url, set);
  }
  return set;
}

/** Longest lifetime accepted for a client assertion (SMART: at most five minutes). */
const MAX_ASSERTION_S = 300;

/**
 * The client an assertion claims to be (its `iss`), read before it is verified: the assertion must be
 * a JWT whose header names its key (`kid`, SMART Backend Services), and a `client_id` sent beside it
 * must name the same client (RFC 7521 §4.2).
 */
function claimedClient(assertion: string, clientId: string | undefined): string | undefined {
  let claimed: string | undefined;
  let kid: unknown;
  try {
    claimed = decodeJwt(assertion).iss;
    kid = decodeProtectedHeader(assertion).kid;
  } catch {
    throw new AssertionError('client_assertion is not a JWT');
  }
  if (typeof kid !== 'string' || !kid)
    throw new AssertionError(
      'client assertion header names no key (kid), as SMART Backend Services requires',
    );
  if (clientId !== undefined && clientId !== claimed)
    throw new AssertionError('client_id is not the client assertion issuer (iss)');
  return claimed;
}

/**
 * Verifies a SMART Backend Services client assertion: its header names its key (`kid`), signed by one
 * of the client's registered keys, `iss` = `sub` = client id (= `clientId` when the request names
 * one), `aud` = our token endpoint, unexpired and short-lived, and a `jti` never seen before (kept
 * until the assertion expires, in the database so every worker sees it).
 */
export async function verifyClientAssertion(
  db: Db,
  assertion: string,
  tokenUrl: string,
  clientId?: string,
): Promise<RegisteredClient> {
  const claimed = claimedClient(assertion, clientId);
  const client = claimed ? await getClient(db, claimed) : undefined;
  if (!client) throw new AssertionError(ASSERTION_NOT_VERIFIED);
  let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
  try {
    ({ payload } = await jwtVerify(assertion, keysOf(client), {
      issuer: client.id,
      subject: client.id,
      audience: tokenUrl,
      algorithms: ALGORITHMS,
      clockTolerance: CLOCK_SKEW_S,
      requiredClaims: ['exp', 'jti'],
    }));
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (!code || !CLAIM_FAILURES.has(code)) throw new AssertionError(ASSERTION_NOT_VERIFIED);
    throw new AssertionError(`client assertion rejected: ${code}`);
  }
  const now = Math.floor(Date.now() / 1000);
  if ((payload.exp as number) - now > MAX_ASSERTION_S + CLOCK_SKEW_S) {
    throw new AssertionError('client assertion lives longer than five minutes');
  }
  // By our clock, which judged the assertions unexpired: by the database's, when ahead of ours, a jti
  // would go while its assertion still passes, and the assertion could be replayed.
  await db.query('DELETE FROM security_jti WHERE expires < to_timestamp($1)', [now]);
  const fresh = await rows<{ jti: string }>(
    db,
    `INSERT INTO security_jti (jti, client, expires) VALUES ($1, $2, to_timestamp($3))
     ON CONFLICT (jti) DO NOTHING RETURNING jti`,
    [`${client.id} ${payload.jti}`, client.id, (payload.exp as number) + CLOCK_SKEW_S],
  );
  if (!fresh.length) throw new AssertionError('client assertion jti was already used');
  return client;
}
