/**
 * How idle push loops hear of new work: the outbox hook rings after a local commit that queued rows,
 * on the doorbell of its store that every sync service of this process on that store shares (extra
 * workers without the hook hear it too), and a loop that found nothing to claim sleeps until then (or
 * its idle time, for rows queued by another process and rows whose delay runs out). A ring wakes one sleeper — a commit is usually one
 * round's rows; a loop that claims a full batch rings again for the rest. A ring between a loop's
 * claim and its sleep is not missed: the loop sleeps only if nothing rang since the ticket it took
 * before claiming.
 */
export class Doorbell {
  private rings = 0;
  private readonly sleepers = new Set<() => void>();

  /** The count of rings so far; pass it to `sleep` to wake at once if it rang since. */
  ticket(): number {
    return this.rings;
  }

  /** Wakes the longest sleeper, if any. */
  ring(): void {
    this.rings++;
    const [first] = this.sleepers;
    first?.();
  }

  /** Resolves after `ms`, on a ring after `ticket`, or when `signal` aborts, whichever comes first. */
  sleep(ms: number, ticket: number, signal?: AbortSignal): Promise<void> {
    if (this.rings !== ticket || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

const doorbells = new WeakMap<object, Doorbell>();

/** The doorbell of `store` in this process (see Doorbell). */
export function doorbellOf(store: object): Doorbell {
  let bell = doorbells.get(store);
  if (!bell) {
    bell = new Doorbell();
    doorbells.set(store, bell);
  }
  return bell;
}
