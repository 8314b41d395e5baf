// `auth: external`: tokens of an outside IdP (Keycloak, Azure AD…), verified against its JWKS URL.
// The IdP here is a real local HTTP server serving a JWKS of keys generated in the test.
import { randomUUID, type webcrypto } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/server/index.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { acceptingValidator } from './helpers.ts';

const ISSUER = 'https://idp.example/realms/tyokyky';
const validator = acceptingValidator;

describe('external IdP by issuer and JWKS URL', () => {
  let store: Store;
  let idp: Server;
  let jwksUrl: string;
  let jwksFetches = 0;
  let running: RunningServer;
  let key: { kid: string; privateKey: webcrypto.CryptoKey };

  beforeAll(async () => {
    const pair = await generateKeyPair('RS384');
    key = { kid: randomUUID(), privateKey: pair.privateKey as webcrypto.CryptoKey };
    const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: key.kid, alg: 'RS384', use: 'sig' }] };
    idp = createServer((req, res) => {
      if (req.url !== '/protocol/openid-connect/certs') return res.writeHead(404).end();
      jwksFetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/protocol/openid-connect/certs`;
    store = await openStore({ dataDir: 'memory://' });
    running = await startServer({
      store,
      validator: validator as never,
      logger: pino({ level: 'silent' }),
      port: 0,
      auth: {
        mode: 'external',
        issuer: ISSUER,
        jwksUrl,
        tokenUrl: `${ISSUER}/protocol/openid-connect/token`,
      },
    });
  }, 60_000);
  afterAll(async () => {
    await running?.close();
    await store?.close();
    await new Promise((resolve) => idp?.close(resolve));
  });

  const token = (claims: { iss?: string; kid?: string } = {}) =>
    new SignJWT({ scope: 'system/Patient.rs system/AuditEvent.rs', client_id: 'ext-client' })
      .setProtectedHeader({ alg: 'RS384', kid: claims.kid ?? key.kid, typ: 'at+jwt' })
      .setIssuer(claims.iss ?? ISSUER)
      .setAudience(`${running.url}/fhir`)
      .setSubject('ext-client')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key.privateKey);
  const get = async (path: string, bearer: string) =>
    fetch(`${running.url}/fhir${path}`, { headers: { authorization: `Bearer ${bearer}` } });

  it("accepts the IdP's token, fetching its keys from the JWKS URL, and audits the client", async () => {
    const res = await get('/Patient?_count=1', await token());
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as Bundle).type).toBe('searchset');
    expect(jwksFetches).toBeGreaterThanOrEqual(1);
    const log = (await (
      await get('/AuditEvent?agent=ext-client&entity-type=Patient', await token())
    ).json()) as Bundle;
    expect(log.entry?.length).toBeGreaterThanOrEqual(1);
  });

  it('advertises the IdP, not the embedded server, in the SMART configuration', async () => {
    const conf = (await (await fetch(`${running.url}/.well-known/smart-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(conf.issuer).toBe(ISSUER);
    expect(conf.jwks_uri).toBe(jwksUrl);
    // Clients find the IdP's token endpoint here; the signing algorithms are the IdP's to publish.
    expect(conf.token_endpoint).toBe(`${ISSUER}/protocol/openid-connect/token`);
    expect(conf).not.toHaveProperty('token_endpoint_auth_signing_alg_values_supported');
    expect((await fetch(`${running.url}/auth/token`, { method: 'POST' })).status).not.toBe(200);
  });

  it.each([
    ['a wrong issuer', { iss: 'https://evil.example/realms/tyokyky' }],
    ['a kid the JWKS does not have', { kid: 'not-in-the-jwks' }],
  ])('refuses a token with %s: 401 with WWW-Authenticate', async (_name, claims) => {
    const res = await get('/Patient?_count=1', await token(claims));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="tyokyky-fhir", error="invalid_token"');
    const oo = (await res.json()) as OperationOutcome;
    expect(oo.issue?.[0]?.diagnostics).toMatch(
      /^sec-auth-2: the access token was rejected \(ERR_JW[A-Z_]+\)$/,
    );
  });
});
