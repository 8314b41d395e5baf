// `tyokyky sync …` as an operator runs it: option errors are one line and exit 2 before any store is
// opened; every subcommand answers on an existing store and creates none; a push or pull that leaves
// work undone says why. In this process (runHere); that it answers as the real process does is
// tests/shared/cli-here.test.ts's job.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Patient } from '@medplum/fhirtypes';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { freshPgliteDataDir, openStore } from '../../src/store/index.ts';
import { SEARCH_INDEX_MARKER } from '../../src/store/reindex.ts';
import { runHere as run } from '../helpers/cli.ts';
import { startFaultProxy } from './helpers/fault-proxy.ts';
import { consent, patient } from './helpers/fixtures.ts';
import { startScriptedRemote } from './helpers/scripted-remote.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-sync-cli-'));
const data = join(dir, 'data');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An empty store in `dataDir`, unless one is there already. */
async function storeAt(dataDir: string): Promise<string> {
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await freshPgliteDataDir(dataDir);
  return dataDir;
}

/** A store in a folder of its own holding one client (Patient and Consent) written before any sync. */
async function storeWithClient(name: string, hetu: string): Promise<string> {
  const dataDir = await freshPgliteDataDir(join(dir, name));
  const store = await openStore({ dataDir });
  const p = (await store.create(patient(hetu))).resource as Patient;
  await store.create(consent(p.id as string));
  await store.close();
  return dataDir;
}

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
    await storeAt(data);
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
    await storeAt(data);
    expect((await run(['sync', 'status', '--data-dir', data])).code).toBe(0); // creates the sync's tables
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
    expect(after.out).toMatch(/^deletes left {7}0$/m);
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

describe('tyokyky sync where there is no store', () => {
  const remote = ['--remote', 'http://127.0.0.1:9/fhir'];
  it.each([
    ['push', ['push', ...remote]],
    ['pull', ['pull', ...remote]],
    ['status', ['status']],
  ])(
    'sync %s says so naming --data-dir, exits 2 and creates none',
    async (name, args) => {
      const typo = join(dir, `no-store-${name}`);
      expect(await run(['sync', ...args, '--data-dir', typo])).toEqual({
        code: 2,
        out: `tyokyky sync: no store in ${typo} (no PGlite database there); pass --data-dir or --database-url\n`,
      });
      expect(existsSync(typo)).toBe(false);
    },
    60_000,
  );
});

describe('tyokyky sync status without --remote', () => {
  it('names no made-up remote or party', async () => {
    const unbound = await storeAt(join(dir, 'unbound'));
    const status = JSON.parse((await run(['sync', 'status', '--data-dir', unbound, '--json'])).out);
    expect(status).toMatchObject({ remote: null, party: null });
    const text = (await run(['sync', 'status', '--data-dir', unbound])).out;
    expect(text).toMatch(/^remote {13}-$/m);
    expect(text).toMatch(/^party {14}-$/m);
    // Given, before any push or pull has bound the store to one: shown as given.
    const given = await run(['sync', 'status', '--data-dir', unbound, '--remote', 'http://127.0.0.1:9/fhir']);
    expect(given.out).toMatch(
      /^remote {13}http:\/\/127\.0\.0\.1:9\/fhir \(given; the store has none until its first push or pull\)$/m,
    );
    expect(given.out).toMatch(
      /^party {14}other-health-care \(given; the store has none until it first sends to the remote\)$/m,
    );
    // Once a push has run, the store's own remote, without flags; a push that sent nothing binds no
    // party (tests/sync/party-binding.test.ts: the first write that leaves binds it).
    await run([
      'sync',
      'push',
      '--remote',
      'http://127.0.0.1:9/fhir',
      '--party',
      'kela',
      '--data-dir',
      unbound,
    ]);
    const bound = JSON.parse((await run(['sync', 'status', '--data-dir', unbound, '--json'])).out);
    expect(bound).toMatchObject({ remote: 'http://127.0.0.1:9/fhir', party: null });
    const boundText = (await run(['sync', 'status', '--data-dir', unbound])).out;
    expect(boundText).toMatch(/^remote {13}http:\/\/127\.0\.0\.1:9\/fhir$/m);
    expect(boundText).toMatch(/^party {14}-$/m);
    // Given otherwise than the store syncs: both, the store's first.
    const other = await run(['sync', 'status', '--data-dir', unbound, '--remote', 'http://127.0.0.1:8/fhir']);
    expect(other.out).toMatch(
      /^remote {13}http:\/\/127\.0\.0\.1:9\/fhir \(the store's; given http:\/\/127\.0\.0\.1:8\/fhir\)$/m,
    );
  }, 60_000);
});

describe('tyokyky sync: each subcommand takes the options it uses', () => {
  /** What only a push or pull reads: tuning, credentials and the remote's transport. */
  const PUSH_ONLY = [
    '--batch-size',
    '--concurrency',
    '--lease',
    '--timeout',
    '--bundle',
    '--token-url',
    '--client-secret',
    '--pull-overlap',
    '--no-strict',
  ];
  const help = async (cmd: string) => (await run(['sync', cmd, '--help'])).out;

  it.each(['status', 'dead-letters', 'conflicts', 'retry', 'resolve', 'backfill'])(
    'sync %s --help names the store options and none of the push options',
    async (cmd) => {
      const out = await help(cmd);
      expect(out).toContain('--data-dir');
      expect(out).toContain('--database-url');
      expect(out).toContain('--json');
      for (const flag of PUSH_ONLY) expect(out).not.toContain(flag);
      // Only status reads a remote and party: to show them beside the store's own.
      for (const flag of ['--remote <url>', '--party']) expect(out.includes(flag)).toBe(cmd === 'status');
      expect(out).not.toContain('(default other-health-care)');
    },
  );

  it.each(['push', 'pull'])('sync %s --help keeps every option', async (cmd) => {
    const out = await help(cmd);
    for (const flag of [...PUSH_ONLY, '--remote <url>', '--party', '--data-dir']) expect(out).toContain(flag);
  });

  it('a push option given to status is an unknown option (exit 2), not checked', async () => {
    const r = await run(['sync', 'status', '--concurrency', '99', '--data-dir', data]);
    expect(r.code).toBe(2);
    expect(r.out).toContain("error: unknown option '--concurrency'");
  });

  it('the push settings of the environment do not stop a command that never reaches the remote', async () => {
    await storeAt(data);
    vi.stubEnv('TYOKYKY_SYNC_REMOTE', 'http://127.0.0.1:9/fhir');
    vi.stubEnv('TYOKYKY_SYNC_TIMEOUT', 'soon');
    try {
      expect((await run(['sync', 'retry', '--data-dir', data])).out).toBe('requeued 0 row(s)\n');
      expect((await run(['sync', 'status', '--data-dir', data])).code).toBe(0);
    } finally {
      vi.unstubAllEnvs();
    }
  }, 60_000);
});

describe('tyokyky sync backfill', () => {
  it('says how many it scanned and how many of those it queued', async () => {
    const filled = await storeWithClient('backfill-text', '010181-972X');
    expect(await run(['sync', 'backfill', '--data-dir', filled])).toEqual({
      code: 0,
      out: 'scanned 2 stored resource(s); queued 2 not queued at their current version; 1 local clients followed\n',
    });
    expect((await run(['sync', 'backfill', '--data-dir', filled])).out).toBe(
      'scanned 2 stored resource(s); queued 0 not queued at their current version; 1 local clients followed\n',
    );
  }, 60_000);
});

describe('tyokyky sync push that leaves rows queued says why', () => {
  it('rows waiting out a backoff: counted in the text as in --json, and named as the reason', async () => {
    const backoff = await storeAt(join(dir, 'backoff'));
    expect((await run(['sync', 'status', '--data-dir', backoff])).code).toBe(0); // the sync's tables
    const store = await openStore({ dataDir: backoff });
    await store.query(
      `INSERT INTO sync_outbox (resource_type, resource_id, action, payload, state, attempts, reason, available_at)
       VALUES ('CarePlan', 'cli-backoff', 'update', '{}', 'pending', 2, 'remote answered 503', now() + interval '1 hour')`,
    );
    await store.close();
    const push = ['sync', 'push', '--remote', 'http://127.0.0.1:9/fhir', '--data-dir', backoff];
    const text = await run(push);
    expect(text.code).toBe(75);
    const json = JSON.parse((await run([...push, '--json'])).out);
    expect(json.status.failures.retrying).toBe(1);
    expect(text.out).toMatch(/, retrying 1; queue depth now 1$/m);
    expect(text.out).toMatch(/^not sent: 1 row\(s\) wait out a backoff after a failed attempt$/m);
    expect(json.notSent).toBe('1 row(s) wait out a backoff after a failed attempt');
  }, 60_000);

  it('a remote that does not answer: its circuit opened, and how many requests got no answer', async () => {
    const down = await storeWithClient('down', '010181-970X');
    const r = await run(['sync', 'push', '--remote', 'http://127.0.0.1:9/fhir', '--data-dir', down]);
    expect(r.code).toBe(75);
    expect(r.out).toMatch(/queue depth now 2$/m);
    expect(r.out).toMatch(
      /^not sent: remote circuit open; \d+ request\(s\) to http:\/\/127\.0\.0\.1:9\/fhir got no answer \(refused, unreachable or timed out\)$/m,
    );
  }, 60_000);
});

describe('tyokyky sync push to a new URL that does not answer, on a store bound to another remote', () => {
  it('says it cannot check that the URL is the same remote (no answer), and exits 75', async () => {
    const remote = await startScriptedRemote();
    try {
      const bound = await storeWithClient('bound', '010181-973R');
      expect((await run(['sync', 'push', '--remote', remote.url, '--data-dir', bound])).code).toBe(0);
      const r = await run(['sync', 'push', '--remote', 'http://127.0.0.1:9/fhir', '--data-dir', bound]);
      expect(r.code).toBe(75);
      expect(r.out.trim()).toMatch(
        new RegExp(
          `^tyokyky sync: sync-config-2: cannot check that http://127\\.0\\.0\\.1:9/fhir is the remote this store syncs with \\(${remote.url.replace(/[.]/g, '\\.')}\\): no answer \\(.+\\)$`,
        ),
      );
    } finally {
      await remote.close();
    }
  }, 90_000);

  it.each([503, 500])(
    'a new URL answering %i to every check: cannot check, exit 75, nothing sent',
    async (status) => {
      const remote = await startScriptedRemote();
      // The Patient's check fails on every attempt (fewer than open the circuit); the Consent's is held.
      const failing = await startFaultProxy(remote.url, { refuse: { path: /\/Patient\//, status } });
      try {
        const bound = await storeWithClient(`bound-${status}`, '010181-973R');
        expect((await run(['sync', 'push', '--remote', remote.url, '--data-dir', bound])).code).toBe(0);
        const args = ['--remote', failing.url, '--data-dir', bound, '--timeout', '500'];
        const r = await run(['sync', 'push', ...args]);
        expect(r.code).toBe(75);
        expect(r.out.trim()).toMatch(
          new RegExp(
            `^tyokyky sync: sync-config-2: cannot check that ${failing.url.replace(/[.]/g, '\\.')} is the remote this store syncs with \\(${remote.url.replace(/[.]/g, '\\.')}\\): the remote answered ${status} to every attempt \\(a transient failure\\)$`,
          ),
        );
        // Only the checks' reads: nothing was sent.
        expect(failing.requested.every((path) => /\/(Patient|Consent)\/[^/?]+$/.test(path))).toBe(true);
      } finally {
        await failing.close();
        await remote.close();
      }
    },
    90_000,
  );
});

describe('tyokyky sync pull from a remote that stops answering', () => {
  it('says it timed out, after how long and waiting for what', async () => {
    const remote = await startScriptedRemote();
    const proxy = await startFaultProxy(remote.url);
    try {
      const hang = await storeWithClient('hang', '010181-971X');
      const args = ['--remote', proxy.url, '--data-dir', hang, '--timeout', '200'];
      expect((await run(['sync', 'push', ...args])).code).toBe(0);
      Object.assign(proxy.faults, { hangNext: 100, hangMs: 5_000 });
      const pull = await run(['sync', 'pull', ...args]);
      expect(pull.code).toBe(1);
      expect(pull.out.trim()).toMatch(
        /^tyokyky sync: pull failed: sync-pull-5: no answer within 200 ms of an attempt \(--timeout\), after every retry, while waiting for pull: remote search Consent\?patient=Patient\/\S+$/,
      );
      // Kept as the status's last error, as a failed round of the serve loops is.
      const status = JSON.parse((await run(['sync', 'status', '--json', '--data-dir', hang])).out);
      expect(status.failures.lastError).toMatch(/^\S+ sync-pull-5: no answer within 200 ms/);
    } finally {
      await proxy.close();
      await remote.close();
    }
  }, 60_000);
});
