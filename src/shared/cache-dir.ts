// Where tyokyky keeps what it derives once and reuses (PGlite templates, unpacked FHIR packages, a
// split of the R4 definitions): never inside the installed package, which may be read-only or owned by
// another user (`npm ci` as root, the service as another user).
import { constants, accessSync, lstatSync, mkdirSync } from 'node:fs';
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
 * The temp folder's cache: a folder of this user's own, which no one else may write. The temp folder is
 * shared, and what is cached is trusted when found (an unpacked FHIR package, the split R4 definitions,
 * a database template): another local user who made the folder first could put their own there, or
 * block it. One that is not this user's, or not private, or a link, is refused, naming the setting.
 */
function ownTempFolder(): string {
  const uid = process.getuid?.();
  const dir = join(tmpdir(), `tyokyky-fhir-${uid ?? 'user'}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(dir);
  const own = uid === undefined || st.uid === uid;
  if (!st.isDirectory() || !own || (uid !== undefined && (st.mode & 0o077) !== 0))
    throw new Error(
      `the cache folder ${dir} is not this user's private folder (a link, another user's, or open to others); set TYOKYKY_CACHE_DIR to one of yours`,
    );
  return dir;
}

/**
 * TYOKYKY_CACHE_DIR, else the user's cache folder ($XDG_CACHE_HOME or ~/.cache, kept across reboots,
 * unlike the temp folder) when it can be written, else a private folder of this user's in the temp
 * folder. What is kept here is named `tyokyky-…`.
 */
export function cacheRoot(): string {
  const configured = process.env.TYOKYKY_CACHE_DIR;
  if (configured) return configured;
  const user = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tyokyky-fhir');
  return writable(user) ? user : ownTempFolder();
}
