// The receiving party a store syncs as is bound by what it sent: the first write that leaves for the
// remote records it (sync_state `party`). A store that has sent nothing — a push as the wrong party,
// everything blocked by consent — may sync as another party, and what the consent gate held back is
// judged again for it; once something has gone, syncing as another party is refused (sync-config-3),
// also by a process that started while the store was bound to none. Remote: a facade in this process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirError } from '../../src/shared/outcome.ts';
import { type Store, freshPgliteDataDir, openStore } from '../../src/store/index.ts';
import { createSync } from '../../src/sync/index.ts';
import { runHere as run } from '../helpers/cli.ts';
import { type FacadeHere, startFacadeHere } from '../helpers/facade.ts';
import { consent, patient, remoteCopiesOf } from './helpers/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'tyokyky-party-'));
let remote: FacadeHere;
const stores: Store[] = [];
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  remote = await startFacadeHere({ dataDir: 'memory://' }, { strict: false });
});
afterAll(async () => {
  for (const stop of stops) await stop();
  for (const s of stores) await s.close();
  await remote?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const otherParty = (bound: string, given: string) =>
  `sync-config-3: this store syncs as party ${bound} (what it sent was judged by that party's consents), not as ${given}; use a fresh store for another party`;

describe('the party a store syncs as is bound by what it sent', () => {
  it('tyokyky sync push: a push that sent nothing (wrong port, default party) binds no party; the right one then sends, and binds', async () => {
    const dataDir = await freshPgliteDataDir(join(dir, 'cli'));
    const store = await openStore({ dataDir });
    const p = (await store.create(patient('050581-9459'))).resource as Patient;
    await store.create(consent(p.id as string, { parties: ['kela'] }));
    await store.close();
    const push = (...args: string[]) => run(['sync', 'push', '--data-dir', dataDir, '--json', ...args]);

    // Forgot --party (other-health-care, which the client's consent does not cover), and the wrong port.
    const wrong = await push('--remote', 'http://127.0.0.1:9/fhir', '--timeout', '2000');
    const blocked = JSON.parse(wrong.out);
    expect(blocked.result).toMatchObject({ done: 0, blocked: 2 });
    expect(blocked.status.boundTo.party).toBeNull();

    const right = await push('--remote', remote.url, '--party', 'kela');
    const sent = JSON.parse(right.out);
    expect(sent.status.states).toMatchObject({ done: 2, blocked: 0, pending: 0 });
    expect(sent.status.boundTo).toEqual({ remote: remote.url, party: 'kela' });
    expect(right.code).toBe(0);
    expect(await remoteCopiesOf(remote.url, p)).toHaveLength(1);

    const status = await run(['sync', 'status', '--data-dir', dataDir, '--party', 'other-health-care']);
    expect(status.out).toMatch(/^party {14}kela \(the store's; given other-health-care\)$/m);
    // Now it has sent as kela: another party is refused, before anything is sent.
    const again = await run(['sync', 'push', '--data-dir', dataDir, '--remote', remote.url]);
    expect(again).toEqual({ code: 1, out: `tyokyky sync: ${otherParty('kela', 'other-health-care')}\n` });
  }, 60_000);

  it('a service started while the store was bound to none is refused at its first send once another party has sent', async () => {
    const store = await openStore({ dataDir: 'memory://' });
    stores.push(store);
    const both = { parties: ['kela', 'other-health-care'] };
    const asKela = createSync({ store, remote: { baseUrl: remote.url, party: 'kela' } });
    const asOther = createSync({
      store,
      remote: { baseUrl: remote.url, party: 'other-health-care' },
      installHook: false,
    });
    stops.push(
      () => asKela.stop(),
      () => asOther.stop(),
    );
    await asKela.ready;
    // Its checks before the first push pass: the store is bound to no party yet.
    await asKela.backfill();
    const first = (await store.create(patient('060681-9563'))).resource as Patient;
    await store.create(consent(first.id as string, both));
    await asOther.pushOnce();
    expect((await asOther.status()).boundTo.party).toBe('other-health-care');

    const second = (await store.create(patient('070781-9667'))).resource as Patient;
    await store.create(consent(second.id as string, both));
    const refused = await asKela.pushOnce().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(FhirError);
    expect((refused as FhirError).outcome.issue?.[0]?.diagnostics).toBe(
      otherParty('other-health-care', 'kela'),
    );
    expect(await remoteCopiesOf(remote.url, second)).toHaveLength(0);
    // Not sent, not dead: the rows wait in the queue.
    expect((await asKela.status()).states).toMatchObject({ pending: 2, dead: 0 });
  }, 60_000);
});
