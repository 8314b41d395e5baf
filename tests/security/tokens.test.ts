// The embedded authorization server's access tokens and their verifier: tokens are HS256 under a
// stored secret that is never published (only this facade verifies them), keys of other algorithms
// stored earlier still verify their own tokens and nothing else, and every call verifies the token
// anew (no verdict is kept by token text), so a token is judged by the issuer, audience and keys of
// the moment.
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { type JWK, SignJWT, exportJWK, generateKeyPair, generateSecret, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECURITY_MIGRATION, SECURITY_STATEMENTS } from '../../src/server/security/index.ts';
import {
  ACCESS_TOKEN_ALG,
  type SigningKey,
  TokenRejected,
  createVerifier,
  issueAccessToken,
  loadSigningKey,
} from '../../src/server/security/tokens.ts';
import { type Store, openStore } from '../../src/store/index.ts';

const ISSUER = 'http://facade.test/auth';
const AUDIENCE = 'http://facade.test/fhir';

describe('access tokens of the embedded server', () => {
  let store: Store;
  let key: SigningKey;
  let audience = AUDIENCE;
  const verifier = () =>
    createVerifier({
      issuer: () => ISSUER,
      audience: () => audience,
      keys: key.keys,
      algorithms: key.algorithms,
    });
  const issue = async () =>
    (
      await issueAccessToken(key, {
        issuer: ISSUER,
        audience: AUDIENCE,
        clientId: 'c1',
        scope: 'system/*.rs',
      })
    ).accessToken;
  const rejection = (p: Promise<unknown>) =>
    p.then(
      () => 'accepted',
      (err: unknown) => (err instanceof TokenRejected ? err.code : (err as { code?: string }).code),
    );

  beforeAll(async () => {
    store = await openStore({ dataDir: 'memory://' });
    await store.migrate(SECURITY_MIGRATION, SECURITY_STATEMENTS);
    key = await loadSigningKey(store);
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });

  it('signs HS256 with one stored 256-bit secret, publishes nothing of it, and keeps it across loads', async () => {
    const token = await issue();
    const header = JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString());
    expect(header).toEqual({ alg: ACCESS_TOKEN_ALG, kid: key.kid, typ: 'at+jwt' });
    expect(ACCESS_TOKEN_ALG).toBe('HS256');
    expect(key.secret.symmetricKeySize).toBe(32);
    expect(key.jwks.keys).toEqual([]);
    expect(key.algorithms).toEqual(['HS256']);
    expect((await loadSigningKey(store)).kid).toBe(key.kid);
  });

  it('verifies the same token again on every call: a changed audience refuses a token accepted before', async () => {
    const token = await issue();
    const v = verifier();
    expect((await v.verify(token)).client_id).toBe('c1');
    audience = 'http://elsewhere.test/fhir';
    try {
      expect(await rejection(v.verify(token))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    } finally {
      audience = AUDIENCE;
    }
    expect((await v.verify(token)).sub).toBe('c1');
  });

  it.each([
    ['expired', { exp: Math.floor(Date.now() / 1000) - 120 }, 'ERR_JWT_EXPIRED'],
    ['not yet valid', { nbf: Math.floor(Date.now() / 1000) + 120 }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['wrong issuer', { iss: 'http://evil.test/auth' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['without sub', { sub: undefined }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
  ])('refuses a token signed with the real key but %s', async (_name, change, code) => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'c1', exp: now + 300, ...change };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, kid: key.kid })
      .sign(key.secret);
    expect(await rejection(verifier().verify(token))).toBe(code);
  });

  it('refuses a MAC by another secret under the real kid, the real kid under another algorithm, and garbage', async () => {
    const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'c1', exp: Math.floor(Date.now() / 1000) + 300 };
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, kid: key.kid })
      .sign(await generateSecret(ACCESS_TOKEN_ALG));
    expect(await rejection(verifier().verify(forged))).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    // The real secret under HS384: the kid's key is HS256 only.
    const hs384 = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS384', kid: key.kid })
      .sign(key.secret);
    expect(await rejection(verifier().verify(hs384))).toBe('ERR_JWKS_NO_MATCHING_KEY');
    const ec = await generateKeyPair('ES384');
    const wrongAlg = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES384', kid: key.kid })
      .sign(ec.privateKey);
    expect(await rejection(verifier().verify(wrongAlg))).toBe('ERR_JWKS_NO_MATCHING_KEY');
    expect(await rejection(verifier().verify('not.a-token'))).toBe('ERR_JWS_INVALID');
  });

  it('never accepts an HMAC where a public key is expected (the verifier of an external IdP)', async () => {
    const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'c1', exp: Math.floor(Date.now() / 1000) + 300 };
    const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'k' }).sign(key.secret);
    // Even a key source that hands over the right secret: HS* is not among the accepted algorithms.
    const external = createVerifier({
      issuer: () => ISSUER,
      audience: () => AUDIENCE,
      keys: () => key.secret,
    });
    expect(await rejection(external.verify(token))).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it('refuses a token with critical header parameters, even when signed with the real key', async () => {
    const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'c1', exp: Math.floor(Date.now() / 1000) + 300 };
    // jose refuses to sign a critical parameter it does not know, so this JWS is signed with node:crypto.
    const head = Buffer.from(
      JSON.stringify({ alg: ACCESS_TOKEN_ALG, kid: key.kid, crit: ['urn:example:must-understand'] }),
    ).toString('base64url');
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const signature = createHmac('sha256', key.secret).update(`${head}.${body}`).digest('base64url');
    const forged = `${head}.${body}.${signature}`;
    expect(await rejection(verifier().verify(forged))).toBe('ERR_JOSE_NOT_SUPPORTED');
  });

  it('keeps verifying (and publishing) an older RS384 key while signing with the secret; its public key is no HMAC secret', async () => {
    const older = await openStore({ dataDir: 'memory://' });
    try {
      await older.migrate(SECURITY_MIGRATION, SECURITY_STATEMENTS);
      const { privateKey } = await generateKeyPair('RS384', { extractable: true });
      const rs = { ...(await exportJWK(privateKey)), kid: 'older-rs384', alg: 'RS384' };
      await older.query('INSERT INTO security_key (kid, private_jwk) VALUES ($1, $2)', [
        rs.kid,
        JSON.stringify(rs),
      ]);
      const loaded = await loadSigningKey(older);
      expect(loaded.kid).not.toBe('older-rs384');
      // Both keys may carry the same `created` instant; the set matters, not its order.
      expect([...loaded.algorithms].sort()).toEqual(['HS256', 'RS384']);
      expect(loaded.jwks.keys).toHaveLength(1);
      expect(Object.keys(loaded.jwks.keys[0] as JWK).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
      const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'c1', exp: Math.floor(Date.now() / 1000) + 300 };
      const v = createVerifier({
        issuer: () => ISSUER,
        audience: () => AUDIENCE,
        keys: loaded.keys,
        algorithms: loaded.algorithms,
      });
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS384', kid: rs.kid })
        .sign(await importJWK(rs, 'RS384'));
      expect((await v.verify(token)).sub).toBe('c1');
      // The classic confusion: an HMAC keyed with the published public key, under its kid.
      const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
      for (const alg of ['HS256', 'HS384']) {
        const head = Buffer.from(JSON.stringify({ alg, kid: rs.kid })).toString('base64url');
        const mac = createHmac(`sha${alg.slice(2)}`, JSON.stringify(loaded.jwks.keys[0]))
          .update(`${head}.${body}`)
          .digest('base64url');
        expect(await rejection(v.verify(`${head}.${body}.${mac}`))).toBe('ERR_JWKS_NO_MATCHING_KEY');
      }
      // A secret that is not the stored one, under the current kid.
      const wrong = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid: loaded.kid })
        .sign(createSecretKey(randomBytes(32)));
      expect(await rejection(v.verify(wrong))).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    } finally {
      await older.close();
    }
  });
});
