/**
 * `npm run build:profiles` — compiles the FSH in profiles/input/fsh with SUSHI (--snapshot), fully
 * offline, and packs the result into profiles/package/ as a FHIR NPM package.
 *
 *   tsx profiles/build.ts [--package PATH]... [--out DIR] [--work DIR]
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { FI_BASE, findPackage, packageSearchPath } from '../src/validation/index.ts';
import { AUTOMATIC_DEPENDENCIES, STUB_VERSION, prepareCache } from './fhir-cache.ts';
import { KANTA_PACKAGE, KANTA_PACKAGE_DIR } from './kanta-phr/build.ts';
import { type PackageManifest, packFhirPackage } from './pack.ts';

export const PROFILES_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(PROFILES_DIR, '..');

export interface BuildOptions {
  /** Extra places to look for FI Base (`.tgz`, unpacked package or package cache folder). */
  packages?: string[];
  /** Package folder to write; default profiles/package. */
  out?: string;
  /** Scratch folder (SUSHI project copy, HOME with the package cache); default profiles/.build. */
  work?: string;
  /** HOME holding the generated package cache; default `<work>/home`. Safe to share between builds. */
  home?: string;
  /** Replaces the whole FI Base search path (tests); default: --package paths, then DEVELOPERS.md's order. */
  searchPath?: string[];
}

export interface BuildResult {
  out: string;
  conformance: number;
  examples: number;
  sushiLog: string;
  millis: number;
}

interface SushiConfig {
  id: string;
  canonical: string;
  name: string;
  title: string;
  description: string;
  version: string;
  fhirVersion: string;
  license: string;
  publisher: { name: string } | string;
  dependencies: Record<string, string | { version: string; uri?: string }>;
  [key: string]: unknown;
}

export function readSushiConfig(): SushiConfig {
  return parse(readFileSync(join(PROFILES_DIR, 'sushi-config.yaml'), 'utf8')) as SushiConfig;
}

export function locateFiBase(extra: string[] = []): string | undefined {
  return findPackage(FI_BASE.name, FI_BASE.version, packageSearchPath(extra, REPO_ROOT));
}

function manifestFrom(config: SushiConfig): PackageManifest {
  const dependencies: Record<string, string> = { 'hl7.fhir.r4.core': config.fhirVersion };
  for (const [name, dep] of Object.entries(config.dependencies ?? {})) {
    dependencies[name] = typeof dep === 'string' ? dep : dep.version;
  }
  return {
    name: config.id,
    version: config.version,
    canonical: config.canonical,
    url: config.canonical,
    title: config.title,
    description: config.description,
    fhirVersions: [config.fhirVersion],
    type: 'IG',
    license: config.license,
    author: typeof config.publisher === 'string' ? config.publisher : config.publisher.name,
    dependencies,
  };
}

function runSushi(project: string, out: string, home: string): { status: number; log: string } {
  const require = createRequire(import.meta.url);
  const app = join(dirname(require.resolve('fsh-sushi/package.json')), 'dist', 'app.js');
  const r = spawnSync(process.execPath, [app, 'build', project, '--snapshot', '-o', out], {
    env: { ...process.env, HOME: home, USERPROFILE: home, FPL_REGISTRY: 'http://127.0.0.1:9' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status ?? 1, log: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

export async function buildProfiles(opts: BuildOptions = {}): Promise<BuildResult> {
  const started = Date.now();
  const out = resolve(opts.out ?? join(PROFILES_DIR, 'package'));
  const work = resolve(opts.work ?? join(PROFILES_DIR, '.build'));
  const searchPath = opts.searchPath ?? packageSearchPath(opts.packages ?? [], REPO_ROOT);
  const fiBase = findPackage(FI_BASE.name, FI_BASE.version, searchPath);
  if (!fiBase) {
    throw new Error(
      `${FI_BASE.name}#${FI_BASE.version} not found; searched ${searchPath.join(', ')}. Pass --package PATH or set TYOKYKY_FHIR_PACKAGES.`,
    );
  }
  const home = resolve(opts.home ?? join(work, 'home'));
  await prepareCache(home, fiBase, [{ dir: KANTA_PACKAGE_DIR, ...KANTA_PACKAGE }]);

  // SUSHI works on a copy whose config pins the automatic dependencies to the local stand-ins.
  const project = join(work, 'project');
  const sushiOut = join(work, 'sushi-out');
  rmSync(project, { recursive: true, force: true });
  rmSync(sushiOut, { recursive: true, force: true });
  mkdirSync(project, { recursive: true });
  cpSync(join(PROFILES_DIR, 'input'), join(project, 'input'), { recursive: true });
  const config = readSushiConfig();
  const pinned = { ...config.dependencies };
  for (const name of AUTOMATIC_DEPENDENCIES) pinned[name] = STUB_VERSION;
  writeFileSync(join(project, 'sushi-config.yaml'), stringify({ ...config, dependencies: pinned }));

  const sushi = runSushi(project, sushiOut, home);
  const errors = sushi.log.match(/^error .*$/gim) ?? [];
  if (sushi.status !== 0 || errors.length > 0) {
    throw new Error(`SUSHI failed (exit ${sushi.status}):\n${sushi.log}`);
  }
  const packed = packFhirPackage({
    sushiOutput: join(sushiOut, 'fsh-generated', 'resources'),
    extraConformanceDirs: [join(REPO_ROOT, 'mappings', 'conceptmaps')],
    manifest: manifestFrom(config),
    out,
  });
  return { out, ...packed, sushiLog: sushi.log, millis: Date.now() - started };
}

const USAGE = `usage: tsx profiles/build.ts [--package PATH]... [--out DIR] [--work DIR]   (npm run build:profiles)

Compiles profiles/input/fsh with SUSHI, offline, into a FHIR package.
  --package PATH  where to look for ${FI_BASE.name}#${FI_BASE.version} (a .tgz, an unpacked package or a
                  package cache folder); repeatable, searched before DEVELOPERS.md's places
  --out DIR       the package folder to write (default profiles/package)
  --work DIR      scratch folder (default profiles/.build)
  --help          this text`;

/** A wrong command line: what is wrong and the usage on stderr, exit 2. */
function usageError(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function parseArgs(argv: string[]): BuildOptions {
  const opts: BuildOptions = { packages: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (!v) usageError(`${a} needs a value`);
      return v;
    };
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (a === '--package') opts.packages!.push(resolve(next()));
    else if (a === '--out') opts.out = next();
    else if (a === '--work') opts.work = next();
    else usageError(`unknown argument ${a}`);
  }
  return opts;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const opts = parseArgs(process.argv.slice(2));
  try {
    const r = await buildProfiles(opts);
    const warnings = (r.sushiLog.match(/^warn .*$/gim) ?? []).filter((w) => !w.includes('FSHOnly property'));
    for (const w of warnings) console.warn(w);
    console.log(
      `built ${r.out}: ${r.conformance} conformance resources, ${r.examples} examples in ${(r.millis / 1000).toFixed(1)} s`,
    );
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
