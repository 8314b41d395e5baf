/** Reads the committed package, its examples and the negative cases for the profile tests. */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PACKAGE = join(ROOT, 'profiles', 'package');
export const CANONICAL = 'https://tyokyky-fhir.org/fhir';

export type Json = Record<string, any>;

export function readJson(path: string): Json {
  return JSON.parse(readFileSync(path, 'utf8')) as Json;
}

export function jsonFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.startsWith('.') && f !== 'package.json')
    .sort()
    .map((f) => join(dir, f));
}

function walkJson(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? walkJson(p) : f.endsWith('.json') ? [p] : [];
    });
}

export const conformance = (): Json[] => jsonFiles(PACKAGE).map(readJson);
export const profiles = (): Json[] =>
  conformance().filter((r) => r.resourceType === 'StructureDefinition' && r.type !== 'Extension');

export interface Example {
  name: string;
  resource: Json;
}

/** Package examples, JSON examples in examples/profiles/, and every entry of the persona Bundles. */
export function examples(): Example[] {
  const out: Example[] = [];
  for (const f of jsonFiles(join(PACKAGE, 'example')))
    out.push({ name: relative(ROOT, f), resource: readJson(f) });
  // Our Questionnaires sit in the package root (others resolve them by canonical) and are instances
  // of the self-assessment profile: examples of it too.
  for (const f of jsonFiles(PACKAGE).filter((x) => /\/Questionnaire-[^/]+\.json$/.test(x)))
    out.push({ name: relative(ROOT, f), resource: readJson(f) });
  for (const f of walkJson(join(ROOT, 'examples', 'profiles')))
    out.push({ name: relative(ROOT, f), resource: readJson(f) });
  for (const f of walkJson(join(ROOT, 'examples', 'personas'))) {
    const bundle = readJson(f);
    if (bundle.resourceType !== 'Bundle') continue;
    (bundle.entry ?? []).forEach((e: Json, i: number) => {
      if (e.resource) out.push({ name: `${relative(ROOT, f)}#entry[${i}]`, resource: e.resource });
    });
  }
  return out;
}

export interface NegativeCase {
  profile: string;
  name: string;
  description: string;
  expected: { severity: string; expression: string; key?: string; message?: string };
  /** Other errors the broken rule brings with it, each with the reason (examples/negative/generate.ts). */
  alsoReported?: NegativeCase['expected'][];
  resource: Json;
}

export function negativeCases(): NegativeCase[] {
  const root = join(ROOT, 'examples', 'negative');
  return readdirSync(root)
    .filter((d) => statSync(join(root, d)).isDirectory())
    .sort()
    .flatMap((profile) =>
      jsonFiles(join(root, profile)).map(
        (f) =>
          ({
            profile,
            name: f
              .split('/')
              .pop()!
              .replace(/\.json$/, ''),
            ...readJson(f),
          }) as NegativeCase,
      ),
    );
}
