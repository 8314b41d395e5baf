/** True when `compiled` exists and is at least as new as every `.ts` file under `sources` (or there is no `sources`). */
export function isFreshBuild(compiled: string, sources: string): boolean;
