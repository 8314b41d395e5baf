// `sync push` to a new URL whose check (is it the remote this store syncs with?) is refused 401 or 403:
// one sync-config-2 line naming the status and what to check, exit 1 as the other refusals of a
// remote, nothing sent; never the raw `GET … → 401` of the request.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Patient } from '@medplum/fhirtypes';
import { afterAll, describe, expect, it } from 'vitest';
import { freshPgliteDataDir, openStore } from '../../src/store/index.ts';
import { runHere as run } from '../helpers/cli.ts';
import { startFaultProxy } from '../sync/helpers/fault-proxy.ts';
import { consent, patient } from '../sync/helpers/fixtures.ts';
import { startScriptedRemote } from '../sync/helpers/scripted-remote.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-push-bind-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sync push to a new URL that refuses the check', () => {
  it.each([401, 403])(
    '%i: sync-config-2 naming the status, exit 1, nothing sent',
    async (status) => {
      const remote = await startScriptedRemote();
      const refusing = await startFaultProxy(remote.url, { refuse: { path: /\/Patient\//, status } });
      try {
        const dataDir = await freshPgliteDataDir(join(dir, `s${status}`));
        const store = await openStore({ dataDir });
        const p = (await store.create(patient('010181-973R'))).resource as Patient;
        await store.create(consent(p.id as string));
        await store.close();
        expect((await run(['sync', 'push', '--remote', remote.url, '--data-dir', dataDir])).code).toBe(0);
        const r = await run(['sync', 'push', '--remote', refusing.url, '--data-dir', dataDir]);
        expect(r.code).toBe(1);
        expect(r.out.trim()).toBe(
          `tyokyky sync: sync-config-2: cannot check that ${refusing.url} is the remote this store syncs with (${remote.url}): the remote answered ${status} (it refused these credentials or their scope; check the token settings and the client's scopes there)`,
        );
        expect(refusing.requested.every((path) => /\/(Patient|Consent)\/[^/?]+$/.test(path))).toBe(true);
      } finally {
        await refusing.close();
        await remote.close();
      }
    },
    90_000,
  );
});
