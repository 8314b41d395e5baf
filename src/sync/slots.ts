/**
 * A counting semaphore: at most `size` holders at once, the others wait in arrival order. A push keeps
 * more rounds in flight than it sends Bundles at once: a round is claimed, gated and ordered, and
 * settled afterwards, while the others' Bundles are at the remote — the remote gets no more requests
 * at once than `size`.
 */
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    this.free = Math.max(1, Math.trunc(size));
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
