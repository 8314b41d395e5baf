// A client's disclosure log read off audit records written as the facade and the sync write them, on
// an in-memory PGlite store: what counts as a disclosure, and that one client's log never names
// another client's resources or consents.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Disclosure, disclosureLog } from '../../src/server/security/disclosures.ts';
import {
  type AuditRecord,
  type Store,
  insertAudit,
  migrateAuditLog,
  openStore,
} from '../../src/store/index.ts';
import { afterInstant } from '../helpers/clock.ts';

const SUVI = { patient: 'Patient/suvi', consents: new Set(['Consent/suvi-1']) };
const REMOTE = 'https://remote.example/fhir';

const record = (r: Partial<AuditRecord>): AuditRecord => ({
  client: 'kela-app',
  party: 'kela',
  interaction: 'read',
  action: 'R',
  outcome: '0',
  entities: [],
  patients: ['Patient/suvi'],
  ...r,
});

let store: Store;
let log: Disclosure[];

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  await migrateAuditLog(store);
  // Oldest first, in two batches (two rows of the audit table).
  await insertAudit(store, [
    record({ entities: ['Observation/o1'], consents: ['Consent/suvi-1'] }),
    // A party's search that returned two clients' data, with an included resource of Maija's.
    record({
      interaction: 'search-type',
      action: 'E',
      entities: ['Observation', 'Goal/maija-goal'],
      patients: ['Patient/suvi', 'Patient/maija'],
      consents: ['Consent/suvi-1', 'Consent/maija-1'],
      query: 'Observation?code=x',
    }),
    // Not disclosures: the service's own client reading, a party writing, a sync import.
    record({ client: 'ehr', party: undefined, entities: ['Observation/o1'] }),
    record({ interaction: 'create', action: 'C', entities: ['Observation/o2'] }),
    record({
      client: 'tyokyky-sync',
      party: 'other-health-care',
      interaction: 'create',
      action: 'C',
      entities: ['QuestionnaireResponse/q1'],
      transfer: { direction: 'import', remote: REMOTE },
    }),
  ]);
  await insertAudit(store, [
    record({
      client: 'tyokyky-sync',
      party: 'other-health-care',
      interaction: 'create',
      action: 'C',
      outcome: '4',
      detail: 'not disclosed: identification to other-health-care on 2026-12-05 — no consent',
      entities: ['Patient/suvi'],
      transfer: { direction: 'export', remote: REMOTE },
    }),
    // Maija's alone: not in Suvi's log.
    record({ entities: ['Observation/maija-obs'], patients: ['Patient/maija'] }),
  ]);
  log = await disclosureLog(store, SUVI);
}, 120_000);

afterAll(async () => {
  await store?.close();
});

describe("a client's disclosure log", () => {
  it('holds the party reads and searches and the sync exports, newest first', () => {
    expect(log.map((d) => [d.channel, d.interaction, d.outcome])).toEqual([
      ['sync', 'create', 'refused'],
      ['api', 'search-type', 'disclosed'],
      ['api', 'read', 'disclosed'],
    ]);
    expect(log[0]).toEqual({
      when: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      party: 'other-health-care',
      recipient: REMOTE,
      channel: 'sync',
      interaction: 'create',
      resources: ['Patient/suvi'],
      consents: [],
      outcome: 'refused',
      reason: 'not disclosed: identification to other-health-care on 2026-12-05 — no consent',
    });
    expect(log[2]).toMatchObject({
      recipient: 'kela-app',
      resources: ['Observation/o1'],
      consents: ['Consent/suvi-1'],
    });
  });

  it("names only the types a search shared with other clients' data, and only the client's own consents", () => {
    expect(log[1]).toMatchObject({ resources: ['Observation', 'Goal'], consents: ['Consent/suvi-1'] });
    expect(JSON.stringify(log)).not.toMatch(/maija/);
  });

  it('narrows to a time range [from, until) by when each record was written, and to one party', async () => {
    const first = Date.parse(log[log.length - 1]?.when as string);
    const last = Date.parse(log[0]?.when as string);
    const channels = (l: Disclosure[]) => l.map((d) => `${d.channel} ${d.interaction}`);
    expect(await disclosureLog(store, SUVI, { from: new Date(first) })).toEqual(log);
    expect(await disclosureLog(store, SUVI, { from: new Date(last + 1) })).toEqual([]);
    expect(await disclosureLog(store, SUVI, { until: new Date(first) })).toEqual([]);
    expect(await disclosureLog(store, SUVI, { until: new Date(last + 1) })).toEqual(log);
    expect(channels(await disclosureLog(store, SUVI, { party: 'kela' }))).toEqual([
      'api search-type',
      'api read',
    ]);
    expect(channels(await disclosureLog(store, SUVI, { party: 'other-health-care' }))).toEqual([
      'sync create',
    ]);
    expect(await disclosureLog(store, SUVI, { party: 'te-services' })).toEqual([]);
  });

  it('reads the log back to `from` only: a batch written before it is not read', async () => {
    const from = new Date(Date.parse(log[0]?.when as string) + 1);
    await afterInstant(from);
    await insertAudit(store, [record({ entities: ['Observation/o2'] })]);
    expect((await disclosureLog(store, SUVI, { from })).map((d) => d.resources)).toEqual([
      ['Observation/o2'],
    ]);
    // The same batch row dated before `from` (its records keep their own time): no longer read.
    await store.query(
      `UPDATE security_audit SET recorded = $1::timestamptz - interval '1 second'
        WHERE id = (SELECT max(id) FROM security_audit)`,
      [from.toISOString()],
    );
    expect(await disclosureLog(store, SUVI, { from })).toEqual([]);
    expect((await disclosureLog(store, SUVI)).map((d) => d.resources)[0]).toEqual(['Observation/o2']);
  });

  it('skips a batch whose records all come at or after `until`', async () => {
    const until = new Date(Date.now() + 60_000);
    await insertAudit(store, [record({ entities: ['Observation/o3'] })]);
    expect((await disclosureLog(store, SUVI, { until })).map((d) => d.resources)[0]).toEqual([
      'Observation/o3',
    ]);
    // The same batch row said to start at `until` (its records keep their own time): no longer read.
    await store.query(
      'UPDATE security_audit SET earliest = $1 WHERE id = (SELECT max(id) FROM security_audit)',
      [until.toISOString()],
    );
    expect((await disclosureLog(store, SUVI, { until })).map((d) => d.resources)[0]).not.toEqual([
      'Observation/o3',
    ]);
  });
});
