// Which process a pid names now. A pid is reused once its process is gone, so a lock records when its
// writer started: a live process with that pid that started at another moment is not the writer.
import { readFileSync, readlinkSync } from 'node:fs';

let scope: string | null | undefined;

/**
 * This machine's boot and pid namespace (Linux), within which a pid and a start time name one process:
 * a lock written in another container or before a reboot cannot be checked here. Undefined elsewhere.
 */
export function pidScope(): string | undefined {
  if (scope === undefined) {
    try {
      const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      scope = `${boot} ${readlinkSync('/proc/self/ns/pid')}`;
    } catch {
      scope = null;
    }
  }
  return scope ?? undefined;
}

/**
 * When process `pid` started, in clock ticks since boot (`/proc/<pid>/stat`, field 22); undefined when
 * it cannot be read (no such process, no /proc).
 */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2, the command name, may hold spaces and parentheses: count from after its last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
