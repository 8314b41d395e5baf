/**
 * Worker ids and what they tell about a worker's life. An id is `<host>:<pid>:<random>`, so a worker
 * can see that another on the same host has died (killed, crashed) and take its claimed rows back at
 * once, instead of waiting for their lease to run out. Workers on other hosts are left to the lease.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type Db, inflightWorkers, reclaimExpired, reclaimFrom } from './repository.ts';

/** A fresh id for a worker of this process. */
export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/** Whether a process with this pid exists here (EPERM: it does, under another user). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Of these worker ids, the ones that belonged to a process on this host that no longer exists. */
export function deadLocalWorkers(ids: string[]): string[] {
  const host = `${hostname()}:`;
  return ids.filter((id) => {
    if (!id.startsWith(host)) return false;
    const pid = Number(id.slice(host.length).split(':')[0]);
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processExists(pid);
  });
}

/**
 * Rows whose worker is gone become claimable again: those of a dead worker on this host at once, the
 * others when their lease runs out. Returns how many.
 */
export async function reclaimAbandoned(db: Db): Promise<number> {
  const dead = deadLocalWorkers(await inflightWorkers(db));
  return (await reclaimFrom(db, dead)) + (await reclaimExpired(db));
}

const lastReclaim = new WeakMap<object, number>();

/**
 * `reclaimAbandoned` at most once per `everyMs` for `owner` (a worker's context): a push round need
 * not look for dead workers each time; the first round of a worker always does.
 */
export async function reclaimAbandonedEvery(db: Db, owner: object, everyMs: number): Promise<number> {
  const now = performance.now();
  const last = lastReclaim.get(owner);
  if (last !== undefined && now - last < everyMs) return 0;
  lastReclaim.set(owner, now);
  return reclaimAbandoned(db);
}
