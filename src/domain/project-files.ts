import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of a file in the project (this module sits two folders below the root, in src/ or dist/). */
export function projectPath(relative: string): string {
  return fileURLToPath(new URL(`../../${relative}`, import.meta.url));
}

export function readProjectJson<T>(relative: string): T {
  return JSON.parse(readFileSync(projectPath(relative), 'utf8')) as T;
}
