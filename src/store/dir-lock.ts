// One process per PGlite data directory. PGlite is PostgreSQL in one process without the
// postmaster's lock: a second process opening the same directory reads and writes the same files with
// its own buffers, and each overwrites the other's pages. (Written by hand: proper-lockfile, the usual
// library, can only tell a crashed holder by waiting out a staleness period, so a restart after a
// crash would wait or be refused; a process id answers at once. Node has no flock, which the kernel
// would release with the process.)
import { randomBytes } from 'node:crypto';
import {
  constants,
  closeSync,
  copyFileSync,
  fstatSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { pidScope, processStart } from './process-start.ts';

export const LOCK_FILE = 'tyokyky.lock';
/**
 * The lock files this process holds. A lock naming our own pid that is not here was left by an
 * earlier process that had the same pid (a container restarted: pid 1 again) and is taken over.
 */
const held = new Set<string>();
/**
 * The holder touches its lock this often. Only a lock whose writer cannot be checked (written in
 * another pid namespace, before a reboot, by an earlier release, or where /proc is missing) is judged
 * by its age: untouched for STALE_MS while its pid lives, that pid is taken to be reused. A holder
 * that can be checked keeps its lock however long its event loop is blocked (PGlite runs each
 * statement synchronously).
 */
const TOUCH_MS = 5_000;
const STALE_MS = 30_000;
/** Openers racing for one stale lock retry this often before giving up. */
const MAX_ATTEMPTS = 5;

export class DataDirInUseError extends Error {
  readonly code = 'EDATADIRLOCKED';
  constructor(dataDir: string, pid: number | undefined) {
    super(
      `data directory ${dataDir} is in use by ${pid ? `process ${pid}` : 'another process'} (a tyokyky serve or command); stop it first, or use --database-url for several processes`,
    );
    this.name = 'DataDirInUseError';
  }
}

/** What a lock file holds: its writer's pid, and (since the start was recorded) where and when it started. */
interface LockText {
  pid: number;
  scope?: string;
  start?: string;
}

/** This process's lock text; the nonce makes every lock's text its own (a takeover compares texts). */
function ownText(): string {
  return JSON.stringify({
    pid: process.pid,
    scope: pidScope(),
    start: processStart(process.pid),
    nonce: randomBytes(8).toString('hex'),
  });
}

/** A lock's text, JSON or (written by an earlier release) the pid alone; undefined when unreadable. */
function parse(text: string): LockText | undefined {
  if (/^\d+$/.test(text)) return { pid: Number(text) };
  try {
    const o = JSON.parse(text) as Partial<Record<keyof LockText, unknown>>;
    if (!Number.isSafeInteger(o.pid) || (o.pid as number) <= 0) return undefined;
    return {
      pid: o.pid as number,
      ...(typeof o.scope === 'string' ? { scope: o.scope } : {}),
      ...(typeof o.start === 'string' ? { start: o.start } : {}),
    };
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** The lock's text and last touch; undefined when it is gone. */
function readLock(file: string): { text: string; mtimeMs: number } | undefined {
  try {
    const fd = openSync(file, 'r');
    try {
      return { mtimeMs: fstatSync(fd).mtimeMs, text: readFileSync(fd, 'utf8').trim() };
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Whether the lock's holder is alive (its pid for the refusal); a lock that is not is taken over. */
function judge(file: string, lock: { text: string; mtimeMs: number }): { live: boolean; pid?: number } {
  const fresh = Date.now() - lock.mtimeMs <= STALE_MS;
  const info = parse(lock.text);
  // Empty while its writer is writing it, or not ours: only its age tells.
  if (!info) return { live: fresh };
  const { pid } = info;
  if (pid === process.pid) return { live: held.has(file), pid };
  if (!alive(pid)) return { live: false, pid };
  const scope = pidScope();
  const now =
    info.start !== undefined && scope !== undefined && info.scope === scope ? processStart(pid) : undefined;
  return { live: now === undefined ? fresh : now === info.start, pid };
}

/** Creates the lock with `text`; false when a lock is there. */
function create(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, text);
  } catch (err) {
    rmSync(file, { force: true });
    throw err;
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Removes the stale lock whose text is `judged`, unless another opener has replaced it meanwhile:
 * two openers that judged one stale lock must not both remove a lock, or the second removes the
 * first one's new lock and both open the directory. The lock is renamed aside (of several renames,
 * one moves it) and what was moved is compared with what was judged; a newer lock moved by mistake
 * is put back, unless a third opener has made one in that instant.
 */
function takeOver(file: string, judged: string): void {
  const aside = `${file}.${process.pid}.${randomBytes(6).toString('hex')}`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    if (readFileSync(aside, 'utf8').trim() !== judged) copyFileSync(aside, file, constants.COPYFILE_EXCL);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    rmSync(aside, { force: true });
  }
}

/**
 * Takes the directory's lock or throws DataDirInUseError naming the holder. A lock left by a process
 * that is gone (killed, crashed) is taken over. Returns the release function.
 */
export function lockDataDir(dataDir: string): () => void {
  const file = resolve(join(dataDir, LOCK_FILE));
  const text = ownText();
  for (let attempt = 1; !create(file, text); attempt++) {
    const lock = readLock(file);
    const { live, pid } = lock ? judge(file, lock) : { live: false, pid: undefined };
    if (live || attempt >= MAX_ATTEMPTS) throw new DataDirInUseError(dataDir, pid);
    if (lock) takeOver(file, lock.text);
  }
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
    if (readLock(file)?.text === text) rmSync(file, { force: true });
    held.delete(file);
  };
}
