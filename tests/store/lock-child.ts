// A separate process taking PGlite data-directory locks, driven by tests/store/dir-lock.test.ts.
// `hold`: takes the lock of one directory, prints "locked", then blocks its event loop (as a long
// PGlite statement does) until it is killed. `race`: at `at + k * stepMs` tries the k-th directory,
// prints one JSON line of "won" / "refused", and keeps what it won until `holdMs` later.
import { lockDataDir } from '../../src/store/dir-lock.ts';

const job = JSON.parse(process.argv[2]) as
  | { mode: 'hold'; dir: string }
  | { mode: 'race'; dirs: string[]; at: number; stepMs: number; holdMs: number };

if (job.mode === 'hold') {
  lockDataDir(job.dir);
  process.stdout.write('locked\n', () => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
  });
} else {
  const results = job.dirs.map((dir, k) => {
    while (Date.now() < job.at + k * job.stepMs) {
      // spin to the common start, so the processes try each directory at the same moment
    }
    try {
      lockDataDir(dir);
      return 'won';
    } catch {
      return 'refused';
    }
  });
  process.stdout.write(`${JSON.stringify(results)}\n`);
  setTimeout(() => process.exit(0), job.holdMs);
}
