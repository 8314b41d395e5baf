// Where tyokyky keeps what it derives once and reuses (PGlite templates, unpacked FHIR packages, a
// split of the R4 definitions): never inside the installed package, which may be read-only or owned by
// another user (`npm ci` as root, the service as another user).
import { constants, accessSync, mkdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

function writable(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * TYOKYKY_CACHE_DIR, else the user's cache folder ($XDG_CACHE_HOME or ~/.cache, kept across reboots,
 * unlike the temp folder) when it can be written, else the temp folder. What is kept here is named
 * `tyokyky-…`, so the temp folder can hold it beside anything else.
 */
export function cacheRoot(): string {
  const configured = process.env.TYOKYKY_CACHE_DIR;
  if (configured) return configured;
  const user = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tyokyky-fhir');
  return writable(user) ? user : tmpdir();
}
