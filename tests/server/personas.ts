import { readFileSync } from 'node:fs';
import type { Bundle, Resource } from '@medplum/fhirtypes';

const EXAMPLES = new URL('../../profiles/package/example/', import.meta.url);

export function example<T extends Resource = Resource>(file: string): T {
  return JSON.parse(readFileSync(new URL(file, EXAMPLES), 'utf8')) as T;
}

/** A persona transaction Bundle written by the SDK (examples/personas/<name>.json). */
export function persona(name: string): Bundle {
  return JSON.parse(
    readFileSync(new URL(`../../examples/personas/${name}.json`, import.meta.url), 'utf8'),
  ) as Bundle;
}
