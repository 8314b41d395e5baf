// The one-shot `sync push` progress bar on a terminal: how far, how fast once anything settled, how
// long, and — when a wait outlasts WAIT_SHOWN_MS (a remote holding its answers) — what the push waits
// for (the service's own waits: another process's are not known here).
import ProgressBar from 'progress';
import type { SyncStatus } from '../../sync/index.ts';

/** A wait shorter than this is a remote answering, not a push held up: not shown. */
export const WAIT_SHOWN_MS = 3_000;

export interface PushProgress {
  /** After a round: the rows settled so far. */
  settled(n: number): void;
  /** Between rounds: what the push waits for now. */
  refresh(waiting: SyncStatus['waiting']): void;
  /** The push ended: the line is finished, whether or not every row settled. */
  done(): void;
}

/**
 * The bar's own tokens: the rate only once rows settled (the `progress` package's `:rate` is NaN
 * before), the time since the push began, and the longest wait past WAIT_SHOWN_MS.
 */
export function progressTokens(
  settled: number,
  elapsedMs: number,
  waiting: SyncStatus['waiting'],
): { speed: string; took: string; waits: string } {
  const seconds = Math.max(0, elapsedMs) / 1000;
  const rate = settled / Math.max(seconds, 0.1);
  const long = waiting.filter((w) => w.forMs >= WAIT_SHOWN_MS).sort((a, b) => b.forMs - a.forMs);
  const more = long.length > 1 ? ` (+${long.length - 1} more)` : '';
  return {
    speed: settled > 0 ? ` ${rate >= 10 ? Math.round(rate) : rate.toFixed(1)}/s` : '',
    took: `${seconds.toFixed(1)}s`,
    waits: long.length ? ` — waiting ${Math.round(long[0].forMs / 1000)} s for ${long[0].what}${more}` : '',
  };
}

export function pushProgress(
  stream: NodeJS.WritableStream,
  total: number,
  now: () => number = Date.now,
): PushProgress {
  const bar = new ProgressBar('pushing [:bar] :current/:total:speed :took:waits', {
    total,
    width: 30,
    stream,
    renderThrottle: 0,
  });
  const began = now();
  let last = 0;
  let waiting: SyncStatus['waiting'] = [];
  const tokens = () => progressTokens(last, now() - began, waiting);
  return {
    settled(n) {
      if (bar.complete) return;
      const step = Math.max(0, Math.min(n - bar.curr, bar.total - bar.curr));
      last = n;
      bar.tick(step, tokens());
    },
    refresh(w) {
      waiting = w;
      if (!bar.complete) bar.render(tokens());
    },
    done() {
      if (!bar.complete) bar.terminate();
    },
  };
}
