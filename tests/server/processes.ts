import { type ChildProcess, spawn } from 'node:child_process';

export const ROOT = new URL('../../', import.meta.url).pathname;

export function tyokyky(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['bin/tyokyky.js', ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface ServeProcess {
  child: ChildProcess;
  /** FHIR base URL, e.g. http://127.0.0.1:40123/fhir */
  base: string;
  logs(): string;
  exited: Promise<number | null>;
}

/** Starts `tyokyky serve` on an OS-chosen port and waits for its "listening" log line. */
export async function startServe(args: string[], timeoutMs = 120_000): Promise<ServeProcess> {
  const child = tyokyky(['serve', '--port', '0', '--host', '127.0.0.1', ...args]);
  let logs = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${logs}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      logs += chunk.toString();
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
  return { child, base, logs: () => logs, exited };
}

export async function run(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = tyokyky(args);
  let out = '';
  const collect = (c: Buffer) => {
    out += c.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, out };
}
