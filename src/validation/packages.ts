import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { withoutByteOrderMark } from '../shared/byte-order-mark.ts';
import { cacheRoot } from '../shared/cache-dir.ts';
import { parseJsonQuietly } from '../shared/json-error.ts';
import { PROJECT_ROOT } from '../shared/project-files.ts';
import { FHIR_NS } from './xml-tree.ts';
import { fhirXmlToJson } from './xml.ts';

/** An unpacked FHIR NPM package: the folder that holds `package.json` and the conformance JSON files. */
export interface FhirPackage {
  name: string;
  version: string;
  canonical?: string;
  /** Folder containing package.json (the `package/` folder of the tarball). */
  dir: string;
}

/** FI Base, looked up in the package search path unless a package of that name is given. */
export const FI_BASE = {
  name: 'hl7.fhir.fi.base',
  version: '2.0.0-rc2',
  canonical: 'https://hl7.fi/fhir/finnish-base-profiles/',
} as const;

export { PROJECT_ROOT };

/**
 * Opens a package given as a `.tgz`, a folder holding `package/package.json`, or the `package/` folder
 * itself. Tarballs are unpacked once into the cache (`cacheRoot`), keyed by path, file size and mtime.
 */
export function openPackage(path: string): FhirPackage {
  return loading(path, () => readPackage(path));
}

/**
 * Runs `open` for the package or resources given as `path`; what it throws says which: `cannot load
 * package <path as given>: …` (the one place that names the package in a load error).
 */
export function loading<T>(path: string, open: () => T): T {
  try {
    return open();
  } catch (e) {
    throw new Error(`cannot load package ${path}: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
}

function readPackage(path: string): FhirPackage {
  const abs = resolve(path);
  const st = statSync(abs);
  let dir: string;
  if (st.isFile()) dir = unpackTarball(abs, st.size, st.mtimeMs);
  else if (existsSync(join(abs, 'package', 'package.json'))) dir = join(abs, 'package');
  else if (existsSync(join(abs, 'package.json'))) dir = abs;
  else throw new Error(`Not a FHIR package (no package.json): ${abs}`);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    name?: string;
    version?: string;
    canonical?: string;
  };
  if (!manifest.name) throw new Error(`FHIR package without a name: ${dir}/package.json`);
  return { name: manifest.name, version: manifest.version ?? '', canonical: manifest.canonical, dir };
}

function unpackTarball(file: string, size: number, mtime: number): string {
  const key = createHash('sha1').update(`${file}|${size}|${mtime}`).digest('hex').slice(0, 16);
  const target = join(cacheRoot(), 'tyokyky-fhir-packages', key);
  const dir = join(target, 'package');
  if (existsSync(join(dir, 'package.json'))) return dir;
  // Unpack beside the target and rename, so concurrent processes never see a half-written folder.
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  // Loaded only when a tarball is not yet in the cache, to keep start-up light.
  const tar = createRequire(import.meta.url)('tar') as typeof import('tar');
  try {
    tar.x({ file, cwd: tmp, sync: true, strict: true });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  if (!existsSync(join(tmp, 'package', 'package.json'))) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`Tarball has no package/package.json: ${file}`);
  }
  try {
    renameSync(tmp, target);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process won the race
  }
  return dir;
}

/**
 * Folders (or package files) searched for a FHIR package, in the order DEVELOPERS.md fixes: the
 * explicit `--package` / `packages` paths, `TYOKYKY_FHIR_PACKAGES` (`:`-separated),
 * `../shared/fhir-packages` beside the project, `~/.fhir/packages` (`env.HOME`'s, else the user's home).
 * The folder beside the project is
 * the project's own checkout layout: it is searched only from a checkout (a root holding `src/`), never
 * from an installed package, where it would be `<app>/node_modules/shared/fhir-packages`.
 */
export function packageSearchPath(
  explicit: string[] = [],
  root: string = PROJECT_ROOT,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  return [
    ...explicit,
    ...(env.TYOKYKY_FHIR_PACKAGES ?? '').split(':').filter(Boolean),
    ...(existsSync(join(root, 'src')) ? [resolve(root, '..', 'shared', 'fhir-packages')] : []),
    join(env.HOME || homedir(), '.fhir', 'packages'),
  ];
}

/** True for FI Base, whatever its version (a package given or loaded). */
export function isFiBase(pkg: { name: string }): boolean {
  return pkg.name === FI_BASE.name;
}

/** FI Base in `searchPath`: `FI_BASE.version`, else the highest version found; `undefined` when none is. */
export function findFiBase(searchPath: string[] = packageSearchPath()): string | undefined {
  return (
    findPackage(FI_BASE.name, FI_BASE.version, searchPath) ?? findPackage(FI_BASE.name, undefined, searchPath)
  );
}

/**
 * The one message for FI Base not found (createValidator's `fiBase: 'required'`, `tyokyky validate`,
 * `tyokyky serve`): the package and version, the folders searched and how to supply it. One line.
 */
export function fiBaseNotFound(searchPath: string[] = packageSearchPath()): string {
  const { name, version } = FI_BASE;
  return `FI Base (${name} ${version}) not found: its own rules are not checked (searched ${searchPath.join(', ')}); it is not shipped with tyokyky-fhir: put ${name}-${version}.tgz (or the unpacked ${name}#${version}/ folder) in ~/.fhir/packages or in a folder named in TYOKYKY_FHIR_PACKAGES (':'-separated), or give it as a package (tyokyky validate --package, the validator's packages option); see docs/validation.md, "FI Base"`;
}

function manifestOf(dir: string): { name?: string; version?: string } | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** The version an entry named `<name>#<version>`, `<name>-<version>` (optionally `.tgz`) holds. */
function entryVersion(entry: string, name: string): string | undefined {
  const base = entry.replace(/\.tgz$/, '');
  if (!base.startsWith(`${name}#`) && !base.startsWith(`${name}-`)) return undefined;
  const v = base.slice(name.length + 1);
  return /^\d/.test(v) ? v : undefined;
}

/**
 * The one package finder (validator, CLI and profile build). Finds `name` (at `version`, or the
 * highest version found when none is given) in each location of `searchPath` in turn: a `.tgz` given
 * directly, a folder that is the package or holds `package/`, or a folder of packages named
 * `<name>-<version>.tgz`, `<name>#<version>/` (the ~/.fhir/packages layout) or `<name>-<version>/`.
 * Returns a `.tgz` or the folder holding `package.json`.
 */
export function findPackage(
  name: string,
  version?: string,
  searchPath: string[] = packageSearchPath(),
): string | undefined {
  const wanted = (m: { name?: string; version?: string } | undefined) =>
    m?.name === name && (version === undefined || m.version === version);
  for (const location of searchPath) {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(location);
    } catch {
      continue;
    }
    if (st.isFile()) {
      const v = entryVersion(basename(location), name);
      if (location.endsWith('.tgz') && v !== undefined && (version === undefined || v === version))
        return location;
      continue;
    }
    for (const dir of [join(location, 'package'), location]) if (wanted(manifestOf(dir))) return dir;
    const entries = readdirSync(location)
      .filter((e) => {
        const v = entryVersion(e, name);
        return v !== undefined && (version === undefined || v === version);
      })
      .sort()
      .reverse();
    for (const e of entries) {
      const path = join(location, e);
      if (e.endsWith('.tgz')) return path;
      for (const dir of [join(path, 'package'), path]) if (wanted(manifestOf(dir))) return dir;
    }
  }
  return undefined;
}

/** Every conformance resource file of a package (top-level `*.json`, excluding examples and manifests). */
export function packageResourceFiles(pkg: FhirPackage): string[] {
  return readdirSync(pkg.dir)
    .filter((f) => f.endsWith('.json') && f !== 'package.json' && !f.startsWith('.'))
    .map((f) => join(pkg.dir, f));
}

/** Conformance resources given loosely (a JSON file, a Bundle, or a folder of JSON files without package.json). */
export interface LooseResources {
  name: string;
  resources: Array<Record<string, unknown>>;
}

/** True when `path` is a package (tarball, or a folder with `package.json` or `package/package.json`). */
export function isPackagePath(path: string): boolean {
  const abs = resolve(path);
  const st = loading(path, () => statSync(abs));
  if (st.isFile()) return !/\.(json|xml)$/i.test(abs);
  return existsSync(join(abs, 'package', 'package.json')) || existsSync(join(abs, 'package.json'));
}

/**
 * Reads conformance resources from a `.json` or `.xml` file (one resource, a Bundle of them, or a JSON
 * array) or from every `*.json` and `*.xml` file under a folder (recursively), as fhir-test-cases
 * supplies supporting profiles and value sets. Resources without `url` are kept out (nothing can refer
 * to them), and so are files that parse but hold none (notes, examples, an npm manifest). A file that
 * does not parse throws — inside a folder naming the file under `path` as given — since skipping it
 * would validate as if the profiles it holds did not exist.
 */
export function openLooseResources(path: string): LooseResources {
  return loading(path, () => {
    const abs = resolve(path);
    const resources: LooseResources['resources'] = [];
    if (statSync(abs).isFile()) {
      collectResources(readResourceFile(abs), resources);
      return { name: `file:${abs}`, resources };
    }
    const files = listJsonFiles(abs);
    if (!files.length)
      throw new Error(`Not a FHIR package (no package.json and no *.json or *.xml files): ${abs}`);
    for (const file of files) {
      try {
        collectResources(readResourceFile(file), resources);
      } catch (e) {
        throw new Error(`${join(path, relative(abs, file))}: ${(e as Error).message}`, { cause: e });
      }
    }
    return { name: `file:${abs}`, resources };
  });
}

function listJsonFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listJsonFiles(p));
    else if (/\.(json|xml)$/i.test(e.name)) out.push(p);
  }
  return out.sort();
}

/**
 * A file's JSON or FHIR XML; a byte order mark before it is no part of it (as `tyokyky validate` reads
 * files). Parse errors never quote the text (a folder may hold examples with client data). XML that
 * does not mention the FHIR namespace is no FHIR resource: `undefined`, skipped like JSON that holds none.
 */
function readResourceFile(file: string): unknown {
  const text = withoutByteOrderMark(readFileSync(file, 'utf8'));
  if (!/\.xml$/i.test(file)) return parseJsonQuietly(text);
  return text.includes(FHIR_NS) ? fhirXmlToJson(text) : undefined;
}

function collectResources(json: unknown, out: LooseResources['resources']): void {
  if (Array.isArray(json)) {
    for (const j of json) collectResources(j, out);
    return;
  }
  if (!json || typeof json !== 'object') return;
  const r = json as Record<string, unknown>;
  if (r.resourceType === 'Bundle' && Array.isArray(r.entry)) {
    for (const e of r.entry as Array<Record<string, unknown> | null>)
      if (e?.resource) collectResources(e.resource, out);
    return;
  }
  if (typeof r.resourceType === 'string' && typeof r.url === 'string') out.push(r);
}
