// The embedded authorization server's access tokens and their verifier: tokens are RS384 under a
// stored key whose public part alone is published, and every call verifies the token anew (no
// verdict is kept by token text), so a token is judged by the issuer, audience and keys of the moment.
import { KeyObject, createHmac, sign } from 'node:crypto';
import { type JWK, SignJWT, exportJWK, generateKeyPair, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECURITY_MIGRATION, SECURITY_STATEMENTS } from '../../src/server/security/index.ts';
import {
  ACCESS_TOKEN_ALG,
  type SigningKey,
  TokenRejected,
  createVerifier,
  issueAccessToken,
  loadSigningKey,
  localKeys,
} from '../../src/server/security/tokens.ts';
import { type Store, openStore } from '../../src/store/index.ts';

const ISSUER = 'http://facade.test/auth';
const AUDIENCE = 'http://facade.test/fhir';

describe('access tokens of the embedded server', () => {
  let store: Store;
  let key: SigningKey;
  let audience = AUDIENCE;
  const verifier = () =>
    createVerifier({ issuer: () => ISSUER, audience: () => audience, keys: localKeys(key.jwks) });
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

  it('signs RS384 with one stored key, publishes only its public part, and keeps it across loads', async () => {
    const token = await issue();
    const header = JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString());
    expect(header).toEqual({ alg: ACCESS_TOKEN_ALG, kid: key.kid, typ: 'at+jwt' });
    expect(ACCESS_TOKEN_ALG).toBe('RS384');
    expect(key.jwks.keys).toHaveLength(1);
    expect(Object.keys(key.jwks.keys[0] as JWK).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
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
      .sign(key.privateKey);
    expect(await rejection(verifier().verify(token))).toBe(code);
  });

  it('refuses a signature by another key under the real kid, and an HS384 token keyed with the public key', async () => {
    const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'c1', exp: Math.floor(Date.now() / 1000) + 300 };
    const other = await generateKeyPair(ACCESS_TOKEN_ALG);
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, kid: key.kid })
      .sign(other.privateKey);
    expect(await rejection(verifier().verify(forged))).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    // The classic confusion: an HMAC whose secret is the published public key.
    const pub = JSON.stringify(key.jwks.keys[0]);
    const head = Buffer.from(JSON.stringify({ alg: 'HS384', kid: key.kid })).toString('base64url');
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const mac = createHmac('sha384', pub).update(`${head}.${body}`).digest('base64url');
    expect(await rejection(verifier().verify(`${head}.${body}.${mac}`))).toBe('ERR_JWKS_NO_MATCHING_KEY');
    // The real kid with another algorithm than its key's finds no key either.
    const ec = await generateKeyPair('ES384');
    const wrongAlg = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES384', kid: key.kid })
      .sign(ec.privateKey);
    expect(await rejection(verifier().verify(wrongAlg))).toBe('ERR_JWKS_NO_MATCHING_KEY');
    expect(await rejection(verifier().verify('not.a-token'))).toBe('ERR_JWS_INVALID');
  });

  it('refuses a token with critical header parameters, even when signed with the real key', async () => {
    const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'c1', exp: Math.floor(Date.now() / 1000) + 300 };
    // jose refuses to sign a critical parameter it does not know, so this JWS is signed with node:crypto.
    const head = Buffer.from(
      JSON.stringify({ alg: ACCESS_TOKEN_ALG, kid: key.kid, crit: ['urn:example:must-understand'] }),
    ).toString('base64url');
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const signature = sign('sha384', Buffer.from(`${head}.${body}`), KeyObject.from(key.privateKey));
    const forged = `${head}.${body}.${signature.toString('base64url')}`;
    expect(await rejection(verifier().verify(forged))).toBe('ERR_JOSE_NOT_SUPPORTED');
  });

  it('keeps publishing an older stored key (tokens it signed still verify) while signing with the RS384 key', async () => {
    const older = await openStore({ dataDir: 'memory://' });
    try {
      await older.migrate(SECURITY_MIGRATION, SECURITY_STATEMENTS);
      const { privateKey } = await generateKeyPair('ES384', { extractable: true });
      const es = { ...(await exportJWK(privateKey)), kid: 'older-es384', alg: 'ES384' };
      await older.query('INSERT INTO security_key (kid, private_jwk) VALUES ($1, $2)', [
        es.kid,
        JSON.stringify(es),
      ]);
      const loaded = await loadSigningKey(older);
      expect(loaded.kid).not.toBe('older-es384');
      expect(loaded.jwks.keys.map((k) => k.alg)).toEqual(['ES384', 'RS384']);
      expect(loaded.jwks.keys[0]).not.toHaveProperty('d');
      const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'c1', exp: Math.floor(Date.now() / 1000) + 300 };
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES384', kid: es.kid })
        .sign(await importJWK(es, 'ES384'));
      const v = createVerifier({
        issuer: () => ISSUER,
        audience: () => AUDIENCE,
        keys: localKeys(loaded.jwks),
      });
      expect((await v.verify(token)).sub).toBe('c1');
    } finally {
      await older.close();
    }
  });
});
