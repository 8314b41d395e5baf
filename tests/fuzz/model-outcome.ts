/** How the sync model targets (sync-model, kanta-sync-model) judge the end of a case. */
import type { SyncService } from '../../src/sync/index.ts';
import type { FaultProxy } from '../sync/helpers/fault-proxy.ts';
import { waitFor } from '../sync/helpers/waits.ts';

type States = Awaited<ReturnType<SyncService['status']>>['states'];

/**
 * Runs `ops` through `apply`, then judges: rows the case left unsettled (any state but done that grew
 * against the states before it: an earlier case's dead letter is not this one's), else the first
 * slot `judge` finds wrong.
 */
export async function judgeCase<Op, S>(
  sync: SyncService,
  ops: Op[],
  apply: (op: Op) => Promise<void>,
  slots: S[],
  judge: (s: S) => Promise<string | undefined>,
): Promise<string | undefined> {
  const before: States = (await sync.status()).states;
  for (const op of ops) await apply(op);
  const { states } = await sync.status();
  const left = Object.entries(states).filter(
    ([state, n]) => state !== 'done' && n > before[state as keyof States],
  );
  if (left.length) return `rows left ${left.map(([state]) => state).join(', ')}`;
  for (const s of slots) {
    const wrong = await judge(s);
    if (wrong) return wrong;
  }
  return undefined;
}

/** What the first request of a push meets on its way (the sync talks to the remote through a fault proxy). */
export type PushFault = 'lose-answer' | 'refuse' | 'hold-pull';

/**
 * Arms `fault` on the proxy for the next push: a lost answer or a refusal is left for the push to
 * meet; `hold-pull` runs `push` here with the answer to its first request (of `holdMethod`, if given)
 * held while `pull` runs, then lets it go and waits for the push.
 */
export async function meetFault(
  proxy: FaultProxy,
  fault: PushFault | undefined,
  push: () => Promise<unknown>,
  pull: () => Promise<void>,
  holdMethod?: string,
): Promise<void> {
  if (fault === 'lose-answer') proxy.faults.dropNext = 1;
  if (fault === 'refuse') proxy.faults.errorNext = 1;
  if (fault !== 'hold-pull') return;
  const held = proxy.stats.held;
  Object.assign(proxy.faults, { holdNext: 1, holdMethod });
  let settled = false;
  const pushing = push().finally(() => {
    settled = true;
  });
  await waitFor(async () => settled || proxy.stats.held > held, 30_000, 'a held push answer');
  proxy.faults.holdNext = 0;
  await pull();
  proxy.releaseHeld();
  await pushing;
}
