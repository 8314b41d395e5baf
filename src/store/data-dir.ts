import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * `mkdir -p` for a data directory. Node's own recursive mkdir (also inside cpSync) never returns when
 * a component cannot be created although its parent exists (`/proc/x/y`: mkdir answers ENOENT there),
 * so a bad --data-dir hung `serve` without a word; this walks the path itself and fails with the code.
 */
export function makeDataDir(path: string): void {
  try {
    mkdirSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (!statSync(path).isDirectory())
        throw Object.assign(new Error(`${path} is not a directory`), { code: 'ENOTDIR' });
      return;
    }
    const parent = dirname(path);
    if (code !== 'ENOENT' || parent === path) throw err;
    makeDataDir(parent);
    mkdirSync(path); // ENOENT again here is final: the parent exists and still refuses a child
  }
}
