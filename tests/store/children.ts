import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Resource } from '@medplum/fhirtypes';

export interface ChildJob {
  op: 'create' | 'update';
  databaseUrl: string;
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

/** Starts `n` real processes, releases them together once all are ready, returns their results. */
export async function runChildren(n: number, job: ChildJob): Promise<ChildResult[][]> {
  const children = Array.from({ length: n }, () =>
    spawn(process.execPath, ['--import', 'tsx', childScript, JSON.stringify(job)], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
  const outputs = children.map((child) => {
    let out = '';
    let err = '';
    let markReady: () => void;
    const ready = new Promise<void>((resolve) => {
      markReady = resolve;
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) markReady();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const done = new Promise<ChildResult[]>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code) => {
        const last = out.trim().split('\n').pop() ?? '';
        if (code !== 0 || !last.startsWith('[')) reject(new Error(`child exited ${code}: ${err || out}`));
        else resolve(JSON.parse(last) as ChildResult[]);
      });
    });
    return { child, ready, done };
  });
  await Promise.race([
    Promise.all(outputs.map((o) => o.ready)),
    Promise.all(outputs.map((o) => o.done)).then(() => {
      throw new Error('children exited before becoming ready');
    }),
  ]);
  for (const { child } of outputs) child.stdin.write('go\n');
  return Promise.all(outputs.map((o) => o.done));
}
