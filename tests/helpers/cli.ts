/**
 * `tyokyky <args>` in this process: the real command tree (src/cli/program.ts) with commander's parsing,
 * the command's own code and its exit code, without a process start (~0.5–2 s of CPU each, most of it
 * opening a store). Use it for the cases of a command; keep one real process per contract
 * (tests/helpers/processes.ts: exit codes and output as a shell sees them, signals, several processes).
 * Not for `serve` (it keeps running and logs through pino straight to the file descriptor).
 */
import { vi } from 'vitest';
import { createProgram } from '../../src/cli/program.ts';

class Exit extends Error {
  constructor(readonly code: number) {
    super(`process.exit(${code})`);
  }
}

/** Runs `tyokyky <args>` to its end: exit code and everything it printed (stdout and stderr, in order). */
export async function runHere(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const collect = (...parts: unknown[]) => {
    out += `${parts.map(String).join(' ')}\n`;
  };
  const write = (chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  };
  const previousExitCode = process.exitCode;
  process.exitCode = undefined;
  const spies = [
    vi.spyOn(process, 'exit').mockImplementation((code) => {
      throw new Exit(Number(code ?? 0));
    }),
    vi.spyOn(console, 'log').mockImplementation(collect),
    vi.spyOn(console, 'error').mockImplementation(collect),
    vi.spyOn(console, 'warn').mockImplementation(collect),
    vi.spyOn(process.stdout, 'write').mockImplementation(write as typeof process.stdout.write),
    vi.spyOn(process.stderr, 'write').mockImplementation(write as typeof process.stderr.write),
  ];
  try {
    await createProgram().parseAsync(['node', 'tyokyky', ...args]);
    return { code: Number(process.exitCode ?? 0), out };
  } catch (err) {
    if (err instanceof Exit) return { code: err.code, out };
    throw err;
  } finally {
    for (const spy of spies) spy.mockRestore();
    process.exitCode = previousExitCode;
  }
}
