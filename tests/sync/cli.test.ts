// `tyokyky sync …` as an operator runs it: option errors are one line and exit 2 before any store is
// opened; the reading subcommands answer on an existing store. In this process (runHere); that it
// answers as the real process does is tests/shared/cli-here.test.ts's job.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.ts';
import { SEARCH_INDEX_MARKER } from '../../src/store/reindex.ts';
import { runHere as run } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-sync-cli-'));
const data = join(dir, 'data');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tyokyky sync: bad options', () => {
  const remote = ['--remote', 'http://127.0.0.1:9/fhir', '--data-dir', data];
  it.each([
    ['--batch-size must be 1..1000, got "0"', ['push', ...remote, '--batch-size', '0']],
    ['--concurrency must be 1..8, got "9"', ['push', ...remote, '--concurrency', '9']],
    ['--lease must be at least 100 ms, got "5"', ['push', ...remote, '--lease', '5']],
    ['--remote <url> (or TYOKYKY_SYNC_REMOTE) is required', ['push', '--data-dir', data]],
    [
      '--state must be dead, blocked, held or parked, got "gone"',
      ['dead-letters', '--state', 'gone', '--data-dir', data],
    ],
    [
      '--limit must be a whole number from 1 to 1000, got "0"',
      ['conflicts', '--limit', '0', '--data-dir', data],
    ],
    ['outbox id must be a number, got "abc"', ['retry', 'abc', '--data-dir', data]],
    ['outbox id must be a number, got "x1"', ['resolve', 'x1', '--keep', 'local', '--data-dir', data]],
    ['keep must be local or remote, got "both"', ['resolve', '7', '--keep', 'both', '--data-dir', data]],
  ])(
    'sync %j → exit 2: %s',
    async (message, args) => {
      const r = await run(['sync', ...args]);
      expect(r.code).toBe(2);
      expect(r.out.trim()).toBe(`tyokyky sync: ${message}`);
    },
    60_000,
  );
});

describe('tyokyky sync: reading an existing store', () => {
  it('status, dead-letters and retry answer on an empty outbox', async () => {
    expect((await run(['clients', 'list', '--data-dir', data])).code).toBe(0); // creates the store
    const status = await run(['sync', 'status', '--data-dir', data]);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/^queue depth {8}0 \(pending 0, in flight 0\)$/m);
    expect(status.out).toMatch(/^dead letters {7}0$/m);
    const json = await run(['sync', 'status', '--data-dir', data, '--json']);
    expect(JSON.parse(json.out).queueDepth).toBe(0);
    const held = await run(['sync', 'dead-letters', '--state', 'held', '--data-dir', data]);
    expect(held.out.trim()).toBe('no held rows');
    const conflicts = await run(['sync', 'conflicts', '--data-dir', data]);
    expect(conflicts).toEqual({ code: 0, out: 'no conflicts recorded\n' });
    const retry = await run(['sync', 'retry', '--data-dir', data]);
    expect(retry.out.trim()).toBe('requeued 0 row(s)');
    expect((await run(['sync', 'retry', '42', '--data-dir', data])).code).toBe(1);
    expect(await run(['sync', 'resolve', '42', '--keep', 'remote', '--data-dir', data])).toEqual({
      code: 1,
      out: 'row 42 is not parked\n',
    });
    // Following a client this store does not hold: one line, exit 2, nothing followed.
    const follow = await run([
      'sync',
      'pull',
      '--remote',
      'http://127.0.0.1:9/fhir',
      '--follow',
      'no-such-patient',
      '--data-dir',
      data,
    ]);
    expect(follow).toEqual({
      code: 2,
      out: 'tyokyky sync: sync-follow-1: this store has no Patient/no-such-patient to follow\n',
    });
    const after = JSON.parse((await run(['sync', 'status', '--data-dir', data, '--json'])).out);
    expect(after.followedClients).toBe(0);
    // Nothing refused: nothing to read again, so the remote is not asked.
    expect(
      await run(['sync', 'pull', '--refused', '--remote', 'http://127.0.0.1:9/fhir', '--data-dir', data]),
    ).toEqual({
      code: 0,
      out: 'read again 0 refused: applied 0, unchanged 0, skipped 0, refused again 0, gone from the remote 0\n',
    });
  }, 180_000);
});

describe('tyokyky sync on a store indexed by an earlier release', () => {
  it('says on stderr that it rebuilds the search index, then answers as usual', async () => {
    const older = join(dir, 'older');
    const store = await openStore({ dataDir: older });
    await store.create({ resourceType: 'Practitioner', name: [{ family: 'Vanha' }] });
    await store.query('DELETE FROM schema_migrations WHERE name = $1', [SEARCH_INDEX_MARKER]);
    await store.close();
    const status = await run(['sync', 'status', '--data-dir', older]);
    expect(status.code).toBe(0);
    expect(status.out).toContain('tyokyky: search index rebuilt (1 resource)\n');
    const again = await run(['sync', 'status', '--data-dir', older]);
    expect(again.out).not.toContain('search index');
  }, 60_000);
});

describe('tyokyky sync resolve', () => {
  it('status points at a parked conflict; resolve queues it with the version to keep', async () => {
    expect((await run(['clients', 'list', '--data-dir', data])).code).toBe(0); // creates the store
    expect((await run(['sync', 'status', '--data-dir', data])).code).toBe(0); // and the sync's tables
    const store = await openStore({ dataDir: data });
    const [parked] = await store.query<{ id: string }>(
      `INSERT INTO sync_outbox (resource_type, resource_id, action, payload, state, reason)
       VALUES ('CarePlan', 'cli-resolve', 'update', '{}', 'parked', 'conflict') RETURNING id::text AS id`,
    );
    await store.query(
      `INSERT INTO sync_conflict (outbox_id, resource_type, resource_id, policy, resolution, detail)
       VALUES ($1::bigint, 'CarePlan', 'cli-resolve', 'park', 'parked', $2::jsonb)`,
      [parked.id, JSON.stringify({ remoteId: 'r-1', expectedVersion: '1', remoteVersion: '2' })],
    );
    await store.close();
    // What each conflict was settled by, and when (an ISO instant), listed for the operator.
    const listed = await run(['sync', 'conflicts', '--data-dir', data]);
    expect(listed.out).toMatch(
      new RegExp(
        `^#\\d+ \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z CarePlan/cli-resolve \\(outbox #${parked.id}, remote r-1: expected 1, found 2\\) park → parked$`,
        'm',
      ),
    );
    const before = await run(['sync', 'status', '--data-dir', data]);
    expect(before.out).toMatch(
      /^parked conflicts {3}1 \(1 conflicts logged\); settle each with: tyokyky sync resolve <outboxId> --keep local\|remote$/m,
    );
    expect(await run(['sync', 'resolve', parked.id, '--keep', 'local', '--data-dir', data])).toEqual({
      code: 0,
      out: `row ${parked.id} resolved: its resource's conflict keeps the local version on the next push\n`,
    });
    const after = await run(['sync', 'status', '--data-dir', data]);
    expect(after.out).toMatch(/^parked conflicts {3}0 \(1 conflicts logged\)$/m);
    expect(after.out).toMatch(/^refused pulls {6}0$/m);
    const json = await run(['sync', 'resolve', parked.id, '--keep', 'local', '--data-dir', data, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toEqual({ requeued: 0 });
  }, 120_000);

  it('names the row that goes and the rows settled when the resource was parked twice', async () => {
    expect((await run(['sync', 'status', '--data-dir', data])).code).toBe(0);
    const store = await openStore({ dataDir: data });
    const [older, newer] = await store.query<{ id: string }>(
      `INSERT INTO sync_outbox (resource_type, resource_id, action, payload, state, reason)
       VALUES ('CarePlan', 'cli-twice', 'update', '{}', 'parked', 'conflict'),
              ('CarePlan', 'cli-twice', 'update', '{}', 'parked', 'conflict') RETURNING id::text AS id`,
    );
    await store.close();
    expect(await run(['sync', 'resolve', older.id, '--keep', 'remote', '--data-dir', data])).toEqual({
      code: 0,
      out:
        `row ${older.id} resolved: its resource's conflict keeps the remote version on the next push; ` +
        `it goes as row ${newer.id}, the resource's newest parked change; row(s) ${older.id} settled unsent (superseded)\n`,
    });
  }, 120_000);
});
