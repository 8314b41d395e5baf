// One process per PGlite data directory. PGlite is PostgreSQL in one process without the
// postmaster's lock: a second process opening the same directory reads and writes the same files with
// its own buffers, and each overwrites the other's pages. (Written by hand: proper-lockfile, the usual
// library, can only tell a crashed holder by waiting out a staleness period, so a restart after a
// crash would wait or be refused; a process id answers at once.)
import { closeSync, openSync, readFileSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const LOCK_FILE = 'tyokyky.lock';
/**
 * The lock files this process holds. A lock naming our own pid that is not here was left by an
 * earlier process that had the same pid (a container restarted: pid 1 again) and is taken over.
 */
const held = new Set<string>();
/** The holder touches its lock this often; a lock untouched for STALE_MS names a reused process id. */
const TOUCH_MS = 5_000;
const STALE_MS = 30_000;

export class DataDirInUseError extends Error {
  readonly code = 'EDATADIRLOCKED';
  constructor(dataDir: string, pid: number | undefined) {
    super(
      `data directory ${dataDir} is in use by ${pid ? `process ${pid}` : 'another process'} (a tyokyky serve or command); stop it first, or use --database-url for several processes`,
    );
    this.name = 'DataDirInUseError';
  }
}

function holder(file: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
  } catch {
    return undefined; // gone meanwhile, or unreadable: nobody to defer to
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (pid === process.pid) return held.has(file) ? pid : undefined;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
  }
  try {
    if (Date.now() - statSync(file).mtimeMs > STALE_MS) return undefined;
  } catch {
    return undefined;
  }
  return pid;
}

/**
 * Takes the directory's lock or throws DataDirInUseError naming the holder. A lock left by a process
 * that is gone (killed, crashed) is taken over. Returns the release function.
 */
export function lockDataDir(dataDir: string): () => void {
  const file = resolve(join(dataDir, LOCK_FILE));
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = holder(file);
      if (pid !== undefined || attempt > 0) throw new DataDirInUseError(dataDir, pid);
      rmSync(file, { force: true });
      continue;
    }
    writeSync(fd, String(process.pid));
    closeSync(fd);
    held.add(file);
    const touch = setInterval(() => {
      const now = new Date();
      try {
        utimesSync(file, now, now);
      } catch {
        // removed under us; release() below copes
      }
    }, TOUCH_MS);
    touch.unref();
    return () => {
      clearInterval(touch);
      if (holder(file) === process.pid) rmSync(file, { force: true });
      held.delete(file);
    };
  }
}
