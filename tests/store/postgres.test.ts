import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/store/engine.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { SEARCH_INDEX_MARKER } from '../../src/store/reindex.ts';
import { STORE_MIGRATIONS, migrate } from '../../src/store/schema.ts';
import { dropDatabase, freshDatabase } from '../helpers/databases.ts';
import { type ChildResult, runChildren } from './children.ts';
import { ID_SYSTEM, observation } from './helpers.ts';
import { storeSuite } from './suite.ts';

let databaseUrl = '';
let store: Store;

beforeAll(async () => {
  databaseUrl = await freshDatabase('tyokyky_store');
  store = await openStore({ databaseUrl });
});

afterAll(async () => {
  await store?.close();
  if (databaseUrl) await dropDatabase(databaseUrl);
});

describe('store on PostgreSQL', () => {
  it('reports its engine', () => {
    expect(store.engine).toBe('postgres');
  });

  storeSuite(() => store);

  it('a database short of resources (SQLSTATE class 53, e.g. a full lock table) is a 503 transient with Retry-After, not a 500', async () => {
    // A real server error of that class, raised on purpose: filling the shared lock table would fail
    // every other test's transactions on this server meanwhile.
    const short = "DO $$ BEGIN RAISE EXCEPTION 'short' USING ERRCODE = '53200'; END $$";
    for (const attempt of [() => store.query(short), () => store.transaction((tx) => tx.query(short))]) {
      const err = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ status: 503, headers: { 'Retry-After': '5' } });
      expect((err as { outcome: { issue: { code: string }[] } }).outcome.issue[0]?.code).toBe('transient');
    }
  });

  it('names the server (without password) when it cannot connect', async () => {
    await expect(openStore({ databaseUrl: 'postgres://someone:secret@127.0.0.1:1/nowhere' })).rejects.toThrow(
      /^Cannot connect to PostgreSQL at postgres:\/\/someone:\*\*\*@127\.0\.0\.1:1\/nowhere: /,
    );
  });

  it('upgrades a database written under the first schema version (store-001 → store-002, index rebuilt; store-005, content as json)', async () => {
    const upgradeUrl = await freshDatabase('tyokyky_store_upgrade');
    try {
      const engine = await openPostgres(upgradeUrl);
      const [first] = STORE_MIGRATIONS;
      await migrate(engine, first[0], first[1]);
      // A resource indexed the way store-001 did it (no last_updated on token rows).
      await engine.query(
        `INSERT INTO resources VALUES ('Observation', 'old', 1, '2024-01-02T03:04:05Z', false, '{"resourceType":"Observation","id":"old","status":"final","subject":{"reference":"Patient/p-old"},"performer":[{"reference":"Practitioner/pr-old"}]}')`,
      );
      await engine.query(
        `INSERT INTO search_token VALUES ('Observation', 'old', 'patient', 'Patient', 'p-old')`,
      );
      await engine.close();
      const migrations: Array<[string, boolean]> = [];
      const upgraded = await openStore({
        databaseUrl: upgradeUrl,
        onMigrate: (name, done) => migrations.push([name, done]),
      });
      try {
        // Each migration the database lacked, announced before it ran and once it was committed.
        expect(migrations).toEqual(
          STORE_MIGRATIONS.slice(1).flatMap(([name]) => [
            [name, false],
            [name, true],
          ]),
        );
        const again: string[] = [];
        await (await openStore({ databaseUrl: upgradeUrl, onMigrate: (name) => again.push(name) })).close();
        expect(again).toEqual([]);
        const found = await upgraded.search('Observation', { patient: 'p-old' });
        expect(found.resources.map((r) => r.id)).toEqual(['old']);
        // Rows store-001 never wrote (performer, every reference) come from the stored resource.
        expect(
          (await upgraded.search('Observation', { performer: 'Practitioner/pr-old' })).resources,
        ).toHaveLength(1);
        expect(await upgraded.referrers('Practitioner', 'pr-old', ['Observation'])).toEqual([
          'Observation/old',
        ]);
        const rows = await upgraded.query<{ last_updated: Date }>(
          `SELECT last_updated FROM search_token WHERE id = 'old'`,
        );
        expect(rows.length).toBe(4); // patient, subject, performer, status
        for (const row of rows) expect(row.last_updated.toISOString()).toBe('2024-01-02T03:04:05.000Z');
        // store-005: the content columns hold the JSON text; what jsonb held reads back the same.
        const types = await upgraded.query<{ table_name: string; data_type: string }>(
          `SELECT table_name, data_type FROM information_schema.columns
            WHERE table_name IN ('resources', 'resource_history') AND column_name = 'content' ORDER BY 1`,
        );
        expect(types.map((t) => [t.table_name, t.data_type])).toEqual([
          ['resource_history', 'json'],
          ['resources', 'json'],
        ]);
        expect(await upgraded.read('Observation', 'old')).toMatchObject({ id: 'old', status: 'final' });
        expect((await upgraded.readJson('Observation', 'old')).lastUpdated).toBe('2024-01-02T03:04:05.000Z');
      } finally {
        await upgraded.close();
      }
    } finally {
      await dropDatabase(upgradeUrl);
    }
  });

  it('an index rebuild at open excludes writes meanwhile: an update of another process leaves no rows of the old version', async () => {
    const url = await freshDatabase('tyokyky_store_reindex');
    const running = await openStore({ databaseUrl: url });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    let upgraded: Store | undefined;
    try {
      const { resource } = await running.create(observation({ status: 'preliminary' }));
      const id = resource.id as string;
      // A new release: its index marker is not recorded yet.
      await admin.query('DELETE FROM schema_migrations WHERE name = $1', [SEARCH_INDEX_MARKER]);
      // Holds the rebuild after it has emptied search_token and search_date: a window wide enough to write in.
      await admin.query('BEGIN');
      await admin.query('LOCK TABLE search_number IN ACCESS EXCLUSIVE MODE');
      const upgrading = openStore({ databaseUrl: url });
      const waiting = async (relation: string) => {
        for (let i = 0; i < 300; i++) {
          const [row] = (
            await admin.query(
              `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = $1::regclass`,
              [relation],
            )
          ).rows;
          if (row.n > 0) return;
          await new Promise((r) => setTimeout(r, 20));
        }
        throw new Error(`nothing waits for ${relation}`);
      };
      await waiting('search_number');
      const update = running.update({ ...resource, status: 'final' } as Resource, { ifMatch: '1' });
      const settled = await Promise.race([
        update.then(() => 'written'),
        new Promise((r) => setTimeout(() => r('waits'), 1_000)),
      ]);
      await admin.query('COMMIT');
      upgraded = await upgrading;
      await update;
      expect(settled).toBe('waits');
      const rows = await upgraded.query<{ value: string }>(
        `SELECT value FROM search_token WHERE id = $1 AND param = 'status' ORDER BY value`,
        [id],
      );
      expect(rows.map((r) => r.value)).toEqual(['final']);
      expect((await upgraded.search('Observation', { status: 'preliminary', _id: id })).resources).toEqual(
        [],
      );
      expect(
        (await upgraded.search('Observation', { status: 'final', _id: id })).resources.map((r) => r.id),
      ).toEqual([id]);
    } finally {
      await admin.end();
      await upgraded?.close();
      await running.close();
      await dropDatabase(url);
    }
  });

  it('findByIdentifiers with lock: a concurrent lookup of the same identifier waits for the writer and finds what it wrote', async () => {
    const shared = { system: ID_SYSTEM, value: `urn:uuid:${randomUUID()}` };
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let looked = () => {};
    const firstLooked = new Promise<void>((r) => {
      looked = r;
    });
    // The first finds the identifier free, and writes a resource carrying it once let go.
    const first = store.transaction(async (tx) => {
      const [held] = await tx.findByIdentifiers('Observation', [shared], { lock: true });
      looked();
      await gate;
      const own = { system: ID_SYSTEM, value: `urn:uuid:${randomUUID()}` };
      await tx.create(observation({ identifier: [own, shared] }), {
        ifNoneExist: `identifier=${own.system}|${own.value}`,
      });
      return held?.length;
    });
    await firstLooked;
    // The second asks while the first holds the lock: it waits, then sees the first's write.
    const second = store.transaction(async (tx) => {
      const [held] = await tx.findByIdentifiers('Observation', [shared], { lock: true });
      return held?.length;
    });
    await new Promise((r) => setTimeout(r, 200));
    release();
    expect([await first, await second]).toEqual([0, 1]);
  });

  it('paging caveat: a create committed after a later-stamped one was read lands behind the cursor; a poll re-reading an overlap finds it', async () => {
    const subject = { reference: `Patient/${randomUUID()}` };
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let began = () => {};
    const inTransaction = new Promise<void>((r) => {
      began = r;
    });
    // A transaction (a transaction Bundle, say) stamps its create, then commits late.
    const slow = store.transaction(async (tx) => {
      const { resource } = await tx.create(observation({ subject }));
      began();
      await gate;
      return resource;
    });
    await inTransaction;
    await new Promise((r) => setTimeout(r, 5));
    const later = (await store.create(observation({ subject }))).resource;
    const first = await store.search('Observation', { subject: subject.reference, _count: '1' });
    expect(first.resources.map((r) => r.id)).toEqual([later.id]);
    expect(first.nextCursor).toBeUndefined();
    release();
    const early = await slow;
    expect(Date.parse(early.meta?.lastUpdated as string)).toBeLessThan(
      Date.parse(later.meta?.lastUpdated as string),
    );
    const seen = later.meta?.lastUpdated as string;
    const since = async (from: string) =>
      (
        await store.search('Observation', { subject: subject.reference, _lastUpdated: `gt${from}` })
      ).resources.map((r) => r.id);
    expect(await since(seen)).toEqual([]);
    // An overlap longer than the longest write transaction (here: the time until release) finds it.
    const overlap = new Date(Date.parse(seen) - 60_000).toISOString();
    expect(await since(overlap)).toEqual([early.id, later.id]);
  });

  describe('two processes on one database', () => {
    const conditional = observation();
    const value = conditional.identifier?.[0].value as string;
    let contested: Resource;
    let creates: ChildResult[];
    let updates: ChildResult[];

    beforeAll(async () => {
      contested = (await store.create(observation())).resource;
      // One pair of processes runs both races (starting a process costs seconds here).
      const [c, u] = await runChildren(2, databaseUrl, [
        { op: 'create', resource: conditional, ifNoneExist: `identifier=${ID_SYSTEM}|${value}`, times: 5 },
        {
          op: 'update',
          resource: { ...contested, status: 'amended' } as Resource,
          ifMatch: 'W/"1"',
          times: 1,
        },
      ]);
      creates = c.flat();
      updates = u.flat();
    });

    it('concurrent conditional creates with the same identifier → one resource', async () => {
      expect(creates).toHaveLength(10);
      expect(creates.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(creates.map((r) => r.id)).size).toBe(1);
      const found = await store.search('Observation', {
        identifier: `${ID_SYSTEM}|${value}`,
        _total: 'accurate',
      });
      expect(found.total).toBe(1);
    });

    it('concurrent updates with the same If-Match → exactly one wins, the other gets 412', async () => {
      expect(updates.filter((r) => r.status === 200)).toHaveLength(1);
      expect(updates.filter((r) => r.status === 412).map((r) => r.message)).toEqual([
        `store-version-1: version conflict on Observation/${contested.id}: If-Match is 1 but the current version is 2`,
      ]);
      const history = await store.history('Observation', contested.id as string);
      expect(history.map((h) => h.versionId)).toEqual(['2', '1']);
    });
  });
});
