// The sync in the audit log: every push that reached the remote is an export (a disclosure to the
// remote's party: which client, which resource, under which consent), every pulled write an import,
// and every disclosure refused — by the client's consent here, or by the remote after it received
// the data — an export with outcome 4 and the reason, and a write given up without an answer an export
// with outcome 8; all are read back as AuditEvents from a second facade on the local database (its
// own store).
import type { AuditEvent, Bundle, Consent, Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localIdSystem } from '../../src/mapping/index.ts';
import type { Store } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import { type FacadeHere, startFacadeHere } from '../helpers/facade.ts';
import { startFaultProxy } from './helpers/fault-proxy.ts';
import { consent, goal, patient, remoteAll, remotePost, score, selfAssessment } from './helpers/fixtures.ts';
import { type SyncPair, openSyncPair } from './helpers/remote.ts';

let pair: SyncPair;
let remote: FacadeHere;
let reader: FacadeHere | undefined;
let store: Store;
let sync: SyncService;

beforeAll(async () => {
  pair = await openSyncPair('tyokyky_syncaudit', { batchSize: 50 });
  ({ remote, store, sync } = pair);
}, 120_000);
afterAll(async () => {
  await reader?.stop();
  await pair?.close();
});

/** The local audit log as a local facade serves it (a store of its own on the local database). */
async function auditEvents(query: string): Promise<AuditEvent[]> {
  reader ??= await startFacadeHere(pair.localDatabase);
  const res = await fetch(`${reader.url}/AuditEvent?${query}&_count=1000`);
  expect(res.status).toBe(200);
  return ((await res.json()) as Bundle<AuditEvent>).entry?.map((e) => e.resource as AuditEvent) ?? [];
}

const kind = (e: AuditEvent) => e.type.code;
const entities = (e: AuditEvent) => (e.entity ?? []).map((x) => x.what?.reference);

/** A Patient that carries the client id the domain API's disclosure log looks it up by. */
function withClientId(hetu: string, clientId: string): Patient {
  const p = patient(hetu);
  return {
    ...p,
    identifier: [...(p.identifier ?? []), { system: localIdSystem('client'), value: clientId }],
  };
}

/**
 * Writes what `write` creates while a worker pushes through a proxy that loses every answer after the
 * remote has stored the write, until the worker gives the row up (2 attempts); returns the resource.
 */
async function pushedWithoutAnswers(write: () => Promise<{ resource: Observation }>): Promise<Observation> {
  const proxy = await startFaultProxy(remote.url);
  const blind = createSync({
    store,
    remote: {
      baseUrl: proxy.url,
      party: 'other-health-care',
      retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 },
    },
    maxAttempts: 2,
    retryBaseMs: 1,
    installHook: false,
  });
  try {
    // Its first push binds the store to the proxy's URL (the same server): nothing is queued yet.
    expect((await blind.pushOnce()).done).toBe(0);
    proxy.faults.dropRate = 1;
    const { resource } = await write();
    let dead = 0;
    for (let i = 0; i < 10 && !dead; i++, await new Promise((r) => setTimeout(r, 20)))
      dead += (await blind.pushOnce()).dead;
    expect(dead).toBe(1);
    return resource;
  } finally {
    await blind.stop();
    await proxy.close();
  }
}

describe('sync push and pull are audited (BALP AuditEvents)', () => {
  it('each disclosure names the client, the resource, the consent, the party and the remote; a blocked client has only refusals', async () => {
    const p = (await store.create(patient('010181-971X'))).resource as Patient;
    const k = (await store.create(consent(p.id!))).resource as Consent;
    const o = (await store.create(score(p.id!, 4))).resource as Observation;
    const g = (await store.create(goal(p.id!, o.id!))).resource;
    // A second client whose consent does not cover identification: nothing of theirs leaves.
    const q = (await store.create(patient('010181-972X'))).resource as Patient;
    await store.create(consent(q.id!, { dataClasses: ['work-ability-assessment'] }));
    await store.create(score(q.id!, 5));
    const pushed = await sync.pushOnce();
    expect(pushed.done).toBe(4);
    expect(pushed.blocked).toBe(3);

    const exports = (await auditEvents(`patient=Patient/${p.id}`)).filter((e) => kind(e) === '110106');
    expect(exports.map((e) => entities(e)[1]).sort()).toEqual(
      [`Consent/${k.id}`, `Goal/${g.id}`, `Observation/${o.id}`, `Patient/${p.id}`].sort(),
    );
    for (const e of exports) {
      expect(e.outcome).toBe('0');
      expect(e.type).toEqual({
        system: 'http://dicom.nema.org/resources/ontology/DCM',
        code: '110106',
        display: 'Export',
      });
      expect(e.subtype?.[0]?.code).toBe('create');
      expect(e.action).toBe('C');
      expect(e.entity?.[0]).toMatchObject({ what: { reference: `Patient/${p.id}` }, role: { code: '1' } });
      // Under which consent it went (the client's Consent permitted identification and the class).
      expect(e.entity?.find((x) => x.description?.startsWith('consent'))?.what?.reference).toBe(
        `Consent/${k.id}`,
      );
      expect(e.agent[0]).toMatchObject({
        who: { identifier: { system: 'urn:tyokyky:client', value: 'tyokyky-sync' } },
        requestor: true,
        type: { coding: [{ code: '110153' }] },
      });
      expect(e.agent[1]).toMatchObject({
        who: { display: remote.url },
        requestor: false,
        type: { coding: [{ code: '110152' }] },
        role: [{ coding: [{ code: 'other-health-care' }] }],
      });
    }
    // The blocked client: one refused export per row consent stopped, with the reason, no consent named.
    const refused = await auditEvents(`patient=Patient/${q.id}`);
    expect(refused).toHaveLength(3);
    for (const e of refused) {
      expect(kind(e)).toBe('110106');
      expect(e.outcome).toBe('4');
      expect(e.outcomeDesc).toMatch(
        /^not disclosed: identification to other-health-care on \d{4}-\d{2}-\d{2} — /,
      );
      expect(e.entity?.some((x) => x.description?.startsWith('consent'))).toBe(false);
      expect(JSON.stringify(e)).not.toContain('010181-972X');
    }
    expect(refused.map((e) => entities(e)[1]?.split('/')[0]).sort()).toEqual([
      'Consent',
      'Observation',
      'Patient',
    ]);
    // One successful export row per row that reached the remote, no more.
    const all = (await auditEvents('entity-type=Observation')).filter(
      (e) => kind(e) === '110106' && e.outcome === '0',
    );
    expect(all.map((e) => entities(e)[1])).toEqual([`Observation/${o.id}`]);
  }, 120_000);

  it("the client's disclosure log (GET /api/clients/{id}/disclosures) lists the sync's exports and refusals", async () => {
    const p = (await store.create(withClientId('010181-975X', 'client-975'))).resource as Patient;
    const k = (await store.create(consent(p.id!))).resource as Consent;
    const o = (await store.create(score(p.id!, 3))).resource as Observation;
    const q = (await store.create(withClientId('010181-976X', 'client-976'))).resource as Patient;
    await store.create(consent(q.id!, { dataClasses: ['work-ability-assessment'] }));
    await sync.pushOnce();
    reader ??= await startFacadeHere(pair.localDatabase);
    const log = async (clientId: string) => {
      const res = await fetch(`${reader?.url.replace(/\/fhir$/, '')}/api/clients/${clientId}/disclosures`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { disclosures: Record<string, unknown>[] }).disclosures;
    };
    const sent = await log('client-975');
    expect(sent.map((d) => (d.resources as string[])[0]).sort()).toEqual(
      [`Patient/${p.id}`, `Consent/${k.id}`, `Observation/${o.id}`].sort(),
    );
    for (const d of sent)
      expect(d).toMatchObject({
        party: 'other-health-care',
        recipient: remote.url,
        channel: 'sync',
        interaction: 'create',
        consents: [`Consent/${k.id}`],
        outcome: 'disclosed',
      });
    const refused = await log('client-976');
    expect(refused).toHaveLength(2);
    for (const d of refused)
      expect(d).toMatchObject({
        party: 'other-health-care',
        channel: 'sync',
        outcome: 'refused',
        consents: [],
        reason: expect.stringMatching(/^not disclosed: identification to other-health-care /),
      });
  }, 120_000);

  it('a write the remote refused after receiving it is a refused export naming the issue codes and elements, never the values', async () => {
    const p = (await store.create(patient('010181-974X'))).resource as Patient;
    await store.create(consent(p.id!));
    await sync.pushOnce();
    // A local code system: the remote refuses it and quotes it back in its diagnostics.
    const bad = (
      await store.create({
        ...score(p.id!, 6),
        code: { coding: [{ system: 'tyokyky-local-system-7731', code: 'x' }] },
      })
    ).resource as Observation;
    const pushed = await sync.pushOnce();
    expect(pushed.dead).toBe(1);
    const events = (await auditEvents(`patient=Patient/${p.id}`)).filter(
      (e) => entities(e)[1] === `Observation/${bad.id}`,
    );
    expect(events).toHaveLength(1);
    const [e] = events;
    expect(kind(e)).toBe('110106');
    expect(e.outcome).toBe('4');
    expect(e.outcomeDesc).toMatch(/^remote refused \(HTTP 4\d\d\): (.*; )?error \S+ at Observation\.code/);
    expect(JSON.stringify(e)).not.toContain('tyokyky-local-system-7731');
  }, 120_000);

  it('a write given up without an answer (sync-push-2) is an export of unknown outcome: the remote may hold it', async () => {
    const p = (await store.create(withClientId('010181-977X', 'client-977'))).resource as Patient;
    await store.create(consent(p.id!));
    await sync.pushOnce();
    const o = await pushedWithoutAnswers(() => store.create(score(p.id!, 2)));
    expect(await remoteAll(remote.url, 'Observation', `identifier=${o.identifier![0].value}`)).toHaveLength(
      1,
    );
    const events = (await auditEvents(`patient=Patient/${p.id}`)).filter(
      (e) => entities(e)[1] === `Observation/${o.id}`,
    );
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ outcome: '8', action: 'C', type: { code: '110106' } });
    const why = 'sync-push-2: given up after 2 attempts without a definite answer; the remote may hold it';
    expect(events[0].outcomeDesc).toBe(why);
    // The client's disclosure log says so too: neither disclosed nor refused.
    const res = await fetch(`${reader?.url.replace(/\/fhir$/, '')}/api/clients/client-977/disclosures`);
    const { disclosures } = (await res.json()) as { disclosures: Record<string, unknown>[] };
    expect(disclosures.find((d) => (d.resources as string[])[0] === `Observation/${o.id}`)).toMatchObject({
      channel: 'sync',
      outcome: 'unknown',
      reason: why,
    });
  }, 120_000);

  it('a pulled resource is an import of the remote into the client’s local record', async () => {
    const p = (await store.create(patient('010181-973X'))).resource as Patient;
    await store.create(consent(p.id!));
    await sync.pushOnce();
    const [m] = await store.query<{ remote_id: string }>(
      "SELECT remote_id FROM sync_idmap WHERE resource_type = 'Patient' AND local_id = $1",
      [p.id],
    );
    const qr = await remotePost(remote.url, selfAssessment(m.remote_id));
    const pulled = await sync.pullOnce();
    expect(pulled.applied).toBe(1);
    const [local] = (await store.search('QuestionnaireResponse', { subject: `Patient/${p.id}` })).resources;
    expect(local.id).not.toBe(qr.id);
    const imports = (await auditEvents(`patient=Patient/${p.id}`)).filter((e) => kind(e) === '110107');
    expect(imports).toHaveLength(1);
    const [e] = imports;
    expect(e.outcome).toBe('0');
    expect(e.subtype?.[0]?.code).toBe('create');
    expect(entities(e)).toEqual([`Patient/${p.id}`, `QuestionnaireResponse/${local.id}`]);
    expect(e.agent[0]).toMatchObject({ who: { display: remote.url }, requestor: false });
    expect(e.agent[1]).toMatchObject({ who: { identifier: { value: 'tyokyky-sync' } }, requestor: true });
    // Pulling again changes nothing and logs no import.
    await sync.pullOnce();
    expect((await auditEvents(`patient=Patient/${p.id}`)).filter((x) => kind(x) === '110107')).toHaveLength(
      1,
    );
  }, 120_000);
});
