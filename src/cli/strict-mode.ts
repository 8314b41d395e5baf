// Strict mode (strict-profile: a resource of our families must declare one of our profiles), as
// `tyokyky serve` judges writes and as `tyokyky sync` judges what the pull and a remote-wins conflict
// store: --no-strict on the command line wins over TYOKYKY_STRICT; strict by default.
import type { Command } from 'commander';

export const NO_STRICT_HELP =
  'accept resources of our families without one of our profiles (env TYOKYKY_STRICT=0)';

/** An environment flag: unset or empty is undefined; 0, false, no, off are false; anything else true. */
function envFlag(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  return !/^(0|false|no|off)$/i.test(value);
}

/** Whether `cmd` (which declares --no-strict) runs strict. */
export function strictFrom(cmd: Command): boolean {
  return cmd.getOptionValueSource('strict') === 'cli'
    ? cmd.opts().strict === true
    : (envFlag(process.env.TYOKYKY_STRICT) ?? true);
}
