import { getSystemErrorMap } from 'node:util';

/**
 * What a failed file read or write says after the file's name, as the system words it ("no such file
 * or directory", "permission denied", "illegal operation on a directory"): the one wording the commands
 * (`validate`, `load`, `map`, `clients`) and the sync's `--client-key` use, never an errno code alone. An error without a system errno says its message.
 */
export function fsErrorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const text = typeof e?.errno === 'number' ? getSystemErrorMap().get(e.errno)?.[1] : undefined;
  return text ?? e?.code ?? (err instanceof Error ? err.message : String(err));
}
