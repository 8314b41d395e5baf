import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The one place that knows where the project's run-time files are (`profiles/package/`, `mappings/`,
 * `package.json`). This module sits two folders below the root — `src/shared/` in a checkout, `dist/shared/`
 * in the installed package — so the root is found the same way in both, never from the working directory.
 */
export const PROJECT_ROOT: string = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** Absolute path of a file or folder in the project (or in the installed package). */
export function projectPath(relative: string): string {
  return join(PROJECT_ROOT, relative);
}

/** Reads a JSON file shipped with the project; a missing file names what is missing and where it looked. */
export function readProjectJson<T>(relative: string): T {
  const path = projectPath(relative);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    throw new Error(
      `tyokyky-fhir: '${relative}' is missing (looked in ${PROJECT_ROOT}); it ships in the tyokyky-fhir package — reinstall it, or run 'npm ci' in a checkout`,
    );
  }
  return JSON.parse(text) as T;
}

/** Our own compiled FHIR package (tyokyky.fhir.workability), shipped in `profiles/package/`. */
export const OWN_PACKAGE = { name: 'tyokyky.fhir.workability', relative: 'profiles/package' } as const;

/**
 * The folder of our own FHIR package, or an error that names the package, the folder searched and how to
 * provide it.
 */
export function ownPackageDir(): string {
  const dir = projectPath(OWN_PACKAGE.relative);
  if (existsSync(join(dir, 'package.json'))) return dir;
  throw new Error(
    `FHIR package ${OWN_PACKAGE.name} not found: searched ${dir}. It ships in the tyokyky-fhir npm package (reinstall it) and is built in a checkout with 'npm run build:profiles'.`,
  );
}
