/**
 * A counting semaphore: at most `size` holders at once, the others wait in arrival order. The push
 * keeps one round more in flight than it sends Bundles at once, so a round is claimed, gated and
 * ordered while the others' Bundles are at the remote, without more load on the remote.
 */
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    this.free = Math.max(1, size);
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}
