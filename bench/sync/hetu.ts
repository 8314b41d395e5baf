// Clients of the sync benchmarks: each Patient gets a HETU no other Patient of the run has (one person,
// one client here: tyk-id-3), a test individual number (900–999) on a day of its own.
import { makeHetu } from '../../src/domain/index.ts';

const DAY_MS = 86_400_000;
/** Where this process's sequence starts: the EHR client's process is given its own (EHR_HETU_FROM). */
let issued = Number(process.env.TYOKYKY_BENCH_HETU_FROM ?? 0);

/** The start of the EHR client process's sequence, far from the bench process's own (from 2050). */
export const EHR_HETU_FROM = 3_650_000;

/** The next HETU of this process: 100 per day from 1950-01-01 on (from 2050 in the EHR client). */
export function nextHetu(): string {
  const i = issued++;
  const day = new Date(Date.UTC(1950, 0, 1) + Math.floor(i / 100) * DAY_MS).toISOString().slice(0, 10);
  return makeHetu(day, 900 + (i % 100));
}
