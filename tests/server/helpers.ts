import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Practitioner } from '@medplum/fhirtypes';
import type express from 'express';
import pino from 'pino';
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
