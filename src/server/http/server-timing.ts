// Server-Timing (W3C) on write responses: how long validation and the database took for this
// request, so a client such as the sync worker can tell the server's time from the network's.

export class ServerTiming {
  private readonly spans = new Map<string, number>();

  measure<T>(name: 'validate' | 'db', fn: () => T): T {
    const started = performance.now();
    try {
      return fn();
    } finally {
      this.add(name, performance.now() - started);
    }
  }

  async measureAsync<T>(name: 'validate' | 'db', fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      this.add(name, performance.now() - started);
    }
  }

  private add(name: string, ms: number): void {
    this.spans.set(name, (this.spans.get(name) ?? 0) + ms);
  }

  /** `validate;dur=0.8, db;dur=2.1`, or undefined when nothing was measured. */
  header(): string | undefined {
    if (!this.spans.size) return undefined;
    return [...this.spans].map(([name, ms]) => `${name};dur=${ms.toFixed(1)}`).join(', ');
  }
}
