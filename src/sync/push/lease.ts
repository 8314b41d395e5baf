/**
 * What is checked right before a request leaves: that the round still holds its rows, and that no
 * Consent of their clients changed since the round's consent gate read them. Bundles leave only in one
 * of the service's send slots (`ctx.sending`, as many as `pushConcurrency`), so rounds prepared ahead
 * and rounds settling add no load on the remote.
 */
import { eachReference } from '../../shared/references.ts';
import { timeSpent } from '../context.ts';
import type { BeforeAttempt } from '../remote-client.ts';
import { CONSENT_CHANGED_IN_FLIGHT, type OutboxRow, release, renewLease } from '../repository.ts';
import { RecheckFailed, consentGuard, consentReleased } from './recheck.ts';
import { ConsentChangedInFlight, LeaseLost, type Round } from './state.ts';
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
 * What a send slot's `send` did: the writes it carried (those a consent change stopped stayed
 * behind) and the remote's answer, or the error it failed with.
 */
export type Sent<T> = { going: RemoteWrite[]; answer: T } | { going: RemoteWrite[]; error: unknown };

/**
 * Runs `send` (one Bundle) in a send slot, once the round's lease on the rows of `writes` is checked,
 * with the writes that may still go (withoutConsentChanged); undefined when none may. `send` passes
 * `beforeAttempt` to the remote client: a retry of the Bundle is checked the same way, and when a
 * consent changed meanwhile, the Bundle goes again at once without those rows (and the entries naming
 * them). Throws only what the slot's own checks throw (LeaseLost, the database).
 */
export async function inSendSlot<T>(
  round: Round,
  writes: RemoteWrite[],
  send: (going: RemoteWrite[], beforeAttempt: BeforeAttempt) => Promise<T>,
): Promise<Sent<T> | undefined> {
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
    let going = await withoutConsentChanged(round, writes);
    while (going.length) {
      try {
        // The first attempt leaves on the check just made; every retry is checked again.
        const guard = consentGuard(
          round,
          going.map((w) => w.row),
          1,
        );
        return { going, answer: await send(going, guard) };
      } catch (error) {
        if (error instanceof RecheckFailed) throw error.error;
        if (!(error instanceof ConsentChangedInFlight)) return { going, error };
        going = await withoutReleased(round, going, new Set(error.released));
      }
    }
    return undefined;
  });
}

/**
 * `writes` less those whose client's consent changed since the round's gate read it (a Consent
 * written while they were in flight marked them): they go back to the queue at once, for the next
 * round's gate to decide. So do the writes that refer to one of them by `urn:uuid` (a transaction
 * Bundle's entries, e.g. another client's record naming that client): sent without it, the reference
 * would resolve to nothing.
 */
async function withoutConsentChanged(round: Round, writes: RemoteWrite[]): Promise<RemoteWrite[]> {
  if (!writes.length) return writes;
  const released = await consentReleased(
    round,
    writes.map((w) => w.row.id),
  );
  return withoutReleased(round, writes, released);
}

/** `writes` less the `released` rows (consentReleased) and, transitively, the writes naming them by `urn:uuid`. */
async function withoutReleased(
  round: Round,
  writes: RemoteWrite[],
  released: ReadonlySet<string>,
): Promise<RemoteWrite[]> {
  const { ctx } = round;
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
  round.result.waiting += dependents.length;
  return going;
}

function refersToAny(w: RemoteWrite, urls: Set<string>): boolean {
  let found = false;
  eachReference(w.resource, (ref) => {
    if (urls.has(ref)) found = true;
  });
  return found;
}
