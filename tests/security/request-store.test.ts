// The routes take the guarded store the security front bound to each request (no ambient context):
// many callers' requests interleaved in the same event-loop turns each see and are audited as their
// own caller, never another's.
import type { Bundle, Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { type Secured, startSecured } from './helpers.ts';

describe('per-request guarded store', () => {
  let store: Store;
  let s: Secured;
  let full: string;
  let party: string;
  let observationId: string;

  beforeAll(async () => {
    store = await openStore({ dataDir: 'memory://' });
    const validator = await loadProjectValidator();
    s = await startSecured(store, validator, { strict: false });
    full = (await s.client({ id: 'caseworker', scope: 'system/*.cruds' })).token;
    // A receiving party with no consent from anybody: it may see none of the client's data.
    party = (await s.client({ id: 'kela-interleaved', scope: 'system/*.rs', party: 'kela' })).token;
    const patient = await s.call(full, '/Patient', {
      method: 'POST',
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Lomittain' }] } satisfies Patient),
    });
    expect(patient.status).toBe(201);
    const patientId = ((await patient.json()) as Patient).id as string;
    const obs = await s.call(full, '/Observation', {
      method: 'POST',
      body: JSON.stringify({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'work ability' },
        subject: { reference: `Patient/${patientId}` },
      } satisfies Observation),
    });
    expect(obs.status).toBe(201);
    observationId = ((await obs.json()) as Observation).id as string;
  }, 120_000);
  afterAll(async () => {
    await s?.running.close();
    await store?.close();
  });

  it('answers interleaved requests of two callers each as its own caller, and audits them so', async () => {
    const rounds = 20;
    const calls = Array.from({ length: rounds }, () => [
      s.call(full, `/Observation/${observationId}`).then(async (r) => `full read ${r.status}`),
      s.call(party, `/Observation/${observationId}`).then(async (r) => `party read ${r.status}`),
      s
        .call(full, '/Observation?_total=accurate')
        .then(async (r) => `full search ${((await r.json()) as Bundle).total}`),
      s
        .call(party, '/Observation?_total=accurate')
        .then(async (r) => `party search ${((await r.json()) as Bundle).entry?.length ?? 0}`),
    ]).flat();
    const answers = await Promise.all(calls);
    expect(answers.filter((a) => a === 'full read 200')).toHaveLength(rounds);
    expect(answers.filter((a) => a === 'party read 403')).toHaveLength(rounds);
    expect(answers.filter((a) => a === 'full search 1')).toHaveLength(rounds);
    expect(answers.filter((a) => a === 'party search 0')).toHaveLength(rounds);

    // Every successful read is in the audit log under the caller that made it; refusals likewise.
    const rows = await store.query<{ events: string }>('SELECT events FROM security_audit');
    const events = rows.flatMap(
      (r) =>
        JSON.parse(r.events) as {
          client: string;
          interaction: string;
          outcome: string;
          entities: string[];
        }[],
    );
    const count = (client: string, interaction: string, outcome: string) =>
      events.filter(
        (e) =>
          e.client === client &&
          e.interaction === interaction &&
          e.outcome === outcome &&
          (interaction !== 'read' || e.entities[0] === `Observation/${observationId}`),
      ).length;
    expect(count('caseworker', 'read', '0')).toBe(rounds);
    expect(count('kela-interleaved', 'read', '0')).toBe(0);
    expect(count('kela-interleaved', 'read', '4')).toBe(rounds);
    expect(count('caseworker', 'search-type', '0')).toBe(rounds);
    expect(count('kela-interleaved', 'search-type', '0')).toBe(rounds);
  });
});
