import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { outcome } from '../shared/outcome.ts';
import type { TerminologyPort, WalkPolicy } from './checks/context.ts';
import { checkNesting } from './checks/nesting.ts';
import { type InvariantCompiler, StructureCompiler } from './compiled.ts';
import {
  type FhirPackage,
  PROJECT_ROOT,
  fiBaseNotFound,
  findFiBase,
  isFiBase,
  isPackagePath,
  loading,
  openLooseResources,
  openPackage,
  packageSearchPath,
} from './packages.ts';
import { Registry } from './registry.ts';
import type { ConformanceRegistry } from './types.ts';
import { isObject } from './util.ts';
import { dropCoveredCodingIssues } from './walk/report.ts';
import { Walk } from './walk/walker.ts';
import { readFhirXml } from './xml-validate.ts';

export { Registry } from './registry.ts';
export { type CoreChild, coreChildType, coreChildren } from './core-elements.ts';
export type { ConformanceRegistry } from './types.ts';
export { InvariantEvaluationError } from './types.ts';

export { FI_BASE, findPackage, packageSearchPath } from './packages.ts';
export { divAttribute as narrativeLanguageAttribute, narrativeLanguages } from './checks/narrative.ts';
export {
  type ProfileRegistry,
  type StrictProfileRule,
  ourProfiles,
  projectCanonical,
  strictProfileRule,
} from './strict-profile.ts';

export interface ValidatorOptions {
  /**
   * FHIR packages to load after the R4 core: `.tgz` files or folders (unpacked packages); also loose
   * conformance resources: a `.json` file (resource, Bundle or array) or a folder of `*.json` files
   * without `package.json` (loaded after the packages).
   */
  packages?: string[];
  /**
   * FI Base (`hl7.fhir.fi.base`, not shipped with tyokyky-fhir), unless `packages` holds it: `true`
   * (default) loads it from the package search folders (`packageSearchPath()`: `TYOKYKY_FHIR_PACKAGES`,
   * `~/.fhir/packages`; `../shared/fhir-packages` only from a checkout) when it is there and goes on
   * without it otherwise, when FI Base's own rules are not checked (`packages` and `fiBaseMissing`
   * say so); `'required'` throws then, naming the package, its version, the folders searched and how
   * to supply it; `false` never looks.
   */
  fiBase?: boolean | 'required';
  /** Check required/extensible bindings (default true). */
  terminology?: boolean;
  /** Evaluate snapshot invariants (default true). */
  invariants?: boolean;
  /** Extra conformance resources (StructureDefinitions, ValueSets, CodeSystems), added after the packages. */
  resources?: Resource[];
  /**
   * Severity of an extension whose url resolves to no definition. The default `'auto'` is the HL7
   * validator's verdict (without `-allow-any-extensions`): an error, except in example domains while
   * `allowExamples` holds (example.org, acme.com: a warning; not example.com), on nema.org, and under the
   * canonical base of a known package
   * that is not loaded (HL7's `http://hl7.org/fhir/` IGs, `http://terminology.hl7.org/`, FI Base,
   * Kanta PHR, our IG: a warning, as the package is missing rather than the extension). `'error'`
   * makes those errors too; `'warning'` makes every unknown extension a warning. An unknown
   * modifierExtension is always an error.
   */
  unknownExtensions?: 'auto' | 'error' | 'warning';
  /**
   * Accept example URLs (example.org, acme.com), as the HL7 validator does in
   * "allow examples" (spec) mode and its test suite by default: `true` (default). `false` (the HL7
   * validator's command-line default) makes a url/uri/canonical value in those domains an error
   * ("Example URLs are not allowed in this context") and an unknown extension there an error too.
   */
  allowExamples?: boolean;
  /**
   * Severity of a Coding display that matches neither the display nor a designation of the code in a
   * CodeSystem we hold: `'warning'` (default) or `'error'` (the HL7 validator's verdict without
   * `-display-issues-are-warnings`).
   */
  wrongDisplay?: 'error' | 'warning';
}

export interface ValidateOptions {
  /** Profiles to validate against, in addition to the resource's own `meta.profile`. */
  profile?: string | string[];
  /**
   * Severity when a reference that resolves neither to a contained resource nor inside the Bundle
   * implies a type the element does not allow (`Patient/1` where only Practitioner may go):
   * `'warning'` (default: the HL7 validator does not judge such "remote" references unless told to
   * check references) or `'error'` (what the facade's write path uses).
   */
  referenceTypes?: 'warning' | 'error';
  /**
   * Severity of an empty JSON array. Unset (default): the HL7 validator's JSON reader's verdict, an
   * error for an element of a complex type (`"name": []`), and a warning for a primitive's
   * (`"given": []`, which that reader does not check). `'error'` makes both errors (the facade's write
   * path: a store should not keep or echo one); `'warning'` makes both warnings.
   */
  emptyArrays?: 'warning' | 'error';
  /**
   * `false`: diagnostics about a primitive value never quote it ("The value '…' is not a valid date"
   * instead of "The value '1981-02-30' is not a valid date"), nor do those about a Coding,
   * CodeableConcept, Quantity or Identifier quote its codes, displays, text or value; for a service
   * whose answers may be logged or shown where client data must not appear (the facade's write
   * path). Default `true`, as the HL7 validator words them.
   */
  valuesInMessages?: boolean;
}

export interface ValidateXmlOptions extends ValidateOptions {
  /** Names the document in a fatal "Cannot parse …" issue (default "the XML document"). */
  source?: string;
}

export interface Validator {
  validate(resource: unknown, opts?: ValidateOptions): OperationOutcome;
  /**
   * Validates a FHIR XML document: bytes (their encoding is checked against the XML declaration) or
   * text already decoded. Besides `validate`'s issues on the converted resource, errors for what FHIR
   * XML forbids and the JSON cannot show: a DOCTYPE, characters XML does not allow, a wrong encoding
   * declaration, elements out of definition order or in another namespace, and what the conversion
   * dropped (unknown elements and attributes, text, a single element given twice). A document that
   * cannot be read gives one fatal issue.
   */
  validateXml(xml: string | Uint8Array, opts?: ValidateXmlOptions): OperationOutcome;
  /** Validates each resource; the outcomes are in input order. */
  validateMany(resources: Iterable<unknown>, opts?: ValidateOptions): OperationOutcome[];
  readonly registry: ConformanceRegistry;
  /** The packages loaded, core first (name and version). */
  readonly packages: ReadonlyArray<{ name: string; version: string }>;
}

/** Creates a validator over the R4 core definitions plus the given packages (and FI Base when found). */
export async function createValidator(opts: ValidatorOptions = {}): Promise<Validator> {
  // Start loading the plug-in modules first: the module loader works while the registry is read.
  const terminologyModule = opts.terminology !== false ? import('./terminology/index.ts') : undefined;
  const invariantsModule = opts.invariants !== false ? import('./invariants/index.ts') : undefined;
  const registry = new Registry();
  registry.loadCore();
  const paths = [...(opts.packages ?? [])];
  const loose = paths.filter((p) => !isPackagePath(p)).map((p) => openLooseResources(p));
  const pkgs = paths.filter((p) => isPackagePath(p)).map((p) => openPackage(p));
  if (opts.fiBase !== false) {
    const fi = lookUpFiBase(pkgs);
    if (fi.path) pkgs.unshift(openPackage(fi.path));
    else if (fi.missing && opts.fiBase === 'required') throw new Error(fi.missing);
  }
  for (const p of pkgs) loading(p.dir, () => registry.loadPackage(p));
  for (const l of loose) {
    for (const r of l.resources) registry.add(r as unknown as Resource);
    registry.sources.push({ name: l.name, version: '' });
  }
  for (const r of opts.resources ?? []) registry.add(r);

  const terminology: TerminologyPort | undefined =
    terminologyModule &&
    (await terminologyModule).createTerminology(registry, { wrongDisplay: opts.wrongDisplay });
  const compileInvariant: InvariantCompiler | undefined =
    invariantsModule && (await invariantsModule).compileInvariant;
  return new CompiledValidator(registry, new StructureCompiler(registry, compileInvariant), terminology, {
    unknownExtensions: opts.unknownExtensions ?? 'auto',
    allowExamples: opts.allowExamples ?? true,
    unresolvedReferenceTypes: 'warning',
    valuesInMessages: true,
  });
}

class CompiledValidator implements Validator {
  constructor(
    readonly registry: Registry,
    private readonly compiler: StructureCompiler,
    private readonly terminology: TerminologyPort | undefined,
    private readonly policy: WalkPolicy,
  ) {}

  get packages() {
    return this.registry.sources;
  }

  validate(resource: unknown, opts: ValidateOptions = {}): OperationOutcome {
    return outcome(this.issues(resource, opts));
  }

  validateXml(xml: string | Uint8Array, opts: ValidateXmlOptions = {}): OperationOutcome {
    const look = {
      definitions: (type: string) => this.registry.structureDefinition(type),
      primitives: (type: string) => this.compiler.primitive(type),
    };
    const read = readFhirXml(xml, look, opts.source);
    if (read.resource === undefined) return outcome(read.issues);
    return outcome([...read.issues, ...this.issues(read.resource, opts)]);
  }

  validateMany(resources: Iterable<unknown>, opts: ValidateOptions = {}): OperationOutcome[] {
    const out: OperationOutcome[] = [];
    for (const r of resources) out.push(this.validate(r, opts));
    return out;
  }

  private issues(resource: unknown, opts: ValidateOptions): OperationOutcomeIssue[] {
    const profiles =
      opts.profile === undefined ? [] : Array.isArray(opts.profile) ? opts.profile : [opts.profile];
    const policy =
      opts.referenceTypes || opts.emptyArrays || opts.valuesInMessages !== undefined
        ? {
            ...this.policy,
            unresolvedReferenceTypes: opts.referenceTypes ?? this.policy.unresolvedReferenceTypes,
            emptyArrays: opts.emptyArrays ?? this.policy.emptyArrays,
            valuesInMessages: opts.valuesInMessages ?? this.policy.valuesInMessages,
          }
        : this.policy;
    const walk = new Walk(this.compiler, this.terminology, policy);
    try {
      if (isObject(resource) && typeof resource.resourceType === 'string')
        walk.at.push(resource.resourceType);
      if (!isObject(resource) || checkNesting(walk, resource)) walk.resourceNode(resource, profiles);
    } catch (e) {
      walk.issues.push({
        severity: 'fatal',
        code: 'exception',
        diagnostics: `Validation stopped by an internal error: ${(e as Error).message}`,
      });
    }
    return dropCoveredCodingIssues(walk.issues);
  }
}

/**
 * The FI Base a validator over `given` (the packages it was given) loads: none to look up when one of
 * them is FI Base, else the one in the package search path (`findFiBase`); `missing` says why there is
 * none.
 */
function lookUpFiBase(given: readonly FhirPackage[]): { path?: string; missing?: string } {
  if (given.some(isFiBase)) return {};
  const searchPath = packageSearchPath();
  const path = findFiBase(searchPath);
  return path ? { path } : { missing: fiBaseNotFound(searchPath) };
}

/**
 * Why FI Base's own rules are not checked — the package, the folders searched and how to supply it,
 * in one line — or `undefined` when they are. Given a validator: its `packages` hold no FI Base. Given
 * package paths (`ValidatorOptions.packages`): a validator created with them (`fiBase` left `true`)
 * would load none, which a caller can say or refuse before loading; a path that cannot be opened is
 * passed over here (creating the validator reports it).
 */
export function fiBaseMissing(
  from: readonly string[] | Pick<Validator, 'packages'> = [],
): string | undefined {
  if (!isStringArray(from)) return from.packages.some(isFiBase) ? undefined : fiBaseNotFound();
  const given = from.flatMap((p) => {
    try {
      return isPackagePath(p) ? [openPackage(p)] : [];
    } catch {
      return [];
    }
  });
  return lookUpFiBase(given).missing;
}

function isStringArray(v: readonly string[] | object): v is readonly string[] {
  return Array.isArray(v);
}

let project: Promise<Validator> | undefined;

/**
 * The committed packages every project validator loads: Kanta PHR's R4 definitions
 * (`profiles/kanta-phr/package`, whose creating-application extension our profiles use) and our IG.
 */
export function projectPackages(): string[] {
  const dirs = [
    join(PROJECT_ROOT, 'profiles', 'kanta-phr', 'package'),
    join(PROJECT_ROOT, 'profiles', 'package'),
  ];
  return dirs.filter((d) => existsSync(join(d, 'package.json')));
}

/** R4 core + FI Base (when found) + the committed packages (`projectPackages()`), created once per process. */
export function loadProjectValidator(): Promise<Validator> {
  if (!project) {
    project = createValidator({ packages: projectPackages() });
    project.catch(() => {
      project = undefined;
    });
  }
  return project;
}
export { fhirXmlToJson } from './xml.ts';
export { type DroppedContent, droppedContent } from './xml-dropped.ts';
export { type ReadXmlResult, readFhirXml } from './xml-validate.ts';
