// Push, pull, conflicts, dead letters and consent against a FHIR server we did not write
// (@medplum/fhir-router + in-memory repository behind a small HTTP adapter), local store on PGlite.
import type { CarePlan, Consent, Observation, Patient, QuestionnaireResponse } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirError } from '../../src/shared/outcome.ts';
import type { Store } from '../../src/store/index.ts';
import { openStore } from '../../src/store/index.ts';
import { RemoteClient, type SyncService, createSync } from '../../src/sync/index.ts';
import { type FaultProxy, startFaultProxy } from './helpers/fault-proxy.ts';
import {
  carePlan,
  consent,
  identifierOf,
  patient,
  remoteAll,
  remotePost,
  remotePut,
  score,
  selfAssessment,
  withdrawn,
} from './helpers/fixtures.ts';
import { type MedplumPeer, startMedplumPeer } from './helpers/medplum-peer.ts';

let peer: MedplumPeer;
let store: Store;
let sync: SyncService;

beforeAll(async () => {
  peer = await startMedplumPeer();
  store = await openStore({ dataDir: 'memory://' });
  sync = createSync({
    store,
    remote: {
      baseUrl: peer.url,
      party: 'other-health-care',
      bundle: 'batch',
      retry: { initialDelayMs: 5, maxDelayMs: 20 },
    },
    families: { CarePlan: { conflict: 'park' } },
    pullPageSize: 2,
    today: () => '2026-06-01',
  });
  await sync.ready;
});
afterAll(async () => {
  await sync.stop();
  await store.close();
  await peer.close();
});

async function outboxOf(type: string, id: string) {
  return store.query<{
    id: string;
    state: string;
    reason: string | null;
    attempts: number;
    outcome: unknown;
  }>(
    'SELECT id::text, state, reason, attempts, outcome FROM sync_outbox WHERE resource_type = $1 AND resource_id = $2 ORDER BY sync_outbox.id',
    [type, id],
  );
}

/** A client with an active consent, already on the remote; returns local and remote patient ids. */
async function syncedClient(hetu: string): Promise<{ local: string; remote: string; consentId: string }> {
  const p = (await store.create(patient(hetu))).resource as Patient;
  const c = (await store.create(consent(p.id!))).resource as Consent;
  await sync.pushOnce();
  const [m] = await store.query<{ remote_id: string }>(
    "SELECT remote_id FROM sync_idmap WHERE resource_type = 'Patient' AND local_id = $1",
    [p.id],
  );
  return { local: p.id!, remote: m.remote_id, consentId: c.id! };
}

describe('push to a Medplum peer', () => {
  it('delivers a client, consent and record once each, references rewritten to remote ids', async () => {
    const p = (await store.create(patient('010181-900C'))).resource as Patient;
    await store.create(consent(p.id!));
    const obs = (await store.create(score(p.id!, 5))).resource as Observation;
    const result = await sync.pushOnce();
    expect(result.done).toBe(3);
    const remotePatients = (await remoteAll(
      peer.url,
      'Patient',
      'identifier=urn:oid:1.2.246.21|010181-900C',
    )) as Patient[];
    expect(remotePatients).toHaveLength(1);
    const remoteObs = (await remoteAll(
      peer.url,
      'Observation',
      `identifier=${obs.identifier![0].value}`,
    )) as Observation[];
    expect(remoteObs).toHaveLength(1);
    expect(remoteObs[0].subject?.reference).toBe(`Patient/${remotePatients[0].id}`);
    expect(remoteObs[0].valueInteger).toBe(5);
    const status = await sync.status();
    expect(status.queueDepth).toBe(0);
    expect(status.followedClients).toBeGreaterThanOrEqual(1);
    expect(status.lastPushSuccess).not.toBeNull();
    const metrics = await sync.metrics.getSingleMetricAsString('tyokyky_sync_pushed_total');
    expect(metrics).toContain('type="Observation",result="done"');
  });

  it('sends an update with If-Match of the mapped remote version, keeping one remote resource', async () => {
    const client = await syncedClient('020281-901N');
    const obs = (await store.create(score(client.local, 4))).resource as Observation;
    await sync.pushOnce();
    await store.update({ ...obs, valueInteger: 8 }, { ifMatch: obs.meta!.versionId });
    await sync.pushOnce();
    const remote = (await remoteAll(
      peer.url,
      'Observation',
      `identifier=${obs.identifier![0].value}`,
    )) as Observation[];
    expect(remote).toHaveLength(1);
    expect(remote[0].valueInteger).toBe(8);
    expect((await outboxOf('Observation', obs.id!)).map((r) => r.state)).toEqual(['done', 'done']);
  });

  it('keeps per-resource order: create and two updates queued together arrive in order, last one wins', async () => {
    const client = await syncedClient('131381-912B');
    const v1 = (await store.create(score(client.local, 1))).resource as Observation;
    const v2 = (await store.update({ ...v1, valueInteger: 2 }, { ifMatch: v1.meta!.versionId }))
      .resource as Observation;
    await store.update({ ...v2, valueInteger: 3 }, { ifMatch: v2.meta!.versionId });
    const first = await sync.pushRound();
    expect(first.claimed).toBe(1); // the updates wait while the create of the same resource is queued
    await sync.pushOnce();
    const rows = await outboxOf('Observation', v1.id!);
    expect(rows.map((r) => r.state)).toEqual(['done', 'done', 'done']);
    const remote = (await remoteAll(
      peer.url,
      'Observation',
      `identifier=${v1.identifier![0].value}`,
    )) as Observation[];
    expect(remote).toHaveLength(1);
    expect(remote[0].valueInteger).toBe(3);
  });

  it('dead-letters a remote validation error with the remote OperationOutcome, without retrying it', async () => {
    const client = await syncedClient('030381-902P');
    const bad = score(client.local);
    (bad as Partial<Observation>).code = undefined;
    const obs = (await store.create(bad)).resource as Observation;
    await sync.pushOnce();
    const before = peer.stats.requests;
    await sync.pushOnce();
    expect(peer.stats.requests).toBe(before); // no retry storm: a dead letter is not sent again
    const [row] = await outboxOf('Observation', obs.id!);
    expect(row.state).toBe('dead');
    expect(row.attempts).toBe(1);
    const dead = (await sync.deadLetters()).find((d) => d.resource_id === obs.id);
    expect(dead?.outcome?.issue?.[0]).toMatchObject({ severity: 'error', expression: ['Observation.code'] });
    expect((await sync.status()).failures.deadLetters).toBeGreaterThanOrEqual(1);
  });

  it('sync-id-1: a resource without business identifier never leaves (dead letter naming the element)', async () => {
    const client = await syncedClient('040481-903R');
    const noId = score(client.local);
    (noId as Partial<Observation>).identifier = undefined;
    const obs = (await store.create(noId)).resource as Observation;
    await sync.pushOnce();
    const dead = (await sync.deadLetters()).find((d) => d.resource_id === obs.id);
    expect(dead?.state).toBe('dead');
    expect(dead?.outcome?.issue?.[0]?.expression).toEqual(['Observation.identifier']);
    expect(dead?.outcome?.issue?.[0]?.diagnostics).toMatch(
      /^sync-id-1: Observation has no business identifier/,
    );
    expect(await remoteAll(peer.url, 'Observation', `subject=Patient/${client.remote}`)).toHaveLength(0);
  });

  it('retry() puts a dead letter back in the queue', async () => {
    const client = await syncedClient('050581-904S');
    const bad = score(client.local);
    (bad as Partial<Observation>).code = undefined;
    const obs = (await store.create(bad)).resource as Observation;
    await sync.pushOnce();
    const [row] = await outboxOf('Observation', obs.id!);
    expect(row.state).toBe('dead');
    expect(await sync.retry(row.id)).toBe(1);
    expect((await outboxOf('Observation', obs.id!))[0].state).toBe('pending');
    await sync.pushOnce();
    expect((await outboxOf('Observation', obs.id!))[0].state).toBe('dead');
  });
});

// Medplum answers a DELETE of a resource it no longer holds with 404: the delete's goal is reached.
describe('a local delete whose remote copy is already gone', () => {
  let gonePeer: MedplumPeer;
  let proxy: FaultProxy;
  let local: Store;
  let pusher: SyncService;

  beforeAll(async () => {
    gonePeer = await startMedplumPeer();
    proxy = await startFaultProxy(gonePeer.url.replace(/\/fhir$/, ''));
    local = await openStore({ dataDir: 'memory://' });
    pusher = createSync({
      store: local,
      remote: {
        baseUrl: `${proxy.url}/fhir`,
        party: 'other-health-care',
        bundle: 'batch',
        retry: { initialDelayMs: 5, maxDelayMs: 20 },
      },
      today: () => '2026-06-01',
    });
    await pusher.ready;
  });
  afterAll(async () => {
    await pusher.stop();
    await local.close();
    await proxy.close();
    await gonePeer.close();
  });

  /** A permitted client's Observation on the remote; its local resource and remote id. */
  async function observationThere(hetu: string): Promise<{ obs: Observation; remoteId: string }> {
    const p = (await local.create(patient(hetu))).resource as Patient;
    await local.create(consent(p.id!));
    const obs = (await local.create(score(p.id!, 5))).resource as Observation;
    await pusher.pushOnce();
    const [m] = await local.query<{ remote_id: string }>(
      "SELECT remote_id FROM sync_idmap WHERE resource_type = 'Observation' AND local_id = $1",
      [obs.id],
    );
    return { obs, remoteId: m!.remote_id };
  }

  const deleteRow = async (id: string) =>
    (
      await local.query<{ state: string; reason: string | null }>(
        "SELECT state, reason FROM sync_outbox WHERE resource_type = 'Observation' AND resource_id = $1 AND action = 'delete'",
        [id],
      )
    )[0];

  it('deleted on the remote first, then here: the delete settles done, no dead letter', async () => {
    const { obs, remoteId } = await observationThere('270181-9206');
    const there = await fetch(`${gonePeer.url}/Observation/${remoteId}`, { method: 'DELETE' });
    expect(there.ok).toBe(true);
    await local.delete('Observation', obs.id!);
    await pusher.pushOnce();
    expect(await deleteRow(obs.id!)).toEqual({ state: 'done', reason: 'already gone from the remote' });
    expect((await pusher.status()).states.dead).toBe(0);
  });

  it("our DELETE's answer lost: the retry meets the copy it deleted, and the delete settles done", async () => {
    const { obs, remoteId } = await observationThere('280181-921E');
    proxy.faults.dropNext = 1;
    await local.delete('Observation', obs.id!);
    await pusher.pushOnce();
    expect(proxy.stats.dropped).toBe(1);
    expect(await deleteRow(obs.id!)).toEqual({ state: 'done', reason: 'already gone from the remote' });
    expect((await pusher.status()).states.dead).toBe(0);
    expect((await fetch(`${gonePeer.url}/Observation/${remoteId}`)).status).toBe(404);
  });

  it('edits in a batch Bundle of copies deleted on the remote are created again, as a single edit is', async () => {
    const first = await observationThere('290181-922F');
    const second = await observationThere('300181-923H');
    for (const { remoteId } of [first, second])
      expect((await fetch(`${gonePeer.url}/Observation/${remoteId}`, { method: 'DELETE' })).ok).toBe(true);
    for (const { obs } of [first, second])
      await local.update({ ...obs, valueInteger: 9 }, { ifMatch: obs.meta!.versionId });
    await pusher.pushOnce();
    expect((await pusher.status()).states.dead).toBe(0);
    for (const { obs, remoteId } of [first, second]) {
      const copies = (await remoteAll(
        gonePeer.url,
        'Observation',
        `identifier=${identifierOf(obs)}`,
      )) as Observation[];
      expect(copies.map((c) => [c.id === remoteId, c.valueInteger])).toEqual([[false, 9]]);
    }
  });
});

describe('412 conflicts, policy per resource family', () => {
  it('local wins for a professional record: the local version is written over the remote change, logged', async () => {
    const client = await syncedClient('060681-905T');
    const obs = (await store.create(score(client.local, 3))).resource as Observation;
    await sync.pushOnce();
    const [remote] = (await remoteAll(
      peer.url,
      'Observation',
      `identifier=${obs.identifier![0].value}`,
    )) as Observation[];
    await remotePut(peer.url, { ...remote, valueInteger: 9 });
    await store.update({ ...obs, valueInteger: 2 }, { ifMatch: obs.meta!.versionId });
    await sync.pushOnce();
    const [after] = (await remoteAll(
      peer.url,
      'Observation',
      `identifier=${obs.identifier![0].value}`,
    )) as Observation[];
    expect(after.valueInteger).toBe(2);
    const conflicts = await store.query<{ policy: string; resolution: string }>(
      'SELECT policy, resolution FROM sync_conflict WHERE resource_id = $1',
      [obs.id],
    );
    expect(conflicts).toEqual([{ policy: 'local-wins', resolution: 'local written' }]);
    expect((await outboxOf('Observation', obs.id!))[1].reason).toMatch(/local-wins/);
  });

  it('remote wins for Consent (the client is the source of truth): the local copy takes the remote version', async () => {
    const client = await syncedClient('070781-906U');
    const local = await store.read<Consent>('Consent', client.consentId);
    const [remote] = (await remoteAll(peer.url, 'Consent', `patient=Patient/${client.remote}`)) as Consent[];
    await remotePut(peer.url, {
      ...remote,
      provision: { ...remote.provision, period: { start: '2026-01-01', end: '2026-12-31' } },
    });
    await store.update({ ...local, dateTime: '2026-01-02' }, { ifMatch: local.meta!.versionId });
    await sync.pushOnce();
    const after = await store.read<Consent>('Consent', client.consentId);
    expect(after.provision?.period?.end).toBe('2026-12-31');
    const rows = await outboxOf('Consent', client.consentId);
    expect(rows).toHaveLength(2); // the pulled remote version was not echoed back
    expect(rows[1].reason).toMatch(/remote-wins/);
  });

  it('remote wins only with a version a write here may store: one failing our profile is parked, local kept', async () => {
    const client = await syncedClient('210181-921Y');
    const local = await store.read<Consent>('Consent', client.consentId);
    const [remote] = (await remoteAll(peer.url, 'Consent', `patient=Patient/${client.remote}`)) as Consent[];
    // Withdrawn without the withdrawal date our profile requires (tyk-con-1); the peer does not know it.
    await remotePut(peer.url, { ...remote, status: 'inactive' });
    await store.update({ ...local, dateTime: '2026-01-03' }, { ifMatch: local.meta!.versionId });
    await sync.pushOnce();
    const after = await store.read<Consent>('Consent', client.consentId);
    expect(after.status).toBe('active');
    expect(after.dateTime).toBe('2026-01-03');
    const parked = (await sync.parked()).find((r) => r.resource_id === client.consentId);
    expect(parked?.reason).toBe(
      `conflict: remote Consent/${remote.id} changed, and its version fails what a write here must pass (tyk-con-1); local version kept; parked for manual resolution`,
    );
    expect(parked?.outcome?.issue?.map((i) => i.diagnostics?.split(':')[0])).toEqual([
      'sync-conflict-1',
      'tyk-con-1',
    ]);
    const conflicts = await store.query<{ policy: string; resolution: string }>(
      'SELECT policy, resolution FROM sync_conflict WHERE resource_id = $1',
      [client.consentId],
    );
    expect(conflicts).toEqual([{ policy: 'remote-wins', resolution: 'parked: remote version refused' }]);
    const [still] = (await remoteAll(peer.url, 'Consent', `patient=Patient/${client.remote}`)) as Consent[];
    expect(still.status).toBe('inactive');
  });

  /** A CarePlan edited on both sides and its row parked: the plan, the row and the remote copy's titles. */
  async function parkedPlan(hetu: string) {
    const client = await syncedClient(hetu);
    const plan = (await store.create(carePlan(client.local))).resource as CarePlan;
    await sync.pushOnce();
    const [remote] = (await remoteAll(
      peer.url,
      'CarePlan',
      `subject=Patient/${client.remote}`,
    )) as CarePlan[];
    await remotePut(peer.url, { ...remote, title: 'Muutettu toisessa järjestelmässä' });
    await store.update({ ...plan, title: 'Paikallinen muutos' }, { ifMatch: plan.meta!.versionId });
    await sync.pushOnce();
    const row = (await sync.parked()).find((r) => r.resource_id === plan.id);
    expect(row?.state).toBe('parked');
    const remoteTitle = async () =>
      ((await remoteAll(peer.url, 'CarePlan', `subject=Patient/${client.remote}`)) as CarePlan[]).map(
        (c) => c.title,
      );
    return { plan, row: row!, remoteTitle };
  }

  it('park (configured for CarePlan): the row waits for a person, visible with the reason', async () => {
    const { row, remoteTitle } = await parkedPlan('080881-907V');
    expect(row.reason).toMatch(/parked for manual resolution/);
    expect(row.outcome?.issue?.[0]).toMatchObject({ expression: ['CarePlan.meta.versionId'] });
    expect(row.outcome?.issue?.[0]?.diagnostics).toMatch(/^sync-conflict-1/);
    expect(await remoteTitle()).toEqual(['Muutettu toisessa järjestelmässä']);
  });

  const conflictsOf = (id: string) =>
    store.query<{ policy: string; resolution: string }>(
      'SELECT policy, resolution FROM sync_conflict WHERE resource_id = $1 ORDER BY id',
      [id],
    );

  it('a parked row retried meets the same conflict and parks again: retry alone resolves nothing', async () => {
    const { plan, row, remoteTitle } = await parkedPlan('231181-923C');
    expect(await sync.retry(row.id)).toBe(1);
    await sync.pushOnce();
    expect((await outboxOf('CarePlan', plan.id!)).at(-1)?.state).toBe('parked');
    expect(await remoteTitle()).toEqual(['Muutettu toisessa järjestelmässä']);
  });

  it('resolve keeping the local version writes it over the remote change; the conflict names the choice', async () => {
    const { plan, row, remoteTitle } = await parkedPlan('241181-9242');
    expect(await sync.resolve(row.id, 'local')).toEqual({ row: row.id, superseded: [] });
    await sync.pushOnce();
    expect((await outboxOf('CarePlan', plan.id!)).at(-1)?.state).toBe('done');
    expect(await remoteTitle()).toEqual(['Paikallinen muutos']);
    expect((await store.read<CarePlan>('CarePlan', plan.id!)).title).toBe('Paikallinen muutos');
    expect((await conflictsOf(plan.id!)).at(-1)).toEqual({
      policy: 'local-wins',
      resolution: 'local written (an operator chose local)',
    });
    // Once settled, nothing is left to resolve.
    expect(await sync.resolve(row.id, 'remote')).toBeUndefined();
  });

  it('resolve keeping the remote version stores it here; the local edit is not sent', async () => {
    const { plan, row, remoteTitle } = await parkedPlan('251181-925R');
    expect(await sync.resolve(row.id, 'remote')).toEqual({ row: row.id, superseded: [] });
    await sync.pushOnce();
    const [settled] = (await outboxOf('CarePlan', plan.id!)).filter((r) => r.id === row.id);
    expect(settled).toMatchObject({ state: 'done', reason: 'conflict: remote version kept (remote-wins)' });
    expect((await store.read<CarePlan>('CarePlan', plan.id!)).title).toBe('Muutettu toisessa järjestelmässä');
    expect(await remoteTitle()).toEqual(['Muutettu toisessa järjestelmässä']);
    expect((await conflictsOf(plan.id!)).at(-1)).toEqual({
      policy: 'remote-wins',
      resolution: 'remote kept (an operator chose remote)',
    });
    // Storing the remote version here queued nothing to send back.
    expect((await outboxOf('CarePlan', plan.id!)).at(-1)?.id).toBe(row.id);
  });

  /** parkedPlan, then the plan edited here again: that edit meets the same remote change and parks too. */
  async function twiceParkedPlan(hetu: string) {
    const parked = await parkedPlan(hetu);
    const now = await store.read<CarePlan>('CarePlan', parked.plan.id!);
    await store.update({ ...now, title: 'Toinen muutos' }, { ifMatch: now.meta!.versionId });
    await sync.pushOnce();
    const rows = await outboxOf('CarePlan', parked.plan.id!);
    expect(rows.slice(-2).map((r) => r.state)).toEqual(['parked', 'parked']);
    return { ...parked, newer: rows.at(-1)!.id };
  }

  it('a plan edited again while parked: keeping local (chosen on either row) writes the newest local version, the older row superseded', async () => {
    for (const [hetu, which] of [
      ['151181-914X', 'older'],
      ['161181-915L', 'newer'],
    ] as const) {
      const { plan, row, newer, remoteTitle } = await twiceParkedPlan(hetu);
      expect(await sync.resolve(which === 'older' ? row.id : newer, 'local')).toEqual({
        row: newer,
        superseded: [row.id],
      });
      await sync.pushOnce();
      expect(await remoteTitle()).toEqual(['Toinen muutos']);
      expect((await store.read<CarePlan>('CarePlan', plan.id!)).title).toBe('Toinen muutos');
      const rows = await outboxOf('CarePlan', plan.id!);
      expect(rows.find((r) => r.id === row.id)).toMatchObject({
        state: 'done',
        reason: `superseded: a later change of the resource (outbox ${newer}) was resolved keeping local`,
      });
      expect(rows.find((r) => r.id === newer)).toMatchObject({
        state: 'done',
        reason: 'conflict: local version written over the remote one (local-wins)',
      });
      // Nothing is left to resolve for either row.
      expect(await sync.resolve(row.id, 'remote')).toBeUndefined();
      expect(await sync.resolve(newer, 'remote')).toBeUndefined();
    }
  });

  it('a plan edited again while parked: keeping remote stores the remote version here; neither local edit is sent', async () => {
    const { plan, row, newer, remoteTitle } = await twiceParkedPlan('171181-9169');
    expect(await sync.resolve(row.id, 'remote')).toEqual({ row: newer, superseded: [row.id] });
    await sync.pushOnce();
    expect(await remoteTitle()).toEqual(['Muutettu toisessa järjestelmässä']);
    expect((await store.read<CarePlan>('CarePlan', plan.id!)).title).toBe('Muutettu toisessa järjestelmässä');
    const rows = await outboxOf('CarePlan', plan.id!);
    expect(rows.filter((r) => r.id === row.id || r.id === newer).map((r) => r.state)).toEqual([
      'done',
      'done',
    ]);
    expect(rows.at(-1)?.id).toBe(newer);
  });

  it('a plan deleted here while parked: the delete goes (the last word) and settles the parked row with it', async () => {
    const { plan, row, remoteTitle } = await parkedPlan('181181-917Y');
    await store.delete('CarePlan', plan.id!);
    await sync.pushOnce();
    expect(await remoteTitle()).toEqual([]);
    const rows = await outboxOf('CarePlan', plan.id!);
    expect(rows.find((r) => r.id === row.id)).toMatchObject({
      state: 'done',
      reason: 'not sent: the delete that followed it has gone to the remote',
    });
    expect(rows.map((r) => r.state)).toEqual(['done', 'done', 'done']);
    expect(await sync.resolve(row.id, 'local')).toBeUndefined();
  });

  it('resolve keeping a remote version a write here may not store parks the row again, naming the rules', async () => {
    const { plan, row, remoteTitle } = await parkedPlan('261181-926D');
    // The remote changes it again, now claiming our support-plan profile without what it requires.
    const [there] = (await remoteAll(peer.url, 'CarePlan', `identifier=${identifierOf(plan)}`)) as CarePlan[];
    await remotePut(peer.url, {
      ...there,
      meta: { profile: ['https://tyokyky-fhir.org/fhir/StructureDefinition/tyokyky-support-plan'] },
    });
    expect(await sync.resolve(row.id, 'remote')).toEqual({ row: row.id, superseded: [] });
    await sync.pushOnce();
    const [again] = (await outboxOf('CarePlan', plan.id!)).filter((r) => r.id === row.id);
    expect(again.state).toBe('parked');
    expect(again.reason).toMatch(
      /changed, and its version fails what a write here must pass \(.+\); local version kept/,
    );
    expect((await conflictsOf(plan.id!)).at(-1)).toEqual({
      policy: 'remote-wins',
      resolution: 'parked: remote version refused',
    });
    expect((await store.read<CarePlan>('CarePlan', plan.id!)).title).toBe('Paikallinen muutos');
    expect(await remoteTitle()).toEqual(['Muutettu toisessa järjestelmässä']);
  });
});

describe('consent-aware disclosure', () => {
  it('blocks a client without consent, with the reason; a recorded consent releases the rows', async () => {
    const p = (await store.create(patient('090981-908W'))).resource as Patient;
    const obs = (await store.create(score(p.id!))).resource as Observation;
    const r = await sync.pushOnce();
    expect(r.blocked).toBe(2);
    const blocked = (await sync.blocked()).filter((b) => b.patient_id === p.id);
    expect(blocked.map((b) => b.reason)).toEqual([
      'not disclosed: identification to other-health-care on 2026-06-01 — no consent recorded',
      // The client's identity gates everything that refers to the client.
      "not disclosed: identification to other-health-care on 2026-06-01 — no consent recorded; the client's Patient may not be disclosed, so nothing referring to the client is disclosed",
    ]);
    expect((await sync.status()).blockedByConsent).toBeGreaterThanOrEqual(2);
    expect(await remoteAll(peer.url, 'Patient', 'identifier=urn:oid:1.2.246.21|090981-908W')).toHaveLength(0);

    await store.create(consent(p.id!));
    await sync.pushOnce();
    expect((await outboxOf('Observation', obs.id!))[0].state).toBe('done');
    expect(await remoteAll(peer.url, 'Patient', 'identifier=urn:oid:1.2.246.21|090981-908W')).toHaveLength(1);
  });

  it('blocks a data class the consent does not name', async () => {
    const p = (await store.create(patient('101081-909X'))).resource as Patient;
    const k = (await store.create(consent(p.id!, { dataClasses: ['identification'] }))).resource as Consent;
    const obs = (await store.create(score(p.id!))).resource as Observation;
    await sync.pushOnce();
    const [row] = await outboxOf('Observation', obs.id!);
    expect(row).toMatchObject({
      state: 'blocked',
      reason: `not disclosed: work-ability-assessment to other-health-care on 2026-06-01 — consent Consent/${k.id} does not cover data class 'work-ability-assessment'`,
    });
    expect((await outboxOf('Patient', p.id!))[0].state).toBe('done'); // identification is covered
  });

  it('never sends a resource labelled restricted (v3 Confidentiality R), whatever the consent; its next version without the label goes', async () => {
    const p = (await store.create(patient('180181-916F'))).resource as Patient;
    await store.create(consent(p.id!));
    const label = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' };
    const made = score(p.id!);
    const obs = (await store.create({ ...made, meta: { ...made.meta, security: [label] } }))
      .resource as Observation;
    await sync.pushOnce();
    const [row] = await outboxOf('Observation', obs.id!);
    // Settled unsent, not blocked: no consent changes what a restricted version may reach.
    expect(row).toMatchObject({
      state: 'done',
      reason: 'restricted (meta.security v3 Confidentiality R): not disclosed to a receiving party',
    });
    expect((await sync.blocked()).filter((b) => b.resource_id === obs.id)).toEqual([]);
    // A refused disclosure in the client's audit log, as a consent refusal is.
    const batches = await store.query<{ events: string }>(
      'SELECT events FROM security_audit WHERE patients @> ARRAY[$1::text]',
      [`Patient/${p.id}`],
    );
    const refused = batches
      .flatMap((b) => JSON.parse(b.events) as { entities: string[]; outcome: string; detail?: string }[])
      .filter((e) => e.entities.includes(`Observation/${obs.id}`));
    expect(refused).toEqual([
      expect.objectContaining({
        outcome: '4',
        detail: 'restricted (meta.security v3 Confidentiality R): not disclosed to a receiving party',
      }),
    ]);
    expect((await outboxOf('Patient', p.id!))[0].state).toBe('done');
    expect(await remoteAll(peer.url, 'Observation', `identifier=${identifierOf(obs)}`)).toHaveLength(0);
    // The label taken away here: that version goes.
    await store.update(
      { ...obs, meta: { ...obs.meta, security: undefined } },
      { ifMatch: obs.meta?.versionId },
    );
    await sync.pushOnce();
    expect(await remoteAll(peer.url, 'Observation', `identifier=${identifierOf(obs)}`)).toHaveLength(1);
  });

  it("a client whose Patient is restricted: the Patient is never sent, and the client's data waits for it, never sent with a local id", async () => {
    const label = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' };
    const made = patient('141181-9138');
    const p = (await store.create({ ...made, meta: { ...made.meta, security: [label] } }))
      .resource as Patient;
    await store.create(consent(p.id!));
    const obs = (await store.create(score(p.id!))).resource as Observation;
    await sync.pushOnce();
    expect((await outboxOf('Patient', p.id!))[0]).toMatchObject({
      state: 'done',
      reason: 'restricted (meta.security v3 Confidentiality R): not disclosed to a receiving party',
    });
    expect((await outboxOf('Observation', obs.id!))[0]).toMatchObject({
      state: 'held',
      reason: `held: depends on Patient/${p.id}, which is not on the remote (restricted (meta.security v3 Confidentiality R): not disclosed to a receiving party)`,
    });
    expect(await remoteAll(peer.url, 'Patient', 'identifier=urn:oid:1.2.246.21|141181-9138')).toHaveLength(0);
    expect(await remoteAll(peer.url, 'Observation', `identifier=${identifierOf(obs)}`)).toHaveLength(0);
  });

  it("a withdrawal of a consent the remote holds goes to the remote; the client's other data no longer does", async () => {
    const client = await syncedClient('180181-916F');
    const local = await store.read<Consent>('Consent', client.consentId);
    await store.update(withdrawn(local), { ifMatchOptional: true });
    const obs = (await store.create(score(client.local))).resource as Observation;
    await sync.pushOnce();
    const consentRows = await outboxOf('Consent', client.consentId);
    expect(consentRows.at(-1)?.state).toBe('done');
    const [remote] = (await remoteAll(peer.url, 'Consent', `patient=Patient/${client.remote}`)) as Consent[];
    expect(remote.status).toBe('inactive');
    expect((await outboxOf('Observation', obs.id!))[0].state).toBe('blocked');
    // A withdrawn Consent the remote never held is not sent: that would disclose the client.
    const p = (await store.create(patient('190181-917H'))).resource as Patient;
    const never = (await store.create(consent(p.id!, { status: 'inactive' }))).resource as Consent;
    await sync.pushOnce();
    expect((await outboxOf('Consent', never.id!))[0].state).toBe('blocked');
  });

  it('a Consent that names its client other than as Patient/<local id> is blocked, not sent', async () => {
    const byIdentifier = {
      ...consent('unused'),
      patient: { type: 'Patient', identifier: { system: 'urn:oid:1.2.246.21', value: '030879-904X' } },
    } as Consent;
    const byUrl = { ...consent('unused'), patient: { reference: 'http://local.example/fhir/Patient/p1' } };
    const rows = [];
    for (const c of [byIdentifier, byUrl]) rows.push((await store.create(c)).resource as Consent);
    await sync.pushOnce();
    for (const c of rows) {
      expect(await outboxOf('Consent', c.id!)).toEqual([
        expect.objectContaining({
          state: 'blocked',
          reason:
            'Consent names no client as Patient/<id> of this store (patient or subject), so no consent can cover its disclosure',
        }),
      ]);
      expect(await remoteAll(peer.url, 'Consent', `identifier=${c.identifier![0].value}`)).toHaveLength(0);
    }
  });

  it('a reference to another client whose identification may not go holds the row until it may', async () => {
    const a = await syncedClient('140181-912B');
    const b = await syncedClient('150181-913C');
    const bConsent = await store.read<Consent>('Consent', b.consentId);
    await store.update({ ...bConsent, status: 'inactive' }, { ifMatchOptional: true });
    const obs = (
      await store.create({
        ...score(a.local),
        performer: [{ reference: `Patient/${b.local}` }],
      } as Observation)
    ).resource as Observation;
    await sync.pushOnce();
    const [held] = await outboxOf('Observation', obs.id!);
    expect(held).toMatchObject({ state: 'held' });
    expect(held.reason).toBe(
      `held: refers to Patient/${b.local}, another client — not disclosed: identification to other-health-care on 2026-06-01 — consent Consent/${b.consentId} is inactive (withdrawn)`,
    );
    expect(await remoteAll(peer.url, 'Observation', `subject=Patient/${a.remote}`)).toHaveLength(0);
    // B consents again: the row goes at its next look, references translated.
    await store.create(consent(b.local));
    await sync.retry(held.id);
    await sync.pushOnce();
    expect((await outboxOf('Observation', obs.id!))[0].state).toBe('done');
    const [sent] = (await remoteAll(peer.url, 'Observation', `subject=Patient/${a.remote}`)) as Observation[];
    expect(sent.performer).toEqual([{ reference: `Patient/${b.remote}` }]);
  });

  it('holds a row with an absolute reference it cannot translate; one to the remote itself goes as it is', async () => {
    const a = await syncedClient('160181-914D');
    const foreign = (
      await store.create({
        ...score(a.local),
        derivedFrom: [{ reference: 'http://elsewhere.example/fhir/Observation/o1?x=secret' }],
      } as Observation)
    ).resource as Observation;
    const first = (await store.create(score(a.local))).resource as Observation;
    await sync.pushOnce();
    const [held] = await outboxOf('Observation', foreign.id!);
    expect(held).toMatchObject({
      state: 'held',
      reason:
        'held: references an absolute URL at http://elsewhere.example, which the sync cannot translate (it may point at this store); refer to it as Type/id or by identifier',
    });
    const [m] = await store.query<{ remote_id: string }>(
      "SELECT remote_id FROM sync_idmap WHERE resource_type = 'Observation' AND local_id = $1",
      [first.id],
    );
    const onRemote = (
      await store.create({
        ...score(a.local),
        derivedFrom: [{ reference: `${peer.url}/Observation/${m.remote_id}` }],
      } as Observation)
    ).resource as Observation;
    await sync.pushOnce();
    expect((await outboxOf('Observation', onRemote.id!))[0].state).toBe('done');
  });

  it("a versioned reference goes as the remote's same version; one to an earlier version is held, never sent with a local id", async () => {
    const a = await syncedClient('170181-9156');
    const first = (await store.create(score(a.local))).resource as Observation;
    await sync.pushOnce();
    const [m] = await store.query<{ remote_id: string; remote_version: string }>(
      "SELECT remote_id, remote_version FROM sync_idmap WHERE resource_type = 'Observation' AND local_id = $1",
      [first.id],
    );
    /** A new score derived from version 1 of the first. */
    const derivedFromVersion1 = async () =>
      (
        await store.create({
          ...score(a.local),
          derivedFrom: [{ reference: `Observation/${first.id}/_history/1` }],
        } as Observation)
      ).resource as Observation;
    const current = await derivedFromVersion1();
    await sync.pushOnce();
    expect((await outboxOf('Observation', current.id!))[0]).toMatchObject({ state: 'done' });
    const onRemote = (await remoteAll(
      peer.url,
      'Observation',
      `subject=Patient/${a.remote}`,
    )) as Observation[];
    expect(onRemote.flatMap((o) => o.derivedFrom ?? [])).toEqual([
      { reference: `Observation/${m.remote_id}/_history/${m.remote_version}` },
    ]);
    // Once the local copy moves on, version 1 has no remote counterpart the sync knows.
    await store.update({ ...first, valueInteger: 3 } as Observation, { ifMatchOptional: true });
    const older = await derivedFromVersion1();
    await sync.pushOnce();
    const [held] = await outboxOf('Observation', older.id!);
    expect(held).toMatchObject({
      state: 'held',
      reason: `held: refers to version 1 of Observation/${first.id}, but the remote gets the copy of version 2; refer to Observation/${first.id} without a version`,
    });
    expect(await remoteAll(peer.url, 'Observation', `subject=Patient/${a.remote}`)).toHaveLength(2);
  });

  it('a consent withdrawn in the remote, once pulled, blocks the next push of that client', async () => {
    const client = await syncedClient('111181-910Y');
    const [remote] = (await remoteAll(peer.url, 'Consent', `patient=Patient/${client.remote}`)) as Consent[];
    // What the client's withdrawal in Omakanta looks like (tyk-con-1: inactive ⇒ withdrawal date).
    await remotePut(peer.url, withdrawn(remote as Consent));
    const pulled = await sync.pullOnce();
    expect(pulled.applied).toBeGreaterThanOrEqual(1);
    expect((await store.read<Consent>('Consent', client.consentId)).status).toBe('inactive');
    expect(await outboxOf('Consent', client.consentId)).toHaveLength(1); // pulled write not echoed
    const obs = (await store.create(score(client.local))).resource as Observation;
    await sync.pushOnce();
    const [row] = await outboxOf('Observation', obs.id!);
    expect(row.state).toBe('blocked');
    expect(row.reason).toBe(
      `not disclosed: identification to other-health-care on 2026-06-01 — consent Consent/${client.consentId} is inactive (withdrawn); the client's Patient may not be disclosed, so nothing referring to the client is disclosed`,
    );
    expect(await remoteAll(peer.url, 'Observation', `subject=Patient/${client.remote}`)).toHaveLength(0);
  });
});

describe('pull from a Medplum peer', () => {
  it('stores self-assessments filled in the remote, through all pages, idempotently, without echo', async () => {
    const client = await syncedClient('121281-911A');
    const qrs: QuestionnaireResponse[] = [];
    for (let i = 0; i < 5; i++) {
      qrs.push(await remotePost(peer.url, selfAssessment(client.remote)));
    }
    const first = await sync.pullOnce();
    expect(first.applied).toBeGreaterThanOrEqual(5);
    const local = (await store.search('QuestionnaireResponse', { subject: `Patient/${client.local}` }))
      .resources;
    expect(local).toHaveLength(5);
    expect(new Set(local.map((r) => (r as QuestionnaireResponse).identifier?.value))).toEqual(
      new Set(qrs.map((q) => q.identifier?.value)),
    );
    const outbox = await store.query(
      "SELECT 1 FROM sync_outbox WHERE resource_type = 'QuestionnaireResponse' AND patient_id = $1",
      [client.local],
    );
    expect(outbox).toHaveLength(0);
    const again = await sync.pullOnce();
    expect(again.applied).toBe(0);
    for (const r of local) expect(await store.history('QuestionnaireResponse', r.id!)).toHaveLength(1);
    const cursor = await store.query('SELECT last_updated FROM sync_cursor WHERE patient_id = $1', [
      client.local,
    ]);
    expect(cursor.length).toBeGreaterThan(0);
  });
});

describe('pull: references the id map does not know', () => {
  it("become the remote's absolute URL, never a bare remote id that would dangle here", async () => {
    const client = await syncedClient('171181-915E');
    const plan = await remotePost(peer.url, carePlan(client.remote, 'Vain toisessa järjestelmässä'));
    const qr = await remotePost(peer.url, {
      ...selfAssessment(client.remote),
      basedOn: [{ reference: `CarePlan/${plan.id}` }],
    } as QuestionnaireResponse);
    await sync.pullOnce();
    const [local] = (
      await store.search('QuestionnaireResponse', {
        identifier: `${qr.identifier?.system}|${qr.identifier?.value}`,
      })
    ).resources as QuestionnaireResponse[];
    expect(local.subject).toEqual({ reference: `Patient/${client.local}` });
    expect(local.basedOn).toEqual([{ reference: `${peer.url}/CarePlan/${plan.id}` }]);
  });
});

describe('pull: what the facade would refuse is not stored here', () => {
  it('a remote resource failing its declared profile is refused and counted; the others are stored', async () => {
    const client = await syncedClient('190181-917J');
    const good = await remotePost(peer.url, selfAssessment(client.remote));
    // The peer does not know our profiles; ours refuses this response (no questionnaire, no items of its own).
    const bad = await remotePost(peer.url, {
      ...selfAssessment(client.remote),
      meta: {
        profile: ['https://tyokyky-fhir.org/fhir/StructureDefinition/tyokyky-self-assessment-response'],
      },
    } as QuestionnaireResponse);
    // Counted by type: other tests' clients hold a Consent written locally without the profile's
    // withdrawal date (tyk-con-1); a pull refuses such a one whenever the remote has a version of it
    // the id map does not (a version already held is not judged again).
    const refusedResponses = async () =>
      (await sync.metrics.getSingleMetric('tyokyky_sync_pulled_total')?.get())?.values.find(
        (v) => v.labels.type === 'QuestionnaireResponse' && v.labels.result === 'refused',
      )?.value ?? 0;
    const before = await refusedResponses();
    const pulled = await sync.pullOnce();
    expect(pulled.refused).toBeGreaterThanOrEqual(1);
    expect((await refusedResponses()) - before).toBe(1);
    const held = async (qr: QuestionnaireResponse) =>
      (
        await store.search('QuestionnaireResponse', {
          identifier: `${qr.identifier?.system}|${qr.identifier?.value}`,
        })
      ).resources;
    expect(await held(good)).toHaveLength(1);
    expect(await held(bad)).toHaveLength(0);
  });
});

describe('pull: versioned references', () => {
  it('name the local copy of the version the id map synced; any other version stays on the remote', async () => {
    const client = await syncedClient('180181-916V');
    const [m] = await store.query<{ remote_version: string }>(
      "SELECT remote_version FROM sync_idmap WHERE resource_type = 'Patient' AND local_id = $1",
      [client.local],
    );
    const same = await remotePost(peer.url, {
      ...selfAssessment(client.remote),
      source: { reference: `Patient/${client.remote}/_history/${m.remote_version}` },
    } as QuestionnaireResponse);
    const other = await remotePost(peer.url, {
      ...selfAssessment(client.remote),
      source: { reference: `Patient/${client.remote}/_history/not-ours` },
    } as QuestionnaireResponse);
    await sync.pullOnce();
    const local = async (qr: QuestionnaireResponse) =>
      (
        await store.search('QuestionnaireResponse', {
          identifier: `${qr.identifier?.system}|${qr.identifier?.value}`,
        })
      ).resources[0] as QuestionnaireResponse;
    expect((await local(same)).source).toEqual({ reference: `Patient/${client.local}/_history/1` });
    expect((await local(other)).source).toEqual({
      reference: `${peer.url}/Patient/${client.remote}/_history/not-ours`,
    });
  });
});

describe('configuration', () => {
  it('sync-config-2: a store stays with its remote; the same server under another URL is accepted', async () => {
    await syncedClient('200181-918J');
    const other = await startMedplumPeer();
    try {
      const elsewhere = createSync({
        store,
        remote: { baseUrl: other.url, party: 'other-health-care' },
        installHook: false,
      });
      await elsewhere.ready;
      const refused = await elsewhere.pushOnce().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(FhirError);
      expect((refused as FhirError).outcome.issue?.[0]?.diagnostics).toBe(
        `sync-config-2: this store syncs with ${peer.url} (its id map holds that server's ids), and ${other.url} holds none of them; use a fresh store for another remote`,
      );
      expect(await remoteAll(other.url, 'Patient')).toHaveLength(0);
    } finally {
      await other.close();
    }
    const sameServer = peer.url.replace('127.0.0.1', 'localhost');
    expect(sameServer).not.toBe(peer.url);
    const renamed = createSync({
      store,
      remote: { baseUrl: sameServer, party: 'other-health-care' },
      installHook: false,
    });
    await renamed.ready;
    await renamed.pushOnce();
    const [bound] = await store.query<{ value: string }>("SELECT value FROM sync_state WHERE key = 'remote'");
    expect(bound?.value).toBe(sameServer);
    await sync.pushOnce(); // and back: the first URL is the same server too
  });

  it('sync-config-3: a store stays with its receiving party; syncing it as another party sends nothing', async () => {
    await syncedClient('210181-9145');
    const before = peer.stats.requests;
    const asKela = createSync({ store, remote: { baseUrl: peer.url, party: 'kela' }, installHook: false });
    await asKela.ready;
    for (const attempt of [() => asKela.pushOnce(), () => asKela.pullOnce()]) {
      const refused = await attempt().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(FhirError);
      expect((refused as FhirError).outcome.issue?.[0]?.diagnostics).toBe(
        "sync-config-3: this store syncs as party other-health-care (what it sent was judged by that party's consents), not as kela; use a fresh store for another party",
      );
    }
    expect(peer.stats.requests).toBe(before);
    const [bound] = await store.query<{ value: string }>("SELECT value FROM sync_state WHERE key = 'party'");
    expect(bound?.value).toBe('other-health-care');
  });

  it('sync-config-1: a second outbox hook on the same store is refused', async () => {
    let err: unknown;
    try {
      createSync({ store, remote: { baseUrl: peer.url, party: 'kela' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FhirError);
    expect((err as FhirError).outcome.issue?.[0]?.diagnostics).toMatch(
      /^sync-config-1: this store already has a sync service/,
    );
    // an extra worker without the hook is fine
    const extra = createSync({ store, remote: { baseUrl: peer.url, party: 'kela' }, installHook: false });
    await extra.ready;
  });
});

describe('remote client rules', () => {
  it('sync-search-1: a search without patient is refused before it is sent', async () => {
    const client = new RemoteClient({ baseUrl: peer.url, party: 'kela' });
    const before = peer.stats.requests;
    const attempt = async () => {
      for await (const _ of client.search('Consent', { status: 'active' })) break;
    };
    const err = await attempt().catch((e) => e);
    expect(err).toBeInstanceOf(FhirError);
    expect(err.status).toBe(400);
    expect(err.outcome.issue[0].expression).toEqual(['Consent.patient']);
    expect(err.outcome.issue[0].diagnostics).toMatch(/^sync-search-1:/);
    expect(peer.stats.requests).toBe(before);
  });
});
