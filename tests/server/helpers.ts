import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Practitioner } from '@medplum/fhirtypes';
import type express from 'express';
import pino from 'pino';
import { type AppOptions, createApp } from '../../src/server/index.ts';
import type { FacadeStore, FacadeValidator } from '../../src/server/ports.ts';
import { openStore } from '../../src/store/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';

export const silent = pino({ level: 'silent' });

export interface Fixture {
  store: FacadeStore;
  validator: FacadeValidator;
  app(opts?: Partial<AppOptions>): express.Express;
  close(): Promise<void>;
}

/** One on-disk PGlite store per test file (opening one costs about a second) plus the real validator. */
export async function openFixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'tyokyky-server-'));
  const [store, validator] = await Promise.all([openStore({ dataDir: dir }), loadProjectValidator()]);
  return {
    store: store as unknown as FacadeStore,
    validator: validator as unknown as FacadeValidator,
    app: (opts) => createApp({ store: store as unknown as FacadeStore, validator, logger: silent, ...opts }),
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
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
