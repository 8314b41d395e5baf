import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OperationOutcome, OperationOutcomeIssue, Practitioner } from '@medplum/fhirtypes';
import type express from 'express';
import pino from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, expect } from 'vitest';
import { type AppOptions, createApp } from '../../src/server/index.ts';
import type { FacadeStore, FacadeValidator } from '../../src/server/ports.ts';
import { freshPgliteDataDir, openStore } from '../../src/store/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';

export const silent = pino({ level: 'silent' });

export interface Fixture {
  store: FacadeStore;
  validator: FacadeValidator;
  app(opts?: Partial<AppOptions>): express.Express;
  close(): Promise<void>;
}

/**
 * One store per test file plus the real validator: an on-disk PGlite store (a copy of the migrated
 * template, freshPgliteDataDir), or with `databaseUrl` a PostgreSQL database the caller made with `freshDatabase`.
 */
export async function openFixture(opts: { databaseUrl?: string } = {}): Promise<Fixture> {
  const dir = opts.databaseUrl ? undefined : mkdtempSync(join(tmpdir(), 'tyokyky-server-'));
  const [store, validator] = await Promise.all([
    opts.databaseUrl
      ? openStore({ databaseUrl: opts.databaseUrl })
      : freshPgliteDataDir(dir).then((dataDir) => openStore({ dataDir })),
    loadProjectValidator(),
  ]);
  return {
    store,
    validator,
    app: (more) => createApp({ store, validator, logger: silent, ...more }),
    async close() {
      await store.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One fixture and one app for the test file or describe block that calls this: opened before its tests
 * (the caller's own beforeAll hooks, registered after this call, run after it) and closed after them.
 */
export function appPerSuite(opts?: Partial<AppOptions>): {
  readonly app: express.Express;
  readonly fx: Fixture;
} {
  let fx: Fixture | undefined;
  let app: express.Express | undefined;
  beforeAll(async () => {
    fx = await openFixture();
    app = fx.app(opts);
  }, 60_000);
  afterAll(async () => fx?.close());
  const opened = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('appPerSuite: used before its beforeAll ran');
    return value;
  };
  return {
    get app() {
      return opened(app);
    },
    get fx() {
      return opened(fx);
    },
  };
}

export const FHIR_JSON = 'application/fhir+json';

/** POST a FHIR JSON body (a string is sent as written). */
export function postFhir(
  app: express.Express,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return request(app)
    .post(path)
    .set({ 'Content-Type': FHIR_JSON, ...headers })
    .send(typeof body === 'string' ? body : JSON.stringify(body));
}

/** The first issue of a body that must be an OperationOutcome. */
export function firstIssue(body: OperationOutcome): OperationOutcomeIssue | undefined {
  expect(body.resourceType).toBe('OperationOutcome');
  return body.issue?.[0];
}

export function uniqueUrn(): string {
  return `urn:uuid:${randomUUID()}`;
}

/** A Practitioner: not one of our profiled families, so strict mode accepts it on R4 core alone. */
export function practitioner(family = 'Virtanen'): Practitioner {
  return {
    resourceType: 'Practitioner',
    identifier: [{ system: 'urn:ietf:rfc:3986', value: uniqueUrn() }],
    name: [{ family, given: ['Liisa'] }],
  };
}

/**
 * A Practitioner under an EHR-local identifier: two resources may carry one such identifier (a global
 * one names one resource, `tyk-id-4`), so conditional criteria on it can match more than one.
 */
export function localPractitioner(family = 'Virtanen'): Practitioner {
  return {
    ...practitioner(family),
    identifier: [
      { system: 'http://ehr.example/practitioners', value: uniqueUrn().slice('urn:uuid:'.length) },
    ],
  };
}
