// Secure defaults of startServer and the scope grammar, without a second process.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/index.ts';
import { allows, parseScopes } from '../../src/server/security/index.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { acceptingValidator, requestToken, startSecured } from './helpers.ts';

describe('secure defaults', () => {
  let store: Store;
  const validator = acceptingValidator;
  beforeAll(async () => {
    store = await openStore({ dataDir: 'memory://' });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });

  it('refuses to listen beyond loopback without auth unless insecure, and says loudly when auth is off', async () => {
    const opts = {
      store: store,
      validator: validator,
      port: 0,
    };
    await expect(
      startServer({ ...opts, host: '0.0.0.0', logger: pino({ level: 'silent' }) }),
    ).rejects.toThrow(
      'refusing to listen on 0.0.0.0 without authentication: configure auth, bind 127.0.0.1, or pass --insecure',
    );
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const running = await startServer({ ...opts, host: '0.0.0.0', insecure: true, logger });
    await running.close();
    const warning = lines.find((l) => l.includes('AUTHENTICATION IS OFF'));
    // It says how far the exposure goes: every interface, not "this host".
    expect(warning).toContain('listening on every interface (0.0.0.0), --insecure');
  });

  it('with auth off, a delete refused as still referenced names every referrer', async () => {
    const running = await startServer({
      store: store,
      validator: validator,
      port: 0,
      strict: false,
      logger: pino({ level: 'silent' }),
    });
    try {
      const post = async (path: string, body: unknown) =>
        (await (
          await fetch(`${running.url}/fhir/${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/fhir+json' },
            body: JSON.stringify(body),
          })
        ).json()) as { id: string };
      const patient = await post('Patient', { resourceType: 'Patient', name: [{ family: 'Auki' }] });
      const obs = await post('Observation', {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        subject: { reference: `Patient/${patient.id}` },
      });
      const refused = await fetch(`${running.url}/fhir/Patient/${patient.id}`, { method: 'DELETE' });
      expect(refused.status).toBe(409);
      const oo = (await refused.json()) as { issue: { diagnostics: string }[] };
      expect(oo.issue[0]?.diagnostics).toBe(
        `Patient/${patient.id} is still referenced by Observation/${obs.id}; delete or update those first`,
      );
    } finally {
      await running.close();
    }
  });

  it('limits requests per client: 429 with Retry-After and an OperationOutcome', async () => {
    const s = await startSecured(store, validator, {
      rateLimit: 3,
    });
    try {
      const { token } = await s.client({ id: 'busy', scope: 'system/Observation.rs' });
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await s.call(token, '/Observation?_count=1')).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const limited = await s.call(token, '/Observation?_count=1');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      const oo = (await limited.json()) as { issue: { code: string; diagnostics: string }[] };
      expect(oo.issue[0]?.code).toBe('throttled');
      expect(oo.issue[0]?.diagnostics).toMatch(/^sec-rate-1: /);
    } finally {
      await s.running.close();
    }
  });

  /** The status of each answer, and the last one's Retry-After and OperationOutcome. */
  const throttled = async (send: () => Promise<Response>, times: number) => {
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < times; i++) {
      last = await send();
      statuses.push(last.status);
    }
    const oo = (await last?.json()) as { issue?: { code: string; diagnostics: string }[] };
    return { statuses, retryAfter: Number(last?.headers.get('retry-after')), issue: oo.issue?.[0] };
  };

  it('limits requests that fail authentication per address, before their 401 and its audit row', async () => {
    const s = await startSecured(store, validator, {
      rateLimit: 3,
    });
    try {
      const { token: auditor } = await s.client({ id: 'limit-auditor', scope: 'system/AuditEvent.rs' });
      const bad = 'eyJhbGciOiJIUzI1NiJ9.e30.x';
      let n = 0;
      // Without a token, then with a rejected one: one address, one count.
      const got = await throttled(() => s.call(n++ < 3 ? undefined : bad, '/Observation'), 5);
      expect(got.statuses).toEqual([401, 401, 401, 429, 429]);
      expect(got.retryAfter).toBeGreaterThan(0);
      expect(got.issue).toEqual({
        severity: 'error',
        code: 'throttled',
        diagnostics:
          'sec-rate-2: too many requests without a valid access token from this address; retry after the time in Retry-After',
      });
      // The refusals' rows, and one for the address's throttling in this window: a flood adds no more.
      const log = await s.call(auditor, '/AuditEvent?agent=unauthenticated');
      const outcomes = (
        (await log.json()) as { entry?: { resource: { outcomeDesc?: string } }[] }
      ).entry?.map((e) => e.resource.outcomeDesc?.slice(0, 11));
      expect(outcomes).toEqual(['sec-rate-2:', 'sec-auth-1:', 'sec-auth-1:', 'sec-auth-1:']);
      // A client with a valid token is counted as itself, not by its address.
      expect((await s.call(auditor, '/AuditEvent?_count=1')).status).toBe(200);
    } finally {
      await s.running.close();
    }
  });

  it('limits token requests per address: 429 with Retry-After and an OperationOutcome', async () => {
    const s = await startSecured(store, validator, {
      rateLimit: 3,
    });
    try {
      const junk = 'eyJhbGciOiJFUzM4NCJ9.eyJpc3MiOiJhZG1pbiJ9.x';
      const got = await throttled(() => requestToken(s.url, junk), 4);
      expect(got.statuses).toEqual([401, 401, 401, 429]);
      expect(got.retryAfter).toBeGreaterThan(0);
      expect(got.issue).toEqual({
        severity: 'error',
        code: 'throttled',
        diagnostics:
          'sec-rate-3: too many token requests from this address; retry after the time in Retry-After',
      });
    } finally {
      await s.running.close();
    }
  });
});

describe('SMART scopes', () => {
  it.each([
    ['system/Observation.rs', 'Observation', 'r', true],
    ['system/Observation.rs', 'Observation', 'c', false],
    ['system/Observation.rs', 'Patient', 'r', false],
    ['system/*.cruds', 'CarePlan', 'd', true],
    ['system/*.cruds', 'AuditEvent', 'r', false],
    ['system/AuditEvent.rs', 'AuditEvent', 's', true],
    ['system/Patient.read', 'Patient', 's', true],
    ['system/Patient.write', 'Patient', 'r', false],
    ['system/*.*', 'Goal', 'u', true],
    ['patient/Observation.rs', 'Observation', 'r', false],
    ['system/Observation.sr', 'Observation', 'r', false],
    // Names of Object.prototype are no permission letters, and no crash either.
    ['system/Patient.constructor', 'Patient', 'r', false],
    ['system/Patient.toString', 'Patient', 'r', false],
    ['system/Patient.__proto__', 'Patient', 'r', false],
  ] as const)('%s on %s grants %s: %s', (scope, type, perm, granted) => {
    expect(allows(parseScopes(scope), type, perm)).toBe(granted);
  });
});
