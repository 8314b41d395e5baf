// The one-shot `sync push` progress bar as a terminal shows it: no NaN before anything settled, and
// what the push waits for once a wait outlasts a few seconds (a remote holding its answers).
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pushProgress } from '../../src/cli/sync/progress.ts';

/** A terminal 120 columns wide that keeps what was drawn last. */
function terminal() {
  const drawn: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk, _enc, done) {
        drawn.push(String(chunk));
        done();
      },
    }),
    { isTTY: true, columns: 120, cursorTo: () => true, clearLine: () => true },
  );
  return { stream, drawn, last: () => drawn.filter((d) => d !== '\n').at(-1) ?? '' };
}

describe('push progress', () => {
  it('before anything settled: counts and time, no rate (never NaN)', () => {
    const t = terminal();
    const p = pushProgress(t.stream, 11);
    p.settled(0);
    expect(t.last()).toMatch(/^pushing \[-+\] 0\/11 \d+\.\ds$/);
    expect(t.last()).not.toContain('NaN');
  });

  it('names what the push has waited for longer than a few seconds, longest first', () => {
    const t = terminal();
    const p = pushProgress(t.stream, 11);
    p.refresh([{ what: 'push: create Patient', forMs: 1_000 }]);
    expect(t.last()).not.toContain('waiting');
    p.refresh([
      { what: 'push: create Patient', forMs: 4_200 },
      { what: 'remote POST Patient', forMs: 12_400 },
    ]);
    expect(t.last()).toMatch(
      /^pushing \[-+\] 0\/11 \d+\.\ds — waiting 12 s for remote POST Patient \(\+1 more\)$/,
    );
  });

  it('once rows settled: their rate', () => {
    const t = terminal();
    const p = pushProgress(t.stream, 11);
    p.settled(3);
    expect(t.last()).toMatch(/^pushing \[=+-+\] 3\/11 \d+(\.\d)?\/s \d+\.\ds$/);
  });

  it('ends its line once: when every row settled, or when the push ends short of that', () => {
    const full = terminal();
    const p = pushProgress(full.stream, 2);
    p.settled(2);
    p.settled(3); // a row queued meanwhile settled too
    p.done();
    expect(full.drawn.filter((d) => d === '\n')).toHaveLength(1);
    const short = terminal();
    const q = pushProgress(short.stream, 2);
    q.settled(1);
    q.done();
    expect(short.drawn.filter((d) => d === '\n')).toHaveLength(1);
  });
});
