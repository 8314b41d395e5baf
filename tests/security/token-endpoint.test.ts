// The embedded token endpoint's strictness (RFC 6749, RFC 7521, SMART Backend Services): a parameter
// given twice is refused, never read as "no scope asked" (which would grant every registered scope);
// `client_id` must name the assertion's issuer; an assertion names its key (`kid`); the discovery
// document advertises exactly the algorithms accepted; token answers are not cached.
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addClient } from '../../src/server/security/index.ts';
import { ALGORITHMS } from '../../src/server/security/tokens.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import {
  type ClientKey,
  type Secured,
  acceptingValidator,
  assertion,
  clientKey,
  startSecured,
} from './helpers.ts';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const REGISTERED = 'system/Observation.rs tyokyky/turvakielto.read';

let store: Store;
let s: Secured;
let key: ClientKey;

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  s = await startSecured(store, acceptingValidator);
  key = await clientKey();
  await addClient(store as never, { id: 'strict', scope: REGISTERED, jwks: key.jwks });
}, 60_000);

afterAll(async () => {
  await s?.running.close();
  await store?.close();
});

const tokenUrl = () => `${s.url}/auth/token`;

/** POSTs the form as given (a name may repeat). */
async function post(pairs: [string, string][]): Promise<{ res: Response; body: Record<string, unknown> }> {
  const res = await fetch(tokenUrl(), { method: 'POST', body: new URLSearchParams(pairs) });
  return { res, body: (await res.json()) as Record<string, unknown> };
}

async function form(extra: [string, string][] = [], clientAssertion?: string): Promise<[string, string][]> {
  return [
    ['grant_type', 'client_credentials'],
    ['client_assertion_type', ASSERTION_TYPE],
    ['client_assertion', clientAssertion ?? (await assertion('strict', key, tokenUrl()))],
    ...extra,
  ];
}

describe('a token-request parameter given more than once', () => {
  it('refuses a repeated scope (invalid_request), never granting every registered scope', async () => {
    const { res, body } = await post(
      await form([
        ['scope', 'system/Observation.r'],
        ['scope', 'system/Observation.s'],
      ]),
    );
    expect(res.status).toBe(400);
    expect(body).toEqual({ error: 'invalid_request', error_description: expect.stringMatching(/^scope /) });
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('refuses a repeated scope naming a scope outside the registration', async () => {
    const { res, body } = await post(
      await form([
        ['scope', 'system/Observation.r'],
        ['scope', 'system/Patient.r'],
      ]),
    );
    expect(res.status).toBe(400);
    expect(body.error).toBe('invalid_request');
  });

  it('refuses any other repeated parameter (invalid_request naming it)', async () => {
    const one = await form();
    for (const name of ['grant_type', 'client_assertion_type', 'client_assertion', 'client_id']) {
      const pairs: [string, string][] =
        name === 'client_id'
          ? [...one, ['client_id', 'strict'], ['client_id', 'strict']]
          : [...one, [name, (one.find(([n]) => n === name) as [string, string])[1]]];
      const { res, body } = await post(pairs);
      expect(res.status, name).toBe(400);
      expect(body, name).toEqual({
        error: 'invalid_request',
        error_description: expect.stringContaining(name),
      });
    }
  });

  it('grants the registered scopes when scope is absent, and only what is asked when it is given once', async () => {
    const absent = await post(await form());
    expect(absent.res.status).toBe(200);
    expect(absent.body.scope).toBe(REGISTERED);
    const once = await post(await form([['scope', 'system/Observation.r']]));
    expect(once.res.status).toBe(200);
    expect(once.body.scope).toBe('system/Observation.r');
  });
});

describe('the client assertion', () => {
  it('refuses a client_id that is not the assertion issuer (invalid_client), and takes one that is', async () => {
    const other = await post(await form([['client_id', 'someone-else']]));
    expect(other.res.status).toBe(401);
    expect(other.body.error).toBe('invalid_client');
    const same = await post(await form([['client_id', 'strict']]));
    expect(same.res.status).toBe(200);
  });

  it('refuses an assertion whose header names no key (kid), signed by a registered key', async () => {
    const noKid = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES384' })
      .setIssuer('strict')
      .setSubject('strict')
      .setAudience(tokenUrl())
      .setJti(crypto.randomUUID())
      .setExpirationTime('4m')
      .sign(key.privateKey);
    const { res, body } = await post(await form([], noKid));
    expect(res.status).toBe(401);
    expect(body).toEqual({ error: 'invalid_client', error_description: expect.stringContaining('kid') });
  });
});

describe('what the token endpoint answers', () => {
  it('advertises exactly the assertion algorithms it accepts', async () => {
    const conf = (await (await fetch(`${s.url}/.well-known/smart-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(conf.token_endpoint_auth_signing_alg_values_supported).toEqual([...ALGORITHMS]);
  });

  it('sends a token with Cache-Control: no-store and Pragma: no-cache', async () => {
    const { res } = await post(await form());
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('pragma')).toBe('no-cache');
  });

  it('answers an oversized or non-form body in the RFC 6749 error shape', async () => {
    const big = await fetch(tokenUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `scope=${'a'.repeat(70_000)}`,
    });
    expect(big.status).toBe(413);
    expect(Object.keys((await big.json()) as object).sort()).toEqual(['error', 'error_description']);
    const latin = await fetch(tokenUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=koi8-r' },
      body: 'grant_type=client_credentials',
    });
    expect(latin.status).toBe(415);
    expect(((await latin.json()) as { error?: string }).error).toBe('invalid_request');
  });
});
