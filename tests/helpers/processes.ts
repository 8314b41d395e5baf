/**
 * The CLI as a real child process, for the tests that prove a process-level behaviour (the command-line
 * contract, signals, several workers on one port, a second facade as the sync remote). Everything else runs
 * in-process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { isFreshBuild } from '../../bin/fresh-build.js';

export const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * Node arguments that run a script of src/ (e.g. `src/store/prepare-template.ts`) as `npm ci` and users
 * run it: its compiled file in dist/ when that is newer than every source file (npm ci has just built
 * it), else the source through tsx (an edit is never shadowed by a stale build), as bin/tyokyky.js does.
 */
export function nodeScript(source: string): string[] {
  const compiled = join(ROOT, source.replace(/^src\//, 'dist/').replace(/\.ts$/, '.js'));
  if (isFreshBuild(compiled, join(ROOT, 'src'))) return [compiled];
  return ['--import', 'tsx', join(ROOT, source)];
}

/** `tyokyky <args>` as a child process (bin/tyokyky.js: the compiled dist/ when it is fresh, else the sources through tsx). */
export function tyokyky(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['bin/tyokyky.js', ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A running `tyokyky serve`. */
export interface ServeProcess {
  child: ChildProcess;
  /** FHIR base URL, e.g. http://127.0.0.1:40123/fhir */
  url: string;
  /** Everything it printed so far (stdout and stderr). */
  logs(): string;
  exited: Promise<number | null>;
  /** Sends the signal (SIGTERM unless told) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface ServeOptions {
  env?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * The FHIR base URL a starting facade process logs ("url":"http://…/fhir"), once it does; rejects with
 * what it printed when it exits first or after `timeoutMs`. `onOutput` gets everything it prints.
 */
export function facadeUrl(
  child: ChildProcess,
  onOutput: (chunk: string) => void,
  timeoutMs = 120_000,
): Promise<string> {
  let logs = '';
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${logs}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      logs += chunk.toString();
      onOutput(chunk.toString());
      const m = /"url":"(http:\/\/[^"]+\/fhir)"/.exec(logs);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${logs}`));
    });
  });
}

/** Starts `tyokyky serve` on an OS-chosen port of 127.0.0.1 and waits for its "listening" log line. */
export async function startServe(args: string[], options: ServeOptions = {}): Promise<ServeProcess> {
  const child = tyokyky(['serve', '--port', '0', '--host', '127.0.0.1', ...args], {
    LOG_LEVEL: 'info',
    ...options.env,
  });
  let logs = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await facadeUrl(
    child,
    (chunk) => {
      logs += chunk;
    },
    options.timeoutMs,
  );
  return { child, url, logs: () => logs, exited, stop: (signal) => stopChild(child, signal) };
}

/** Sends the signal (SIGTERM unless told) and resolves when the child has exited. */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** Runs `tyokyky <args>` to its end: exit code and everything it printed (info-level logs included). */
export async function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string }> {
  const child = tyokyky(args, { LOG_LEVEL: 'info', ...env });
  let out = '';
  const collect = (c: Buffer) => {
    out += c.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, out };
}
