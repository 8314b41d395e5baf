// The one `--timeout <ms>` of the commands that call a facade over HTTP (`load`, `clients token`): each
// request gives up after it, so a listener that takes the connection and never answers cannot hold a
// command for minutes (undici's own limit is 300 s).

/** The default wait for one request's answer. */
export const DEFAULT_TIMEOUT_MS = '30000';

/** `--timeout`'s value in ms; throws naming the option when it is no positive whole number. */
export function timeoutOption(raw: string): number {
  const ms = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(ms) || ms <= 0)
    throw new Error(`--timeout must be a positive whole number of ms, got "${raw}"`);
  return ms;
}

/** What a request that could not be made says after its URL: the wait when it timed out. */
export function requestFailureText(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: Error };
  if (e?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms (--timeout)`;
  return e?.cause?.message ?? e?.message ?? String(err);
}
