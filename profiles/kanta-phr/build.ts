/**
 * `npm run build:kanta` — builds the FHIR package `tyokyky.kanta.phr.r4` (profiles/kanta-phr/package/)
 * from HL7 Finland's FI Base 0.4.0 tarball, the last release that carried copies of Kanta PHR's R4
 * conformance resources in its `package/example/` folder. Offline and reproducible: the same tarball
 * gives the same bytes (sorted files, fixed formatting, no timestamps).
 *
 *   tsx profiles/kanta-phr/build.ts [--package PATH] [--out DIR]
 *
 * Conformance resources (the `fiphr-*` StructureDefinitions, CodeSystems, ValueSets and both
 * CapabilityStatements) go to the package's top level; Kanta's example resources and Bundles go to
 * `package/example/` (Bundles written compactly). FI Base's own examples are left out.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extract } from 'tar';
import { findPackage, packageSearchPath } from '../../src/validation/index.ts';
import { packageIndex } from '../fhir-cache.ts';

export const KANTA_DIR = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(KANTA_DIR, '..', '..');
export const KANTA_PACKAGE_DIR = join(KANTA_DIR, 'package');
/** The source: FI Base 0.4.0, kept in `../shared/fhir-packages/kanta-phr/` so it never shadows 2.0.0-rc2. */
export const SOURCE = { name: 'hl7.fhir.fi.base', version: '0.4.0' } as const;
export const KANTA_PACKAGE = { name: 'tyokyky.kanta.phr.r4', version: '0.4.0' } as const;

const CONFORMANCE = new Set(['StructureDefinition', 'CodeSystem', 'ValueSet', 'CapabilityStatement']);
/** Copies of `fiphr-vs-fitnesscategory` with the same url and version; only the original is kept. */
const DUPLICATES = new Set(['ValueSet/fiphr-vs-fitnesscategory-2', 'ValueSet/fiphr-vs-fitnesscategory-3']);

interface Res {
  resourceType: string;
  id: string;
  url?: string;
  meta?: { profile?: string[] };
  [k: string]: unknown;
}

/** Where the 0.4.0 tarball is: --package, then the usual search folders and their `kanta-phr/` sub-folder. */
export function locateSource(extra: string[] = []): string | undefined {
  const path = packageSearchPath(extra, REPO_ROOT).flatMap((d) => [d, join(d, 'kanta-phr')]);
  return findPackage(SOURCE.name, SOURCE.version, path);
}

function isKantaConformance(r: Res): boolean {
  if (!CONFORMANCE.has(r.resourceType) || DUPLICATES.has(`${r.resourceType}/${r.id}`)) return false;
  return (
    r.id.startsWith('fiphr-') ||
    r.id.startsWith('kanta-phr-') ||
    /^http:\/\/phr\.kanta\.fi\//.test(r.url ?? '')
  );
}

function isKantaExample(r: Res, file: string): boolean {
  if (r.resourceType === 'Bundle') return /diabetes-data-bundle/.test(file);
  return (r.meta?.profile ?? []).some((p) => p.startsWith('http://phr.kanta.fi/'));
}

function readExampleFolder(packageDir: string): { file: string; r: Res }[] {
  const dir = join(packageDir, 'example');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
    .sort()
    .map((file) => ({ file, r: JSON.parse(readFileSync(join(dir, file), 'utf8')) as Res }));
}

function writeResources(dir: string, items: { file: string; r: Res }[], compact: (r: Res) => boolean): void {
  mkdirSync(dir, { recursive: true });
  for (const { file, r } of items) {
    const text = compact(r) ? JSON.stringify(r) : JSON.stringify(r, null, 2);
    writeFileSync(join(dir, file), `${text}\n`);
  }
  writeFileSync(join(dir, '.index.json'), `${JSON.stringify(packageIndex(dir), null, 2)}\n`);
}

function manifest(): Record<string, unknown> {
  return {
    name: KANTA_PACKAGE.name,
    version: KANTA_PACKAGE.version,
    canonical: 'http://phr.kanta.fi',
    url: 'http://phr.kanta.fi',
    title: 'Kanta PHR (Omatietovaranto) R4 conformance resources',
    description:
      "Kanta PHR's R4 StructureDefinitions, CodeSystems, ValueSets and CapabilityStatements as carried by HL7 Finland's FI Base 0.4.0 (CC0-1.0), repackaged unchanged by tyokyky-fhir's profiles/kanta-phr/build.ts.",
    fhirVersions: ['4.0.1'],
    type: 'IG',
    license: 'CC0-1.0',
    author: 'HL7 Finland (content); tyokyky-fhir (packaging)',
    dependencies: { 'hl7.fhir.r4.core': '4.0.1' },
    directories: { lib: 'package', example: 'example' },
  };
}

export interface KantaBuildResult {
  out: string;
  conformance: number;
  examples: number;
}

/** Builds the package from `source` (a `.tgz` or an unpacked package folder) into `out`. */
export async function buildKantaPackage(
  opts: { source?: string; out?: string } = {},
): Promise<KantaBuildResult> {
  const source = opts.source ?? locateSource();
  if (!source) throw new Error(`${SOURCE.name}#${SOURCE.version} not found; pass --package PATH`);
  const out = resolve(opts.out ?? KANTA_PACKAGE_DIR);
  const scratch = mkdtempSync(join(tmpdir(), 'tyokyky-kanta-'));
  try {
    let packageDir = source;
    if (source.endsWith('.tgz')) {
      await extract({ file: source, cwd: scratch, strict: true });
      packageDir = join(scratch, 'package');
    }
    const all = readExampleFolder(packageDir);
    const conformance = all.filter(({ r }) => isKantaConformance(r));
    const examples = all.filter(({ r, file }) => !CONFORMANCE.has(r.resourceType) && isKantaExample(r, file));
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'package.json'), `${JSON.stringify(manifest(), null, 2)}\n`);
    writeResources(out, conformance, () => true);
    writeResources(join(out, 'example'), examples, () => true);
    return { out, conformance: conformance.length, examples: examples.length };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const USAGE = `usage: tsx profiles/kanta-phr/build.ts [--package PATH] [--out DIR]   (npm run build:kanta)

Builds ${KANTA_PACKAGE.name}#${KANTA_PACKAGE.version} from ${SOURCE.name}#${SOURCE.version}, offline.
  --package PATH  the ${SOURCE.name}#${SOURCE.version} package (a .tgz or an unpacked package folder);
                  default: searched where DEVELOPERS.md says FHIR packages are, and in
                  their kanta-phr/ subfolders
  --out DIR       the package folder to write (default profiles/kanta-phr/package)
  --help          this text`;

/** The command line as options; a wrong one is what is wrong and the usage on stderr, exit 2. */
function parseArgs(argv: string[]): { package?: string; out?: string } {
  const opts: { package?: string; out?: string } = {};
  const wrong = (message: string): never => {
    console.error(`${message}\n\n${USAGE}`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    if (a !== '--package' && a !== '--out') wrong(`unknown argument ${a}`);
    const v = argv[++i];
    if (!v) wrong(`${a} needs a value`);
    opts[a === '--package' ? 'package' : 'out'] = v;
  }
  return opts;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const opts = parseArgs(process.argv.slice(2));
  try {
    const r = await buildKantaPackage({
      source: opts.package ? locateSource([resolve(opts.package)]) : undefined,
      out: opts.out,
    });
    console.log(`built ${r.out}: ${r.conformance} conformance resources, ${r.examples} examples`);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
