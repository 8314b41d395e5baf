import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Resource } from '@medplum/fhirtypes';

export interface ChildJob {
  op: 'create' | 'update';
  resource: Resource;
  ifNoneExist?: string;
  ifMatch?: string;
  /** Concurrent operations inside each process. */
  times: number;
}

export interface ChildResult {
  status: number;
  id?: string;
  created?: boolean;
  message?: string;
}

const childScript = fileURLToPath(new URL('./child.ts', import.meta.url));
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Reads a child's stdout line by line. */
function lineReader(child: ChildProcessWithoutNullStreams): () => Promise<string> {
  let buffer = '';
  let stderr = '';
  const waiting: Array<{ resolve: (l: string) => void; reject: (e: Error) => void }> = [];
  const lines: string[] = [];
  let exited: Error | undefined;
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout.on('data', (d: Buffer) => {
    buffer += d.toString();
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      const w = waiting.shift();
      if (w) w.resolve(line);
      else lines.push(line);
    }
  });
  child.on('exit', (code) => {
    exited = new Error(`child exited (${code}) early: ${stderr || buffer}`);
    for (const w of waiting.splice(0)) w.reject(exited);
  });
  return () => {
    const line = lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (exited) return Promise.reject(exited);
    return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  };
}

/**
 * Starts `n` real processes on one database and runs `jobs` in them in lock-step: every job starts
 * in all processes at the same moment. Returns results[job][process][operation].
 */
export async function runChildren(
  n: number,
  databaseUrl: string,
  jobs: ChildJob[],
): Promise<ChildResult[][][]> {
  const children = Array.from({ length: n }, () =>
    spawn(process.execPath, ['--import', 'tsx', childScript, JSON.stringify({ databaseUrl, jobs })], {
      cwd: projectRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
  try {
    const readers = children.map(lineReader);
    const ready = await Promise.all(readers.map((next) => next()));
    if (ready.some((l) => l !== 'ready')) throw new Error(`unexpected child output: ${ready.join(' | ')}`);
    const results: ChildResult[][][] = [];
    for (let j = 0; j < jobs.length; j++) {
      for (const child of children) child.stdin.write('go\n');
      const lines = await Promise.all(readers.map((next) => next()));
      results.push(lines.map((l) => JSON.parse(l) as ChildResult[]));
    }
    return results;
  } finally {
    for (const child of children) if (child.exitCode === null) child.stdin.end();
  }
}
