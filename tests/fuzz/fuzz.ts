/**
 * The fuzz loop: a target's seeds, mutated case by case under one seed number, each judged by the
 * target. Used by run.ts (`npm run fuzz`) and by fuzz.test.ts.
 */
import { mutate, random } from './mutate.ts';
import type { Target } from './target.ts';

export interface Finding {
  target: string;
  signature: string;
  /** The case number under the run's seed: `--seed S` replays it. */
  case: number;
  input: unknown;
}

export interface FuzzRun {
  target: string;
  cases: number;
  findings: Finding[];
}

export interface FuzzOptions {
  seed: number;
  /** Stop after this many cases, or (`seconds`) this long, whichever comes first. */
  cases?: number;
  seconds?: number;
  onFinding?: (f: Finding) => void;
  onProgress?: (done: number) => void;
}

/** Runs one target; each kind of fault (signature) is kept once, with the first input that showed it. */
export async function fuzz(target: Target, opts: FuzzOptions): Promise<FuzzRun> {
  const session = await target.open();
  const rng = random(opts.seed);
  const until = opts.seconds === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.seconds * 1000;
  const limit = opts.cases ?? Number.POSITIVE_INFINITY;
  const seen = new Map<string, Finding>();
  let done = 0;
  try {
    while (done < limit && Date.now() < until) {
      const seed = session.seeds[done % session.seeds.length];
      const mutated = mutate(seed, rng);
      const input = session.input ? session.input(mutated, rng) : mutated;
      // A check that throws is a fault too (of the part, or of the target's own judging).
      const signature = await session
        .check(input)
        .catch((err: Error) => `check threw ${err.name}: ${err.message.split('\n')[0]}`);
      if (signature && !seen.has(signature)) {
        const finding = { target: target.name, signature, case: done, input };
        seen.set(signature, finding);
        opts.onFinding?.(finding);
      }
      done++;
      if (done % 500 === 0) opts.onProgress?.(done);
    }
  } finally {
    await session.close();
  }
  return { target: target.name, cases: done, findings: [...seen.values()] };
}
