/**
 * A one-line progress display on stderr that counts resources and follows the bytes read, so a single
 * large NDJSON file shows movement from the first line. Drawn only on a terminal (or when asked).
 */
export interface Progress {
  /** Bytes of input consumed. */
  bytes(n: number): void;
  /** One more resource validated. */
  resource(file: string): void;
  /** Wipes the line before a result is written to stdout, so the two never share a line. */
  clear(): void;
  done(): void;
}

const NO_PROGRESS: Progress = { bytes() {}, resource() {}, clear() {}, done() {} };
const REDRAW_MS = 100;

export function createProgress(totalBytes: number, enabled: boolean, stream = process.stderr): Progress {
  if (!enabled) return NO_PROGRESS;
  let read = 0;
  let resources = 0;
  let file = '';
  let shown = false;
  let last = 0;
  const draw = (force = false) => {
    const now = Date.now();
    if (!force && now - last < REDRAW_MS) return;
    last = now;
    const pct = totalBytes ? Math.min(100, Math.floor((read / totalBytes) * 100)) : 100;
    const name = file.length > 40 ? `…${file.slice(-39)}` : file;
    stream.write(`\r\x1b[K${String(pct).padStart(3)}% ${resources} resource(s) ${name}`);
    shown = true;
  };
  return {
    bytes(n) {
      read += n;
      draw();
    },
    resource(f) {
      resources++;
      file = f;
      draw();
    },
    clear() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
    done() {
      if (resources) draw(true);
      if (shown) stream.write('\n');
      shown = false;
    },
  };
}
