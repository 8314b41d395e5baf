/**
 * What is checked right before a request leaves: that the round still holds its rows, and that no
 * Consent of their clients changed since the round's consent gate read them. Bundles leave only in one
 * of the service's send slots (`ctx.sending`, as many as `pushConcurrency`), so rounds prepared ahead
 * and rounds settling add no load on the remote.
 */
import { eachReference } from '../../shared/references.ts';
import { timeSpent } from '../context.ts';
import {
  CONSENT_CHANGED_IN_FLIGHT,
  type OutboxRow,
  release,
  releaseConsentChanged,
  renewLease,
} from '../repository.ts';
import { LeaseLost, type Round } from './state.ts';
import type { RemoteWrite } from './writes.ts';

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

/**
 * Runs `send` (one Bundle) in a send slot, once the round's lease on the rows of `writes` is checked,
 * with the writes that may still go (withoutConsentChanged); undefined when none may.
 */
export async function inSendSlot<T>(
  round: Round,
  writes: RemoteWrite[],
  send: (going: RemoteWrite[]) => Promise<T>,
): Promise<T | undefined> {
  const { ctx } = round;
  const token = Symbol();
  ctx.waits.set(token, {
    what: `push: a send slot (all ${ctx.sending.size} busy)`,
    since: Date.now(),
  });
  return ctx.sending.run(async () => {
    ctx.waits.delete(token);
    await keepLease(
      round,
      writes.map((w) => w.row),
    );
    const going = await withoutConsentChanged(round, writes);
    return going.length ? send(going) : undefined;
  });
}

/**
 * `writes` less those whose client's consent changed since the round's gate read it (a Consent
 * written while they were in flight marked them): they go back to the queue at once, for the next
 * round's gate to decide. So do the writes that refer to one of them by `urn:uuid` (a transaction
 * Bundle's entries, e.g. another client's record naming that client): sent without it, the reference
 * would resolve to nothing.
 */
export async function withoutConsentChanged(round: Round, writes: RemoteWrite[]): Promise<RemoteWrite[]> {
  const { ctx } = round;
  if (!writes.length) return writes;
  const released = new Set(
    await timeSpent(ctx, 'database', () =>
      releaseConsentChanged(
        ctx.store,
        round.claim,
        writes.map((w) => w.row.id),
      ),
    ),
  );
  if (!released.size) return writes;
  const gone = new Set(writes.flatMap((w) => (released.has(w.row.id) && w.fullUrl ? [w.fullUrl] : [])));
  let going = writes.filter((w) => !released.has(w.row.id));
  const dependents: RemoteWrite[] = [];
  for (let grew = gone.size > 0; grew; ) {
    grew = false;
    going = going.filter((w) => {
      if (!refersToAny(w, gone)) return true;
      dependents.push(w);
      if (w.fullUrl) gone.add(w.fullUrl);
      grew = true;
      return false;
    });
  }
  if (dependents.length) {
    const ids = dependents.map((w) => w.row.id);
    await timeSpent(ctx, 'database', () =>
      release(ctx.store, round.claim, ids, 0, CONSENT_CHANGED_IN_FLIGHT),
    );
  }
  round.result.waiting += released.size + dependents.length;
  ctx.log.info(
    { released: released.size + dependents.length },
    'sync: consent changed while rows were in flight; sent back to be gated again',
  );
  return going;
}

function refersToAny(w: RemoteWrite, urls: Set<string>): boolean {
  let found = false;
  eachReference(w.resource, (ref) => {
    if (urls.has(ref)) found = true;
  });
  return found;
}
