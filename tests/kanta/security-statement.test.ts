// Kanta PHR mode's CapabilityStatement says what the security layer enforces, as the ordinary
// facade's does: with authentication on, SMART on FHIR with its discovery and token URLs.
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { type Secured, startSecured } from '../security/helpers.ts';

const opened: Array<{ store: Store; secured: Secured }> = [];

async function statement(mode: 'fhir' | 'kanta-phr'): Promise<{ url: string; cs: CapabilityStatement }> {
  const store = await openStore({ dataDir: 'memory://' });
  const secured = await startSecured(store as never, (await loadProjectValidator()) as never, { mode });
  opened.push({ store, secured });
  const res = await fetch(`${secured.fhir}/metadata`);
  return { url: secured.url, cs: (await res.json()) as CapabilityStatement };
}

let kanta: { url: string; cs: CapabilityStatement };
let ordinary: { url: string; cs: CapabilityStatement };

beforeAll(async () => {
  kanta = await statement('kanta-phr');
  ordinary = await statement('fhir');
});
afterAll(async () => {
  for (const { store, secured } of opened) {
    await secured.running.close();
    await store.close();
  }
});

describe('Kanta PHR mode, authentication on: the CapabilityStatement', () => {
  it('declares SMART on FHIR, its discovery and token URLs, as the ordinary statement does', async () => {
    const security = kanta.cs.rest?.[0]?.security;
    expect(security?.service?.[0]?.coding?.[0]?.code).toBe('SMART-on-FHIR');
    expect(security?.description).toContain(`${kanta.url}/.well-known/smart-configuration`);
    expect(JSON.stringify(security?.extension)).toContain(`${kanta.url}/auth/token`);
    // The same declaration (the ordinary one's URLs are its own server's), and still no CORS.
    const theirs = JSON.stringify(ordinary.cs.rest?.[0]?.security).replaceAll(ordinary.url, kanta.url);
    const { cors, ...ours } = security ?? {};
    expect(cors).toBe(false);
    expect(JSON.stringify(ours)).toBe(theirs);
    expect(kanta.cs.implementation?.description).not.toMatch(/no OAuth/);
  });
});
