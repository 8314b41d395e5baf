/**
 * The consent re-check right before a push write leaves: which of its rows a Consent of their client
 * marked while they were in flight (repository.releaseConsentChanged, the one place that decides and
 * sends them back to the queue unsent, the attempt not counted). Asked before a Bundle leaves its send
 * slot, before every single write, and before every retry the remote client makes of either
 * (`beforeAttempt`): a Consent committed while a write waited for a lane or out a 429's Retry-After
 * stops that write. Only a request already on its way goes.
 *
 * Checks asked at about the same time share one query (single writes leave eight at once). A check is
 * only ever answered by a query started after it was asked: one asked while a query runs waits for
 * the next, so no write leaves on what the database said before it started waiting.
 */
import { timeSpent } from '../context.ts';
import type { BeforeAttempt } from '../remote-client.ts';
import { releaseConsentChanged } from '../repository.ts';
import { ConsentChangedInFlight, type Round } from './state.ts';

interface Asked {
  ids: readonly string[];
  resolve(released: Set<string>): void;
  reject(err: unknown): void;
}

/**
 * Coalesces re-checks: `release(ids)` (the rows among `ids` released for a consent change) runs for
 * every check asked within one turn of the event loop, and again for those asked while it ran.
 */
export class ConsentRecheck {
  private asked: Asked[] = [];
  private busy = false;

  constructor(private readonly release: (ids: string[]) => Promise<readonly string[]>) {}

  /** The rows among `ids` that went back to the queue because their client's consent changed. */
  released(ids: readonly string[]): Promise<Set<string>> {
    if (!ids.length) return Promise.resolve(new Set());
    return new Promise((resolve, reject) => {
      this.asked.push({ ids, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.busy) return;
    this.busy = true;
    // After this turn: the checks the other lanes ask meanwhile join the same query.
    setImmediate(() => void this.run());
  }

  private async run(): Promise<void> {
    const batch = this.asked.splice(0);
    try {
      const released = new Set(await this.release([...new Set(batch.flatMap((a) => a.ids))]));
      for (const a of batch) a.resolve(new Set(a.ids.filter((id) => released.has(id))));
    } catch (err) {
      for (const a of batch) a.reject(err);
    } finally {
      this.busy = false;
      if (this.asked.length) this.schedule();
    }
  }
}

const rechecks = new WeakMap<Round, ConsentRecheck>();

/**
 * The rows among `ids` (the round's) whose client's consent changed since the round's gate read it:
 * back in the queue unsent, counted as waiting.
 */
export function consentReleased(round: Round, ids: readonly string[]): Promise<Set<string>> {
  let recheck = rechecks.get(round);
  if (!recheck) {
    const { ctx } = round;
    recheck = new ConsentRecheck(async (all) => {
      const released = await timeSpent(ctx, 'database', () =>
        releaseConsentChanged(ctx.store, round.claim, all),
      );
      if (released.length) {
        round.result.waiting += released.length;
        ctx.log.info(
          { released: released.length },
          'sync: consent changed while rows were in flight; sent back to be gated again',
        );
      }
      return released;
    });
    rechecks.set(round, recheck);
  }
  return recheck.released(ids);
}

/**
 * The re-check itself failed (the database): nothing was sent, and no row is to blame. The push stops
 * the round with it, as when its send slot's own checks fail (`error`: what failed).
 */
export class RecheckFailed extends Error {
  constructor(readonly error: unknown) {
    super(`consent re-check before a send failed: ${(error as Error)?.message ?? String(error)}`);
    this.name = 'RecheckFailed';
  }
}

/**
 * The remote client's `beforeAttempt` for a request carrying `rows`: from attempt `from` on (0: the
 * first too), a consent change of any of their clients stops the attempt unsent (ConsentChangedInFlight,
 * naming the rows released); a check that cannot be made stops it too (RecheckFailed).
 */
export function consentGuard(round: Round, rows: readonly { id: string }[], from = 0): BeforeAttempt {
  const ids = rows.map((r) => r.id);
  return async (attempt) => {
    if (attempt < from) return;
    let released: Set<string>;
    try {
      released = await consentReleased(round, ids);
    } catch (err) {
      throw new RecheckFailed(err);
    }
    if (released.size) throw new ConsentChangedInFlight([...released]);
  };
}
