// One process per PGlite data directory (src/store/dir-lock.ts): a live holder keeps its lock however
// long its event loop is blocked; a lock whose holder is gone is taken over by exactly one opener.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirInUseError, LOCK_FILE, lockDataDir } from '../../src/store/dir-lock.ts';

const childScript = fileURLToPath(new URL('./lock-child.ts', import.meta.url));
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

const dirs: string[] = [];
const children: ChildProcess[] = [];
const releases: Array<() => void> = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tyokyky-lock-'));
  dirs.push(dir);
  return dir;
}

function child(job: unknown): { proc: ChildProcess; line: Promise<string> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', childScript, JSON.stringify(job)], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  let out = '';
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const line = new Promise<string>((resolve, reject) => {
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    proc.on('exit', (code) => reject(new Error(`lock child exited (${code}): ${err}`)));
  });
  return { proc, line };
}

/** A pid no process has now (a process that has exited). */
const gonePid = () => spawnSync(process.execPath, ['-e', '0']).pid as number;

/** The lock file's mtime set `ago` ms back, as a holder that has not touched it for that long. */
function age(dir: string, ago: number): void {
  const then = new Date(Date.now() - ago);
  utimesSync(join(dir, LOCK_FILE), then, then);
}

afterEach(async () => {
  for (const release of releases.splice(0)) release();
  for (const proc of children.splice(0)) {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGKILL');
      await exited;
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('data directory lock', () => {
  it('a live holder whose event loop is blocked keeps its lock, however long ago it was touched', async () => {
    const dir = tempDir();
    const holder = child({ mode: 'hold', dir });
    expect(await holder.line).toBe('locked');
    // Ten minutes without a touch: the holder runs one long synchronous statement.
    age(dir, 600_000);
    expect(() => lockDataDir(dir)).toThrow(DataDirInUseError);
    expect(() => lockDataDir(dir)).toThrow(`data directory ${dir} is in use by process ${holder.proc.pid}`);
    const exited = new Promise((resolve) => holder.proc.once('exit', resolve));
    holder.proc.kill('SIGKILL');
    await exited;
    // Gone: taken over at once.
    releases.push(lockDataDir(dir));
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
  }, 60_000);

  it('a lock naming a live process that did not write it (its pid reused) is taken over at once', async () => {
    const dir = tempDir();
    const holder = child({ mode: 'hold', dir });
    expect(await holder.line).toBe('locked');
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)']);
    children.push(other);
    // What the holder wrote, but naming another live process: that process started later than the
    // lock's writer, so it is not the writer.
    const text = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'));
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ ...text, pid: other.pid }));
    releases.push(lockDataDir(dir));
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
  }, 60_000);

  it('a lock written without the start of its process (an earlier release) is judged by its age when its pid lives', () => {
    const dir = tempDir();
    writeFileSync(join(dir, LOCK_FILE), String(process.ppid));
    expect(() => lockDataDir(dir)).toThrow(`data directory ${dir} is in use by process ${process.ppid}`);
    age(dir, 60_000);
    releases.push(lockDataDir(dir));
  });

  it('of two processes taking over one stale lock at the same moment, exactly one wins', async () => {
    const rounds = Array.from({ length: 10 }, () => {
      const dir = tempDir();
      writeFileSync(join(dir, LOCK_FILE), String(gonePid()));
      return dir;
    });
    // Started together; each tries directory k at the same instant (children start in a few seconds).
    const job = { mode: 'race', dirs: rounds, at: Date.now() + 8_000, stepMs: 150, holdMs: 3_000 };
    const results = await Promise.all(Array.from({ length: 2 }, () => child(job).line));
    const perRound = rounds.map((_, k) => results.map((r) => (JSON.parse(r) as string[])[k]));
    expect(perRound.map((round) => round.filter((r) => r === 'won').length)).toEqual(rounds.map(() => 1));
  }, 60_000);
});
