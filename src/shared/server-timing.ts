// The Server-Timing header (W3C), written and read in one place: the facade reports how long
// validation and the database took for a request, so a client such as the sync worker can tell the
// server's time from the network's.

/** Parses a Server-Timing header into name → milliseconds (entries without dur are skipped). */
export function parseServerTiming(header: string | null | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const entry of (header ?? '').split(',')) {
    const [name, ...params] = entry.split(';').map((p) => p.trim());
    const dur = params.find((p) => p.startsWith('dur='));
    const ms = dur ? Number(dur.slice(4)) : Number.NaN;
    if (name && Number.isFinite(ms)) out.set(name, (out.get(name) ?? 0) + ms);
  }
  return out;
}

export class ServerTiming {
  private readonly spans = new Map<string, number>();

  /** Runs `fn` and adds its time to `name`; for a promise, the time until it settles. */
  measure<T>(name: 'validate' | 'db', fn: () => T): T {
    const started = performance.now();
    const done = () => this.add(name, performance.now() - started);
    let result: T;
    try {
      result = fn();
    } catch (err) {
      done();
      throw err;
    }
    if (result instanceof Promise) return result.finally(done) as T;
    done();
    return result;
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
