// The status's last error is the last failure that nothing has made good since: a push round's until
// a later push delivers, a pull's until a later pull completes — the other kind's success leaves it.
// `sync status` and the one-shot push's `not sent:` line show it (cli/sync/push-reason.ts). The remote
// is scripted (helpers/scripted-remote.ts), the local store PGlite.
import { describe, expect, it } from 'vitest';
import { score } from './helpers/fixtures.ts';
import { scriptedPerSuite } from './helpers/scripted-remote.ts';
import { drain } from './helpers/waits.ts';

const suite = scriptedPerSuite('261181-926S');

const lastError = async () => (await suite.followed.sync.status()).failures.lastError;

describe('the last error', () => {
  it("is a pull's until a later pull completes", async () => {
    const { sync } = suite.followed;
    // A search answered 200 with no Bundle fails the pull (sync-pull-4).
    suite.remote.searchAnswer = { status: 200, body: { resourceType: 'OperationOutcome', issue: [] } };
    await expect(sync.pullOnce()).rejects.toThrow(/sync-pull-4/);
    expect(await lastError()).toMatch(/^\S+ sync-pull-4: /);
    suite.remote.searchAnswer = undefined;
    await sync.pullOnce();
    expect(await lastError()).toBeNull();
  }, 60_000);

  it("is a push round's until a later push delivers; a pull completing leaves it", async () => {
    const { store, sync, patientId } = suite.followed;
    suite.remote.writeAnswer = { status: 401, body: { resourceType: 'OperationOutcome', issue: [] } };
    await store.create(score(patientId));
    await sync.pushOnce();
    const refused =
      /^\S+ sync-auth-1: the remote answered 401 to POST \(its access token refused\); rows wait, not sent$/;
    expect(await lastError()).toMatch(refused);
    await sync.pullOnce();
    expect(await lastError()).toMatch(refused);
    suite.remote.writeAnswer = undefined;
    await drain(sync, 20_000);
    expect(await lastError()).toBeNull();
  }, 60_000);

  it('of a store from before the two kinds (one last_error) is shown until any later success', async () => {
    const { store, sync } = suite.followed;
    const old = `${new Date(Date.now() + 1000).toISOString()} sync-auth-1: the remote answered 401`;
    await store.query(
      `INSERT INTO sync_state (key, value) VALUES ('last_error', $1)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [old],
    );
    expect(await lastError()).toBe(old);
    await new Promise((r) => setTimeout(r, 1100));
    await sync.pullOnce();
    expect(await lastError()).toBeNull();
  }, 60_000);
});
