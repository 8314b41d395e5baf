// The remote client against the Medplum peer: OAuth 2.0 client credentials (bearer on every
// request, refreshed before expiry, re-fetched once on a 401, clear error for bad credentials) and
// Retry-After honoured between retries (through the fault proxy).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirError } from '../../src/shared/outcome.ts';
import { RemoteClient, TokenError, isTransient } from '../../src/sync/index.ts';
import { startFaultProxy } from './helpers/fault-proxy.ts';
import { type MedplumPeer, startMedplumPeer } from './helpers/medplum-peer.ts';

let peer: MedplumPeer;

beforeAll(async () => {
  peer = await startMedplumPeer({ auth: { clientId: 'tyokyky', clientSecret: 's3cret', expiresIn: 2 } });
});
afterAll(async () => {
  await peer.close();
});

function client(secret = 's3cret'): RemoteClient {
  return new RemoteClient({
    baseUrl: peer.url,
    party: 'kela',
    auth: { tokenUrl: peer.tokenUrl, clientId: 'tyokyky', clientSecret: secret, scope: 'system/*.write' },
    retry: { maxAttempts: 1, initialDelayMs: 5 },
  });
}

describe('OAuth 2.0 client credentials', () => {
  it('sends a bearer token, reuses it, and refreshes it before it expires', async () => {
    const c = client();
    const tokensBefore = peer.stats.tokens;
    await c.request('GET', 'metadata');
    await c.request('GET', 'metadata');
    expect(peer.stats.tokens - tokensBefore).toBe(1);
    // expires_in 2 s: refreshed at 80% of the lifetime, so the next request after 1.7 s gets a new one
    await new Promise((r) => setTimeout(r, 1_700));
    await c.request('GET', 'metadata');
    expect(peer.stats.tokens - tokensBefore).toBe(2);
    expect(peer.stats.unauthorized).toBe(0);
  });

  it('fetches a new token once when the server answers 401 (token revoked)', async () => {
    const c = client();
    await c.request('GET', 'metadata');
    const tokensBefore = peer.stats.tokens;
    const unauthorizedBefore = peer.stats.unauthorized;
    // Make the cached token stale on the server side only.
    await new Promise((r) => setTimeout(r, 2_100));
    (c as unknown as { tokens: { cached?: { refreshAt: number } } }).tokens.cached!.refreshAt =
      Date.now() + 60_000;
    await c.request('GET', 'metadata');
    expect(peer.stats.unauthorized - unauthorizedBefore).toBe(1);
    expect(peer.stats.tokens - tokensBefore).toBe(1);
  });

  it('sync-auth-1: bad client credentials fail with a clear security error, nothing sent', async () => {
    const before = peer.stats.requests;
    const err = await client('wrong')
      .request('GET', 'metadata')
      .catch((e) => e);
    expect(err).toBeInstanceOf(FhirError);
    expect(err.status).toBe(401);
    expect(err.outcome.issue[0]).toMatchObject({ severity: 'error', code: 'security' });
    expect(err.outcome.issue[0].diagnostics).toMatch(/^sync-auth-1: token endpoint answered 401/);
    expect(peer.stats.requests).toBe(before);
    // Refused credentials do not change by trying again: the rows become dead letters at once.
    expect(isTransient(err)).toBe(false);
  });

  it('sync-auth-1: a token endpoint that cannot answer is a transient failure, retried like the network', async () => {
    // The fault proxy leaves /token alone; this endpoint answers 503 once, then passes on to the peer's.
    let calls = 0;
    const flaky = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      if (calls++ === 0) return void res.writeHead(503).end('busy');
      const upstream = await fetch(peer.tokenUrl, {
        method: 'POST',
        headers: {
          'content-type': String(req.headers['content-type']),
          authorization: String(req.headers.authorization),
        },
        body: Buffer.concat(chunks),
      });
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text());
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    try {
      const c = new RemoteClient({
        baseUrl: peer.url,
        party: 'kela',
        auth: {
          tokenUrl: `http://127.0.0.1:${(flaky.address() as AddressInfo).port}/token`,
          clientId: 'tyokyky',
          clientSecret: 's3cret',
        },
        retry: { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 10 },
      });
      // 503 from the token endpoint, then a token: the client's own retry carries the request through.
      expect((await c.request('GET', 'metadata')).status).toBe(200);
      expect(calls).toBe(2);
    } finally {
      await new Promise((resolve) => flaky.close(resolve));
    }
    const unreachable = await new RemoteClient({
      baseUrl: peer.url,
      party: 'kela',
      auth: { tokenUrl: 'http://127.0.0.1:9/token', clientId: 'tyokyky', clientSecret: 's3cret' },
      retry: { maxAttempts: 1, initialDelayMs: 5 },
    })
      .request('GET', 'metadata')
      .catch((e) => e);
    expect(unreachable).toBeInstanceOf(TokenError);
    expect(unreachable.outcome.issue[0].diagnostics).toMatch(
      /^sync-auth-1: token endpoint http:\/\/127\.0\.0\.1:9\/token unreachable/,
    );
    expect(isTransient(unreachable)).toBe(true);
  });
});

describe('a token endpoint answering malformed', () => {
  it('an answer without a usable access_token (not an object, not header-safe) is the transient sync-auth-1, never a TypeError', async () => {
    let answer = '';
    const tokens = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(answer);
    });
    await new Promise<void>((resolve) => tokens.listen(0, '127.0.0.1', resolve));
    const c = () =>
      new RemoteClient({
        baseUrl: peer.url,
        party: 'kela',
        auth: {
          tokenUrl: `http://127.0.0.1:${(tokens.address() as AddressInfo).port}/token`,
          clientId: 'tyokyky',
          clientSecret: 's3cret',
        },
        retry: { maxAttempts: 1, initialDelayMs: 5 },
      });
    try {
      for (const body of ['null', '[]', '{"access_token":"a\\nb"}', '{"access_token":"\\u00e4\\u00f6"}']) {
        answer = body;
        const err = await c()
          .request('GET', 'metadata')
          .catch((e) => e);
        expect(err, body).toBeInstanceOf(TokenError);
        expect(err.outcome.issue[0].diagnostics, body).toBe(
          'sync-auth-1: token endpoint answer has no usable access_token',
        );
        expect(isTransient(err), body).toBe(true);
      }
    } finally {
      await new Promise((resolve) => tokens.close(resolve));
    }
  });
});

describe('retries', () => {
  it('waits the Retry-After of a 503 (not just its own short backoff) before trying again', async () => {
    const proxy = await startFaultProxy(peer.url, { errorNext: 1, statuses: [503], retryAfter: '1' });
    try {
      const c = new RemoteClient({
        baseUrl: proxy.url,
        party: 'kela',
        auth: { tokenUrl: peer.tokenUrl, clientId: 'tyokyky', clientSecret: 's3cret' },
        retry: { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 10, maxRetryAfterMs: 5_000 },
      });
      const started = Date.now();
      await c.request('GET', 'metadata');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
      expect(proxy.stats.injected).toBe(1);
      expect(proxy.stats.forwarded).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it('does not retry a 4xx answer', async () => {
    const proxy = await startFaultProxy(peer.url, { errorNext: 1, statuses: [400] });
    try {
      const c = new RemoteClient({
        baseUrl: proxy.url,
        party: 'kela',
        auth: { tokenUrl: peer.tokenUrl, clientId: 'tyokyky', clientSecret: 's3cret' },
        retry: { maxAttempts: 3, initialDelayMs: 5 },
      });
      const err = await c.request('GET', 'metadata').catch((e) => e);
      expect(err.status).toBe(400);
      expect(proxy.stats.requests).toBe(1);
    } finally {
      await proxy.close();
    }
  });
});
