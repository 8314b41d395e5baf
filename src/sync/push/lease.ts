/**
 * A round's hold on its rows, checked where it matters: right before a request leaves. Bundles leave
 * only in one of the service's send slots (`ctx.sending`, as many as `pushConcurrency`), so rounds
 * prepared ahead and rounds settling add no load on the remote.
 */
import { timeSpent } from '../context.ts';
import { type OutboxRow, renewLease } from '../repository.ts';
import { LeaseLost, type Round } from './state.ts';

/**
 * Renews the lease of `rows` when a quarter of it has gone by (a fresh claim needs no renewal); throws
 * LeaseLost when any of them is no longer this round's (its lease ran out and it went back to the
 * queue, or to another round): a row is sent only by the round that holds it.
 */
export async function keepLease(round: Round, rows: OutboxRow[]): Promise<void> {
  const { ctx } = round;
  if (performance.now() - round.leasedAt < ctx.leaseMs / 4) return;
  const renewedAt = performance.now();
  const ids = rows.map((r) => r.id);
  const kept = await timeSpent(ctx, 'database', () => renewLease(ctx.store, round.claim, ids, ctx.leaseMs));
  if (kept < ids.length) {
    throw new LeaseLost(
      `${ids.length - kept} of ${ids.length} rows went back to the queue while the round waited`,
    );
  }
  round.leasedAt = renewedAt;
}

/** Runs `send` (one Bundle for `rows`) in a send slot, once the round's lease on `rows` is checked. */
export async function inSendSlot<T>(round: Round, rows: OutboxRow[], send: () => Promise<T>): Promise<T> {
  const { ctx } = round;
  const token = Symbol();
  ctx.waits.set(token, {
    what: `push: a send slot (all ${ctx.sending.size} busy)`,
    since: Date.now(),
  });
  return ctx.sending.run(async () => {
    ctx.waits.delete(token);
    await keepLease(round, rows);
    return send();
  });
}
