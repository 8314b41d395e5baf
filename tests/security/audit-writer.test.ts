import { rmSync } from 'node:fs';
import pino from 'pino';
// The audit writer gathers the records of requests arriving within two event-loop turns into one
// row (one statement, one commit), and a record's promise settles only with its row's commit: a
// failed write rejects every record of the batch, so no read waiting for it is answered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/index.ts';
import { AuditWriter } from '../../src/server/security/audit.ts';
import {
  type AuditRecord,
  type Store,
  freshPgliteDataDir,
  migrateAuditLog,
  openStore,
} from '../../src/store/index.ts';

const read = (i: number): AuditRecord => ({
  client: 'batching',
  interaction: 'read',
  action: 'R',
  outcome: '0',
  entities: [`Observation/o${i}`],
  patients: [`Patient/p${i % 3}`],
});
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('audit writer', () => {
  let store: Store;
  let bare: Store;
  const dirs: string[] = [];
  const fresh = async () => {
    const dir = await freshPgliteDataDir();
    dirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    store = await openStore({ dataDir: await fresh() });
    await migrateAuditLog(store);
    // Without the audit table: every write of an audit row fails.
    bare = await openStore({ dataDir: await fresh() });
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await bare?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('writes the records of two consecutive turns as one row, each resolved after its commit', async () => {
    const writer = new AuditWriter(store);
    const settled: number[] = [];
    const first = Array.from({ length: 10 }, (_, i) => writer.record(read(i)).then(() => settled.push(i)));
    await nextTurn();
    const second = Array.from({ length: 10 }, (_, i) =>
      writer.record(read(10 + i)).then(() => settled.push(10 + i)),
    );
    expect(settled).toEqual([]);
    await Promise.all([...first, ...second]);
    const rows = await store.query<{ events: string; patients: string[] }>(
      "SELECT events, patients FROM security_audit WHERE clients @> ARRAY['batching']",
    );
    expect(rows).toHaveLength(1);
    const events = JSON.parse(rows[0]?.events as string) as { entities: string[] }[];
    expect(events.map((e) => e.entities[0])).toEqual(
      Array.from({ length: 20 }, (_, i) => `Observation/o${i}`),
    );
    expect([...(rows[0]?.patients ?? [])].sort()).toEqual(['Patient/p0', 'Patient/p1', 'Patient/p2']);
  });

  it('starts a new row for records arriving after the batch was written', async () => {
    const writer = new AuditWriter(store);
    const before = await store.query<{ n: number }>('SELECT count(*)::int AS n FROM security_audit');
    await writer.record({ ...read(1), client: 'later' });
    await writer.record({ ...read(2), client: 'later' });
    const after = await store.query<{ n: number }>('SELECT count(*)::int AS n FROM security_audit');
    expect((after[0]?.n ?? 0) - (before[0]?.n ?? 0)).toBe(2);
  });

  it('rejects every record of a batch whose row could not be written', async () => {
    const writer = new AuditWriter(bare);
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => writer.record(read(i))));
    expect(outcomes.map((o) => o.status)).toEqual(Array(5).fill('rejected'));
  });

  it('settled() waits for every record handed to it, written or failed, and is at once done when idle', async () => {
    const writer = new AuditWriter(store);
    await writer.settled();
    const before = await countRows(store, 'settling');
    for (let i = 0; i < 4; i++) void writer.record({ ...read(i), client: 'settling' });
    await writer.settled();
    expect((await countRows(store, 'settling')) - before).toBe(1);
    const failing = new AuditWriter(bare);
    const lost = failing.record(read(0)).catch((e: Error) => e);
    await failing.settled();
    expect(await Promise.race([lost, 'pending'])).toBeInstanceOf(Error);
  });

  it("a facade closing right after a failed request still writes that request's audit row first", async () => {
    const dir = await fresh();
    const running = await startServer({ dataDir: dir, logger: pino({ level: 'silent' }), port: 0 });
    // A malformed version id: refused by the route (400) before any read, so audited by the front on
    // `finish` (a read that finds nothing is the guard's row, written before its 404: audit-actions).
    const res = await fetch(`${running.url}/fhir/Patient/no-such-patient/_history/not-a-version`);
    expect(res.status).toBe(400);
    await running.close();
    const reopened = await openStore({ dataDir: dir });
    try {
      const rows = await reopened.query<{ events: string }>('SELECT events FROM security_audit');
      const records = rows.flatMap(
        (r) => JSON.parse(r.events) as Array<{ detail?: string; entities: string[] }>,
      );
      expect(records).toContainEqual(
        expect.objectContaining({ detail: 'answered 400', entities: ['Patient/no-such-patient'] }),
      );
    } finally {
      await reopened.close();
    }
  });
});

async function countRows(db: Store, client: string): Promise<number> {
  const [{ n }] = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM security_audit WHERE clients @> ARRAY[$1::text]',
    [client],
  );
  return n;
}
