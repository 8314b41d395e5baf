// The guarded store is an explicit table of the store's members: every member of the store's
// `Store` is either guarded or listed in NOT_SERVED with a reason, and nothing else gets through.
import type { Observation, Patient } from '@medplum/fhirtypes';
import type { Response } from 'express';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FacadeStore } from '../../src/server/ports.ts';
import { AuditWriter } from '../../src/server/security/audit.ts';
import { GUARDED_MEMBERS, GUARD_OWN_MEMBERS, guardStore } from '../../src/server/security/guard-store.ts';
import {
  ANONYMOUS,
  NOT_SERVED,
  type Principal,
  createSecurity,
  parseScopes,
} from '../../src/server/security/index.ts';
import { type Store, openStore } from '../../src/store/index.ts';

const KELA: Principal = {
  clientId: 'kela-test',
  party: 'kela',
  scopes: [],
  unrestricted: true,
  turvakielto: false,
};
const BUSINESS = { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:5f0c1a2e-9d4b-4c1e-8a51-0d7b2e6f4a10' };

describe('guarded store table', () => {
  let store: Store;
  let as: (p: Principal) => FacadeStore;
  let guarded: FacadeStore;
  let patientId: string;
  let observationId: string;

  beforeAll(async () => {
    store = await openStore({ dataDir: 'memory://' });
    const security = await createSecurity({
      store,
      auth: { mode: 'off' },
      logger: pino({ level: 'silent' }),
    });
    expect(security.auth).toBe('off'); // createSecurity made the audit tables the guard writes
    as = guardStore(store, new AuditWriter(store));
    guarded = as(ANONYMOUS);
    const patient = await guarded.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Taulu' }] });
    patientId = patient.resource.id as string;
    const observation = await guarded.create<Observation>({
      resourceType: 'Observation',
      status: 'final',
      identifier: [BUSINESS],
      code: { text: 'work ability' },
      subject: { reference: `Patient/${patientId}` },
    });
    observationId = observation.resource.id as string;
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });

  it('places every member of the store: guarded, or not served with a reason', () => {
    const unplaced = Object.keys(store).filter((k) => !(k in guarded) && !(k in NOT_SERVED));
    expect(unplaced).toEqual([]);
    for (const reason of Object.values(NOT_SERVED)) expect(reason.length).toBeGreaterThan(10);
  });

  it('offers nothing beyond its table and nothing it lists as not served', () => {
    expect(GUARDED_MEMBERS.filter((k) => !(k in store))).toEqual([]);
    expect(Object.keys(NOT_SERVED).filter((k) => k in guarded)).toEqual([]);
    // Its own: none is a store member (the store offers no way around it), each is a method.
    expect(GUARD_OWN_MEMBERS.filter((k) => k in store)).toEqual([]);
    for (const member of [...GUARDED_MEMBERS, ...GUARD_OWN_MEMBERS])
      expect(typeof (guarded as unknown as Record<string, unknown>)[member]).toBe('function');
    // Its state (the caller, the store underneath) is private: nothing a route could reach around the table.
    expect(Object.keys(guarded)).toEqual([]);
    expect(
      Object.keys(store)
        .filter((k) => k in guarded)
        .sort(),
    ).toEqual([...GUARDED_MEMBERS].sort());
  });

  it('gives a route no store for a request the security front has not admitted', async () => {
    const security = await createSecurity({
      store,
      auth: { mode: 'off' },
      logger: pino({ level: 'silent' }),
    });
    const storeFor = security.wrapStore(store);
    // A response without the front's binding, even one whose locals name a store, is refused.
    const bare = { locals: { store, guarded: store } } as unknown as Response;
    expect(() => storeFor(bare)).toThrow('sec-ctx-1: no access context for this call');
  });

  it('applies the consent rule to identifier matches and referrer lists for a receiving party', async () => {
    const own = await guarded.findByIdentifiers('Observation', [BUSINESS]);
    expect(own[0]?.map((r) => r.resourceType)).toEqual(['Observation']);
    // A party looks no client data up by identifier (it would learn whether a match exists, withheld
    // or not): refused before the store is asked, in one text whatever exists. Who points at the
    // Patient is not told either.
    const fresh = { ...BUSINESS, value: 'urn:uuid:0b6f1c7e-2a54-4d0e-9c3b-7e1f5a2d8c40' };
    for (const identifier of [BUSINESS, fresh])
      await expect(as(KELA).findByIdentifiers('Observation', [identifier])).rejects.toThrow(
        /^sec-consent-6: a receiving party \(kela\) cannot write client data conditionally/,
      );
    await expect(as(KELA).referrers('Patient', patientId, ['Observation'])).rejects.toThrow(
      `sec-consent-1: Patient/${patientId} is not available to this client`,
    );
    expect(await guarded.referrers('Patient', patientId, ['Observation'])).toHaveLength(1);
  });

  it('reads a type only for a caller with read, update or delete permission on it, whichever route asks', async () => {
    const client = (scope: string): FacadeStore =>
      as({
        clientId: `scoped-${scope}`,
        scopes: parseScopes(scope),
        unrestricted: false,
        turvakielto: false,
      });
    // A route checks its own type; a handler that read another type directly is still refused here,
    // before the store is asked (a missing id is refused alike: nothing tells whether it exists).
    const patientsOnly = client('system/Patient.rs');
    const refusal = 'sec-scope-1: reading Observation needs read permission on Observation';
    await expect(patientsOnly.read('Observation', observationId)).rejects.toThrow(refusal);
    await expect(patientsOnly.read('Observation', 'no-such-id')).rejects.toThrow(refusal);
    await expect(patientsOnly.vread('Observation', observationId, '1')).rejects.toThrow(refusal);
    await expect(patientsOnly.readJson('Observation', observationId)).rejects.toThrow(refusal);
    await expect(patientsOnly.history('Observation', observationId)).rejects.toThrow(refusal);
    await expect(patientsOnly.historyPage('Observation', { count: 10, offset: 0 })).rejects.toThrow(refusal);
    expect((await patientsOnly.read('Patient', patientId)).id).toBe(patientId);
    // An update or a delete reads its own target first (If-Match, a patch, $validate mode=delete).
    for (const scope of ['system/Observation.r', 'system/Observation.u', 'system/Observation.d'])
      expect((await client(scope).read('Observation', observationId)).id).toBe(observationId);
    // Finding by business identifier (before a write) is a search: s, or u for the write it serves.
    await expect(patientsOnly.findByIdentifiers('Observation', [BUSINESS])).rejects.toThrow(
      'sec-scope-1: finding Observation by identifier needs search permission on Observation',
    );
    for (const scope of ['system/Observation.s', 'system/Observation.u'])
      expect((await client(scope).findByIdentifiers('Observation', [BUSINESS]))[0]).toHaveLength(1);
    // Each refusal is in the audit log, as the refused read of what was asked for.
    const rows = await store.query<{ events: string }>(
      `SELECT events::text AS events FROM security_audit WHERE 'scoped-system/Patient.rs' = ANY(clients) ORDER BY id`,
    );
    const events = rows.flatMap(
      (r) => JSON.parse(r.events) as { client: string; outcome: string; detail: string | null }[],
    );
    const refused = events.filter((e) => e.client === 'scoped-system/Patient.rs' && e.outcome === '4');
    expect(refused.map((e) => e.detail)).toEqual([
      ...Array(6).fill(refusal),
      'sec-scope-1: finding Observation by identifier needs search permission on Observation',
    ]);
  });

  it('is refused for a store other than the one security was created with', async () => {
    const security = await createSecurity({
      store,
      auth: { mode: 'off' },
      logger: pino({ level: 'silent' }),
    });
    const other: FacadeStore = { ...store };
    expect(() => security.wrapStore(other)).toThrow(
      'sec-wire-1: wrapStore must be given the store createSecurity was given',
    );
  });
});
