// The audit log is searched by the time each record says it was written, whatever the database's clock
// said when the transaction that wrote it began: a write is audited inside its own transaction, which
// may have started well before its audit record was made.
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAudit } from '../../src/server/security/audit.ts';
import { disclosureLog } from '../../src/server/security/disclosures.ts';
import {
  AUDIT_LOG_SCHEMA,
  type Store,
  insertAudit,
  migrateAuditLog,
  openStore,
} from '../../src/store/index.ts';

/** How long the writing transaction runs before its audit record is made. */
const OPEN_FOR_MS = 400;

let store: Store;
/** The time the audit record says it was made (ms since the epoch). */
let recordedAt: number;

const partyRead = (n: number) => ({
  client: 'kela-app',
  party: 'kela',
  interaction: 'read',
  action: 'R' as const,
  outcome: '0' as const,
  entities: [`Observation/o${n}`],
  patients: ['Patient/suvi'],
});

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  await migrateAuditLog(store);
  await insertAudit(store, [partyRead(1)]);
  await store.transaction(async (tx) => {
    await tx.query('SELECT 1');
    await new Promise((resolve) => setTimeout(resolve, OPEN_FOR_MS));
    await insertAudit(tx, [partyRead(2)]);
  });
  const all = (await searchAudit(store, 'http://x/fhir', {})) as Bundle<AuditEvent>;
  recordedAt = Date.parse(all.entry?.[0]?.resource?.recorded ?? '');
});

afterAll(async () => {
  await store?.close();
});

const observations = async (query: Record<string, string>) =>
  ((await searchAudit(store, 'http://x/fhir', query)) as Bundle<AuditEvent>).entry?.map(
    (e) => e.resource?.entity?.find((x) => x.what?.reference?.startsWith('Observation/'))?.what?.reference,
  ) ?? [];

/** A date search value: `prefix` and the instant `ms` after the record was made. */
const at = (prefix: string, ms: number) => `${prefix}${new Date(recordedAt + ms).toISOString()}`;

describe('searching the audit log by date', () => {
  it('finds a record made late in a long transaction by its own time', async () => {
    expect(Number.isFinite(recordedAt)).toBe(true);
    // After the transaction began, before the record was made.
    expect(await observations({ date: at('ge', -OPEN_FOR_MS / 2) })).toEqual(['Observation/o2']);
    expect(await observations({ date: at('gt', -OPEN_FOR_MS / 2) })).toEqual(['Observation/o2']);
    expect(await observations({ date: at('ge', 1) })).toEqual([]);
  });

  it('takes the first and the last instants a date can name', async () => {
    // Year 0 (1 BC to PostgreSQL) and year 10000 are no timestamps there: the bound is the log's start or end.
    expect(await observations({ date: 'lt0001-01-01T00:00:00+02:00' })).toEqual([]);
    expect(await observations({ date: 'ge9999-12-31T23:00:00-02:00' })).toEqual([]);
    expect(await observations({ date: 'ge0001-01-01T00:00:00+02:00' })).toEqual([
      'Observation/o2',
      'Observation/o1',
    ]);
    expect(await observations({ date: 'lt9999-12-31T23:00:00-02:00' })).toEqual([
      'Observation/o2',
      'Observation/o1',
    ]);
  });

  it('lt and le keep the records before the bound, newest first', async () => {
    expect(await observations({ date: at('le', 1) })).toEqual(['Observation/o2', 'Observation/o1']);
    expect(await observations({ date: at('lt', 1) })).toEqual(['Observation/o2', 'Observation/o1']);
    expect(await observations({ date: at('lt', 0) })).toEqual(['Observation/o1']);
    expect(
      await observations({ date: [at('ge', -OPEN_FOR_MS / 2), at('lt', 1)] as unknown as string }),
    ).toEqual(['Observation/o2']);
  });

  it("a client's disclosure log from a time keeps the records made since", async () => {
    const since = await disclosureLog(
      store,
      { patient: 'Patient/suvi', consents: new Set() },
      { from: new Date(recordedAt - OPEN_FOR_MS / 2) },
    );
    expect(since.map((d) => d.resources)).toEqual([['Observation/o2']]);
    const before = await disclosureLog(
      store,
      { patient: 'Patient/suvi', consents: new Set() },
      { until: new Date(recordedAt) },
    );
    expect(before.map((d) => d.resources)).toEqual([['Observation/o1']]);
  });
});

describe('a log written before batches carried their records’ times', () => {
  it('is dated by its records when migrated', async () => {
    const old = await openStore({ dataDir: 'memory://' });
    try {
      const [first] = AUDIT_LOG_SCHEMA;
      if (!first) throw new Error('no audit log migration');
      await old.migrate(...first);
      // As the first release wrote it: the row dated by the database at its transaction's start,
      // each record by the facade when it was made.
      const events = ['2026-03-02T10:00:05.000Z', '2026-03-02T10:00:07.000Z'].map((recorded, i) => ({
        ...partyRead(i + 10),
        recorded,
        party: 'kela',
        detail: null,
        consents: [],
        query: null,
        request_id: null,
      }));
      await old.query(
        `INSERT INTO security_audit (recorded, clients, patients, entity_types, events)
         VALUES ('2026-03-02T10:00:00Z', '{kela-app}', '{Patient/suvi}', '{Observation}', $1)`,
        [JSON.stringify(events)],
      );
      await migrateAuditLog(old);
      const [row] = await old.query<{ recorded: string; earliest: string }>(
        `SELECT to_char(recorded AT TIME ZONE 'UTC', 'HH24:MI:SS') AS recorded,
                to_char(earliest AT TIME ZONE 'UTC', 'HH24:MI:SS') AS earliest FROM security_audit`,
      );
      expect(row).toEqual({ recorded: '10:00:07', earliest: '10:00:05' });
      const found = async (date: string) =>
        ((await searchAudit(old, 'http://x/fhir', { date })) as Bundle<AuditEvent>).entry?.length ?? 0;
      expect(await found('ge2026-03-02T10:00:06Z')).toBe(1);
      expect(await found('lt2026-03-02T10:00:06Z')).toBe(1);
      expect(await found('lt2026-03-02T10:00:05Z')).toBe(0);
      expect(await found('gt2026-03-02T10:00:07Z')).toBe(0);
      // A process of the earlier release, still running, writes as it did.
      await old.query(
        `INSERT INTO security_audit (clients, patients, entity_types, events)
         VALUES ('{kela-app}', '{Patient/suvi}', '{Observation}', '[]')`,
      );
      expect(await found('ge2026-03-02T10:00:06Z')).toBe(1);
    } finally {
      await old.close();
    }
  });
});
