/**
 * A target behind a facade with the embedded authorization server: a real access token, tampered
 * with (a changed character, a re-signed-looking claim, `alg: none`, another `kid`, cut short), sent
 * to routes that hold client data. Every such request must be a 401 with `WWW-Authenticate` and an
 * OperationOutcome; the untampered token must never be refused as unauthenticated.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import { openStore } from '../../src/store/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { startSecured } from '../security/helpers.ts';
import { MARKER, type Rng, pick } from './mutate.ts';
import type { Target } from './target.ts';

const ROUTES: ReadonlyArray<{ method: string; path: string; body?: unknown }> = [
  { method: 'GET', path: '/fhir/Patient' },
  { method: 'GET', path: '/fhir/Patient/x' },
  { method: 'GET', path: '/fhir/Observation?patient=Patient/x' },
  { method: 'GET', path: '/fhir/AuditEvent' },
  { method: 'GET', path: '/fhir/_history' },
  { method: 'POST', path: '/fhir/Patient', body: { resourceType: 'Patient' } },
  { method: 'POST', path: '/fhir', body: { resourceType: 'Bundle', type: 'batch', entry: [] } },
  { method: 'POST', path: '/fhir/Patient/$validate', body: { resourceType: 'Patient' } },
  { method: 'DELETE', path: '/fhir/Patient/x' },
  { method: 'GET', path: '/api/clients/x/record' },
];

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const parse = (segment: string | undefined): Record<string, unknown> => {
  try {
    return JSON.parse(Buffer.from(segment ?? '', 'base64url').toString('utf8'));
  } catch {
    return {};
  }
};

/** Ways to spoil a token; each result differs from the token it was given. */
const TAMPERINGS: ReadonlyArray<(token: string, rng: Rng) => string> = [
  // A character of the signed part (header or claims): the signature's own last character may carry
  // only padding bits, and two spellings of the same signature are not a forgery.
  (t, rng) => {
    const i = Math.floor(rng() * t.lastIndexOf('.'));
    const swap = t[i] === 'A' ? 'B' : 'A';
    return `${t.slice(0, i)}${swap}${t.slice(i + 1)}`;
  },
  (t, rng) => {
    const [h, p, s] = t.split('.');
    const claim = pick(rng, ['aud', 'iss', 'exp', 'nbf', 'scope', 'sub', 'client_id', 'jti']);
    const value = pick(rng, [MARKER, 0, 4_102_444_800, null, ['x'], 'system/*.cruds']);
    return `${h}.${b64({ ...parse(p), [claim]: value })}.${s}`;
  },
  (t) => {
    const [, p] = t.split('.');
    return `${b64({ alg: 'none', typ: 'JWT' })}.${p}.`;
  },
  (t) => {
    const [h, p, s] = t.split('.');
    return `${b64({ ...parse(h), kid: MARKER })}.${p}.${s}`;
  },
  (t, rng) => {
    const [h, p, s] = t.split('.');
    return `${b64({ ...parse(h), alg: pick(rng, ['HS256', 'RS384', 'ES384', 'none', 'HS384']) })}.${p}.${s}`;
  },
  (t, rng) => t.slice(0, Math.floor(rng() * (t.length - 1))),
  (t) => `${t}.${t.split('.')[2]}`,
];

export const facadeAuth: Target = {
  name: 'facade-auth',
  what: 'a tampered access token is a 401 with WWW-Authenticate on every route that holds client data',
  async open() {
    const store = await openStore({ dataDir: 'memory://' });
    // Every tampered token fails authentication from one address: without a high limit a long run
    // would meet the per-address limit (429) instead of the 401 it judges.
    const secured = await startSecured(store, await loadProjectValidator(), { rateLimit: 1_000_000_000 });
    const { token } = await secured.client({ id: 'fuzz-client', scope: 'system/*.cruds' });
    return {
      seeds: [null],
      input(_mutated, rng) {
        const tampered = rng() < 0.1 ? token : pick(rng, TAMPERINGS)(token, rng);
        return { route: pick(rng, ROUTES), token: tampered };
      },
      async check(input) {
        const { route, token: sent } = input as { route: (typeof ROUTES)[number]; token: string };
        const res = await fetch(`${secured.url}${route.path}`, {
          method: route.method,
          headers: { authorization: `Bearer ${sent}`, 'content-type': 'application/fhir+json' },
          ...(route.body ? { body: JSON.stringify(route.body) } : {}),
        });
        const text = await res.text();
        const at = `${route.method} ${route.path}`;
        if (res.status >= 500) return `${res.status} on ${at}`;
        if (sent === token) return res.status === 401 ? `the real token refused on ${at}` : undefined;
        if (res.status !== 401) return `a tampered token answered ${res.status} on ${at}`;
        if (!res.headers.get('www-authenticate')) return `401 without WWW-Authenticate on ${at}`;
        const body = JSON.parse(text) as OperationOutcome;
        return body.resourceType === 'OperationOutcome'
          ? undefined
          : `401 without an OperationOutcome on ${at}`;
      },
      close: async () => {
        await secured.running.close();
        await store.close();
      },
    };
  },
};
