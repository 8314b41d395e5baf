// What a token endpoint's refusal leaves in our errors (and so in logs and the status's last error):
// its HTTP status and, when it gives one that is a plain token, its OAuth `error` code — never its
// `error_description` or any other text of its answer, which may echo anything (a client id, a HETU).
// The token endpoint is a small HTTP server of the test's, answering what each case scripts.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteClient, TokenError } from '../../src/sync/index.ts';

let server: Server;
let tokenUrl: string;
let answer: { status: number; type: string; body: string };

beforeAll(async () => {
  server = createServer(async (req, res) => {
    for await (const _ of req);
    res.writeHead(answer.status, { 'content-type': answer.type }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** The error a request gets when the token endpoint answers `status` with `body`. */
async function refusal(status: number, body: unknown, type = 'application/json'): Promise<TokenError> {
  answer = { status, type, body: typeof body === 'string' ? body : JSON.stringify(body) };
  const client = new RemoteClient({
    // Never reached: no token, no request.
    baseUrl: 'http://127.0.0.1:9/fhir',
    party: 'kela',
    auth: { tokenUrl, clientId: 'tyokyky', clientSecret: 'old' },
    retry: { maxAttempts: 0 },
  });
  const err = await client.request('GET', 'metadata').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TokenError);
  return err as TokenError;
}

const ECHO = 'client tyokyky of 010181-900C (Suvi Testaaja) has no secret "old"';

describe('a token endpoint refusal in our errors', () => {
  it('keeps the status and the OAuth error code; never the description', async () => {
    const err = await refusal(401, { error: 'invalid_client', error_description: ECHO });
    expect(err.message).toBe('sync-auth-1: token endpoint answered 401 (invalid_client)');
    expect(err.outcome.issue).toEqual([
      {
        severity: 'error',
        code: 'security',
        diagnostics: 'sync-auth-1: token endpoint answered 401 (invalid_client)',
      },
    ]);
    expect(err.transient).toBe(false);
    expect(err.answered).toBe(401);
  });

  it('an error code that is no plain token (/^[a-z_]{1,64}$/) is left out too', async () => {
    for (const error of [ECHO, 'Invalid_Client', 'invalid-client', 'x'.repeat(65), '', 7, ['invalid_client']])
      expect((await refusal(400, { error, error_description: ECHO })).message).toBe(
        'sync-auth-1: token endpoint answered 400',
      );
    expect((await refusal(400, { error: 'a'.repeat(64) })).message).toBe(
      `sync-auth-1: token endpoint answered 400 (${'a'.repeat(64)})`,
    );
  });

  it('a body that is no JSON object is not repeated', async () => {
    expect((await refusal(403, `<html>${ECHO}</html>`, 'text/html')).message).toBe(
      'sync-auth-1: token endpoint answered 403',
    );
    expect((await refusal(401, ['invalid_client', ECHO])).message).toBe(
      'sync-auth-1: token endpoint answered 401',
    );
    expect((await refusal(401, '')).message).toBe('sync-auth-1: token endpoint answered 401');
  });

  it('an endpoint that cannot answer now (a retryable status) is named the same way, as transient', async () => {
    const err = await refusal(503, { error: 'temporarily_unavailable', error_description: ECHO });
    expect(err.message).toBe('sync-auth-1: token endpoint answered 503 (temporarily_unavailable)');
    expect(err.transient).toBe(true);
  });
});
