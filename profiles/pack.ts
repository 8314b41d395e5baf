/** Packs SUSHI output (+ ConceptMaps) into a standard FHIR NPM package folder, deterministically. */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFORMANCE_TYPES } from '../src/validation/core-definitions.ts';
import { packageIndex } from './fhir-cache.ts';

export interface PackageManifest {
  name: string;
  version: string;
  canonical: string;
  url: string;
  title: string;
  description: string;
  fhirVersions: string[];
  type: string;
  license: string;
  author: string;
  dependencies: Record<string, string>;
  [key: string]: unknown;
}

interface Resource {
  resourceType: string;
  id: string;
  [key: string]: unknown;
}

function readResources(dir: string): Resource[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Resource);
}

function write(dir: string, resources: Resource[]): void {
  mkdirSync(dir, { recursive: true });
  const seen = new Set<string>();
  for (const r of resources) {
    const file = `${r.resourceType}-${r.id}.json`;
    if (seen.has(file)) throw new Error(`two resources would be written to ${file}`);
    seen.add(file);
    writeFileSync(join(dir, file), `${JSON.stringify(r, null, 2)}\n`);
  }
  writeFileSync(join(dir, '.index.json'), `${JSON.stringify(packageIndex(dir), null, 2)}\n`);
}

/** `r` with `version` (placed after `url`) when it has none. */
function withVersion(r: Resource, version: string): Resource {
  if (r.version !== undefined) return r;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    out[k] = v;
    if (k === 'url') out.version = version;
  }
  return out as Resource;
}

/**
 * Conformance resources go to `package/`, instances (examples) to `package/example/`.
 * `extraConformance` are resources authored outside FSH (the ConceptMaps in `mappings/conceptmaps/`).
 */
export function packFhirPackage(opts: {
  sushiOutput: string;
  extraConformanceDirs: string[];
  manifest: PackageManifest;
  out: string;
}): { conformance: number; examples: number } {
  const generated = readResources(opts.sushiOutput);
  const extra = opts.extraConformanceDirs.flatMap(readResources);
  for (const r of extra) {
    if (!CONFORMANCE_TYPES.has(r.resourceType))
      throw new Error(`${r.resourceType}/${r.id} is not a conformance resource`);
  }
  // A canonical resource without a url (e.g. a minimal example Questionnaire) cannot be resolved: an example.
  const isConformance = (r: (typeof generated)[number]) =>
    CONFORMANCE_TYPES.has(r.resourceType) && typeof (r as { url?: unknown }).url === 'string';
  // SUSHI gives profiles and terminology sushi-config.yaml's version but leaves definition instances (the
  // SearchParameter, the Questionnaire) without one: they take the package's too, its one home.
  const conformance = [
    ...generated.filter(isConformance).map((r) => withVersion(r, opts.manifest.version)),
    ...extra,
  ];
  const examples = generated.filter((r) => !isConformance(r));
  rmSync(opts.out, { recursive: true, force: true });
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, 'package.json'), `${JSON.stringify(opts.manifest, null, 2)}\n`);
  write(opts.out, conformance);
  write(join(opts.out, 'example'), examples);
  return { conformance: conformance.length, examples: examples.length };
}
