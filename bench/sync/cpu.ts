// CPU time spent by each side of the sync bench, from /proc (Linux): this process (the sync), the
// remote facade's process, and the PostgreSQL backends of the local and the remote database. Unlike
// wall time it hardly moves with the machine's load, so the cost of a push and of direct POSTs can be
// compared even on a busy shared machine. Elsewhere (no /proc) it reports nothing.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import pg from 'pg';
import { PG_URL } from '../../tests/helpers/databases.ts';

/** ms per clock tick (USER_HZ is 100 on Linux). */
const TICK_MS = 10;

function ticksOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime + stime
  } catch {
    return undefined;
  }
}

export type CpuParts = { sync: number; localPg: number; facade: number; remotePg: number };
type Snapshot = {
  self: number;
  facade: number;
  backends: Map<number, { part: 'localPg' | 'remotePg'; ms: number }>;
};

export interface CpuMeter {
  /** CPU ms of each part while `fn` ran (backends that ended meanwhile are missed). */
  measure<T>(fn: () => Promise<T>): Promise<{ result: T; cpu: CpuParts | undefined }>;
}

/** A meter for the facade process `facadePid` and the databases named in these URLs. */
export function cpuMeter(facadePid: number, localDb: string, remoteDb: string): CpuMeter {
  const available = existsSync('/proc/self/stat');
  const name = (url: string) => url.slice(url.lastIndexOf('/') + 1);
  const parts = new Map([
    [name(localDb), 'localPg' as const],
    [name(remoteDb), 'remotePg' as const],
  ]);
  const snapshot = async (): Promise<Snapshot> => {
    const client = new pg.Client({ connectionString: `${PG_URL}/postgres` });
    await client.connect();
    try {
      const { rows } = await client.query<{ pid: number; datname: string }>(
        'SELECT pid, datname FROM pg_stat_activity WHERE datname = ANY($1::text[]) AND pid <> pg_backend_pid()',
        [[...parts.keys()]],
      );
      const backends = new Map<number, { part: 'localPg' | 'remotePg'; ms: number }>();
      for (const r of rows) {
        const ms = ticksOf(r.pid);
        if (ms !== undefined) backends.set(r.pid, { part: parts.get(r.datname)!, ms });
      }
      const own = process.cpuUsage();
      return { self: (own.user + own.system) / 1000, facade: ticksOf(facadePid) ?? 0, backends };
    } finally {
      await client.end();
    }
  };
  return {
    async measure(fn) {
      if (!available) return { result: await fn(), cpu: undefined };
      const before = await snapshot();
      const result = await fn();
      const after = await snapshot();
      const cpu: CpuParts = {
        sync: after.self - before.self,
        facade: after.facade - before.facade,
        localPg: 0,
        remotePg: 0,
      };
      for (const [pid, b] of after.backends) cpu[b.part] += b.ms - (before.backends.get(pid)?.ms ?? 0);
      return { result, cpu };
    },
  };
}

/** `sync 420, local PG 300, facade 500, remote PG 250 ms per 1,000 resources`. */
export function perThousand(cpu: CpuParts | undefined, n: number): string {
  if (!cpu) return 'n/a (no /proc)';
  const k = (ms: number) => ((ms * 1000) / n).toFixed(0);
  const total = cpu.sync + cpu.localPg + cpu.facade + cpu.remotePg;
  return `${k(total)} ms per 1,000 resources (sync ${k(cpu.sync)}, local PG ${k(cpu.localPg)}, facade ${k(cpu.facade)}, remote PG ${k(cpu.remotePg)})`;
}

/**
 * With TYOKYKY_SYNC_BENCH_PROFILE=<dir>: a V8 CPU profile of this process while `fn` runs, written to
 * <dir>/<name>.cpuprofile (open it in Chrome DevTools or speedscope); otherwise just `fn`.
 */
export async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env.TYOKYKY_SYNC_BENCH_PROFILE;
  if (!dir) return fn();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}
