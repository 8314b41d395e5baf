import type { SyncService } from '../../../src/sync/index.ts';

/** Pushes until nothing is queued (rows backing off between rounds included), bounded by `ms`. */
export async function drain(sync: SyncService, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await sync.pushOnce();
    if ((await sync.status()).queueDepth === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`queue not drained: ${JSON.stringify((await sync.status()).states)}`);
}

/**
 * Waits, bounded by `ms`, until the outbox `sync` looks at is empty while another worker (a process,
 * a facade's loop) pushes; a timeout names `what` and the states of the rows left.
 */
export function emptied(sync: SyncService, ms: number, what = 'the outbox to drain'): Promise<void> {
  return waitFor(
    async () => (await sync.status()).queueDepth === 0,
    ms,
    what,
    async () => (await sync.status()).states,
  );
}

/** Polls `cond` until it holds; on timeout the error names `what` and, if given, `detail()`. */
export async function waitFor(
  cond: () => Promise<boolean>,
  ms: number,
  what: string,
  detail?: () => Promise<unknown>,
): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${detail ? `: ${JSON.stringify(await detail())}` : ''}`);
}
