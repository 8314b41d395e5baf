// Absolute URLs behind a reverse proxy: X-Forwarded-Proto/Host/Prefix are believed only from a
// configured proxy address, and a Host header never shapes a link.
import { type IncomingMessage, request } from 'node:http';
import type { Bundle } from '@medplum/fhirtypes';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/server/index.ts';
import { forwardedOrigin } from '../../src/server/security/forwarded.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { acceptingValidator } from './helpers.ts';

const validator = acceptingValidator;
const PROXIED = {
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'fhir.example.fi',
  'x-forwarded-prefix': '/tyokyky',
};
const PUBLIC_FHIR = 'https://fhir.example.fi/tyokyky/fhir';

/** A request with any headers (fetch will not send a Host header of our choosing). */
function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ res: IncomingMessage; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { 'content-type': 'application/fhir+json', ...headers } });
    req.once('error', reject).once('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => {
        text += c;
      });
      res.once('end', () => resolve({ res, text }));
    });
    req.end(body);
  });
}

const practitioner = JSON.stringify({ resourceType: 'Practitioner', name: [{ family: 'Välityspalvelin' }] });

describe('links behind a trusted proxy', () => {
  let store: Store;
  let trusting: RunningServer;
  let distrusting: RunningServer;

  beforeAll(async () => {
    store = await openStore({ dataDir: 'memory://' });
    const common = { store, validator: validator as never, logger: pino({ level: 'silent' }), port: 0 };
    trusting = await startServer({ ...common, trustProxy: ['127.0.0.0/8'] });
    distrusting = await startServer({ ...common, trustProxy: ['10.0.0.0/8'] });
  }, 60_000);
  afterAll(async () => {
    await trusting?.close();
    await distrusting?.close();
    await store?.close();
  });

  it('builds Location from the forwarded proto, host and prefix of a trusted proxy', async () => {
    const { res } = await send(`${trusting.url}/fhir/Practitioner`, 'POST', PROXIED, practitioner);
    expect(res.statusCode).toBe(201);
    expect(res.headers.location).toMatch(new RegExp(`^${PUBLIC_FHIR}/Practitioner/[^/]+/_history/1$`));
  });

  it('builds Bundle fullUrl and paging links from them too', async () => {
    await send(`${trusting.url}/fhir/Practitioner`, 'POST', {}, practitioner);
    const { res, text } = await send(`${trusting.url}/fhir/Practitioner?_count=1`, 'GET', PROXIED);
    expect(res.statusCode).toBe(200);
    const bundle = JSON.parse(text) as Bundle;
    expect(bundle.entry?.[0]?.fullUrl).toMatch(new RegExp(`^${PUBLIC_FHIR}/Practitioner/`));
    const relations = Object.fromEntries((bundle.link ?? []).map((l) => [l.relation, l.url]));
    expect(relations.self).toMatch(new RegExp(`^${PUBLIC_FHIR}/Practitioner\\?`));
    expect(relations.next).toMatch(new RegExp(`^${PUBLIC_FHIR}/Practitioner\\?`));
  });

  it('never uses the Host header: Host: evil.example gives links on the listening address', async () => {
    const { res } = await send(
      `${trusting.url}/fhir/Practitioner`,
      'POST',
      { host: 'evil.example' },
      practitioner,
    );
    expect(res.statusCode).toBe(201);
    expect(res.headers.location).toMatch(new RegExp(`^${trusting.url}/fhir/Practitioner/`));
    expect(res.headers.location).not.toContain('evil.example');
  });

  it('ignores forwarded headers from an address that is not a trusted proxy', async () => {
    const { res } = await send(
      `${distrusting.url}/fhir/Practitioner`,
      'POST',
      { ...PROXIED, 'x-forwarded-host': 'evil.example', host: 'evil.example' },
      practitioner,
    );
    expect(res.statusCode).toBe(201);
    expect(res.headers.location).toMatch(new RegExp(`^${distrusting.url}/fhir/Practitioner/`));
  });

  it.each([
    ['a host with a path in it', { ...PROXIED, 'x-forwarded-host': 'evil.example/x' }],
    ['a scheme other than http(s)', { ...PROXIED, 'x-forwarded-proto': 'javascript' }],
    ['a prefix that is not a plain path', { ...PROXIED, 'x-forwarded-prefix': '//evil.example' }],
    ['no forwarded host', { 'x-forwarded-proto': 'https' }],
  ])('falls back to the configured base on %s', async (_name, headers) => {
    const { res } = await send(`${trusting.url}/fhir/Practitioner`, 'POST', headers, practitioner);
    expect(res.statusCode).toBe(201);
    expect(res.headers.location).toMatch(new RegExp(`^${trusting.url}/fhir/Practitioner/`));
  });

  it('uses the entry the nearest proxy added when a header holds a list', async () => {
    const { res } = await send(
      `${trusting.url}/fhir/Practitioner`,
      'POST',
      { ...PROXIED, 'x-forwarded-host': 'evil.example, fhir.example.fi' },
      practitioner,
    );
    expect(res.headers.location).toMatch(new RegExp(`^${PUBLIC_FHIR}/Practitioner/`));
  });

  it('refuses a trusted proxy entry that is not an address or range', () => {
    expect(() => forwardedOrigin(['proxy.example'])).toThrow(
      'trusted proxy "proxy.example" is not an IP address or CIDR range',
    );
    expect(() => forwardedOrigin(['10.0.0.0/33'])).toThrow(
      'trusted proxy "10.0.0.0/33" is not an IP address or CIDR range',
    );
  });
});
