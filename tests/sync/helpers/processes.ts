import { type ChildProcess, spawn } from 'node:child_process';
export { PG_URL, dropDatabase, freshDatabase } from '../../helpers/databases.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;

/** `tyokyky <args>` as a child process (bin/tyokyky.js: the compiled dist/ when it is fresh, else the sources through tsx). */
export function tyokyky(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['bin/tyokyky.js', ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A second tyokyky facade — the "Kanta-style store" — on its own PostgreSQL database. */
export function startFacade(
  databaseUrl: string,
): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  return startServe(['--database-url', databaseUrl]);
}

/** `tyokyky serve` on a free port (not strict) with extra arguments and environment. */
export async function startServe(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const child = tyokyky(['serve', '--port', '0', '--host', '127.0.0.1', '--no-strict', ...args], {
    LOG_LEVEL: 'info',
    ...env,
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`facade did not start: ${out}`)), 60_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http:\/\/[^"]+\/fhir)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('exit', (code) => reject(new Error(`facade exited ${code}: ${out}`)));
  });
  child.stdout?.resume();
  return { url, child, stop: () => stopChild(child) };
}

export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
