/**
 * What a fuzz target is: it opens the real part (the project's validator, the SDK, a facade listening
 * on a port of this process with PGlite in memory), names its seeds, and judges one input: undefined
 * when the part behaved, else a one-line signature of what went wrong (the same fault gives the same
 * signature, so findings are counted once). The targets: targets.ts.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Rng } from './mutate.ts';

export interface Session {
  /** What mutate() starts from. */
  seeds: unknown[];
  /** Makes the input for one case from a mutated seed (most targets use it as it is). */
  input?(mutated: unknown, rng: Rng): unknown;
  /** undefined: the part behaved; else what went wrong, one line, without the input's values. */
  check(input: unknown): Promise<string | undefined>;
  close(): Promise<void>;
}

export interface Target {
  name: string;
  what: string;
  open(): Promise<Session>;
}

export const ROOT = new URL('../../', import.meta.url).pathname;

/** The profiles' examples (single resources) and the personas' transaction Bundles. */
export function fhirSeeds(): unknown[] {
  const dirs = [join(ROOT, 'profiles/package/example'), join(ROOT, 'examples/personas')];
  return dirs.flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8'))),
  );
}

/** An error's kind and first line, with the planted marker and digits folded so one fault counts once. */
