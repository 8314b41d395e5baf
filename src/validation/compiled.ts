import type { ElementDefinition, ElementDefinitionConstraint, StructureDefinition } from '@medplum/fhirtypes';
import { narrowTypeSlicedChoice } from './choice-slices.ts';
import { type PrimitiveRule, compilePrimitive, isPrimitiveCode } from './primitives.ts';
import type { Registry } from './registry.ts';
import { generateSnapshot } from './snapshot.ts';
import type { CompiledInvariant } from './types.ts';
import { MAX_REMEMBERED_MISSES } from './util.ts';

const FHIR_TYPE_EXT = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

export interface TypeRef {
  code: string;
  profiles: string[];
  targetProfiles: string[];
}

export interface Discriminator {
  type: 'value' | 'pattern' | 'type' | 'exists' | 'profile' | 'position';
  path: string;
}

export interface CompiledSlicing {
  discriminators: Discriminator[];
  rules: 'open' | 'closed' | 'openAtEnd';
  ordered: boolean;
}

export interface CompiledBinding {
  strength: 'required' | 'extensible' | 'preferred' | 'example';
  valueSet: string;
  /** The `elementdefinition-maxValueSet` extension: codes must come from it whatever the strength. */
  maxValueSet?: string;
}

const MAX_VALUE_SET = 'http://hl7.org/fhir/StructureDefinition/elementdefinition-maxValueSet';

/** One ElementDefinition compiled: everything the walker needs, no further look-ups in the snapshot. */
export interface CompiledElement {
  id: string;
  path: string;
  /** Last path segment, e.g. `value[x]`; `name` without `[x]` is the JSON prefix of a choice. */
  name: string;
  jsonName: string;
  sliceName?: string;
  min: number;
  max: number;
  /** JSON array representation (from the base definition's max). */
  array: boolean;
  choice: boolean;
  types: TypeRef[];
  contentRef?: string;
  children: CompiledElement[];
  slicing?: CompiledSlicing;
  slices: CompiledElement[];
  fixed?: unknown;
  pattern?: unknown;
  /** ElementDefinition.maxLength, and numeric minValue[x]/maxValue[x]. */
  maxLength?: number;
  minValue?: number;
  maxValue?: number;
  /** minValue[x]/maxValue[x] of date, dateTime, instant and time elements, as published. */
  minTemporal?: string;
  /** minValueQuantity / maxValueQuantity (compared after UCUM conversion). */
  minQuantity?: Record<string, unknown>;
  maxQuantity?: Record<string, unknown>;
  maxTemporal?: string;
  binding?: CompiledBinding;
  invariants: CompiledInvariant[];
  /**
   * The invariants worth running on a primitive value that is present: all but ele-1, which such a
   * value always meets (an empty string is refused before invariants run). Built on first use.
   */
  valueInvariants?: CompiledInvariant[];
  /** Keys of all constraints on the element (compiled or native), to avoid running one twice. */
  invariantKeys: Set<string>;
  isModifier: boolean;
  owner: CompiledStructure;
  /** JSON property name → child, built on first use. */
  index?: Map<string, ChildSlot>;
  /** Children that must be checked even when absent (min > 0 or a slice with min > 0), built on first use. */
  required?: CompiledElement[];
}

export interface ChildSlot {
  el: CompiledElement;
  /** The FHIR type the JSON name implies (choice types), or the element's single type. */
  type: string;
  /** True for `_name` (primitive extension companion). */
  underscore: boolean;
  /** The value's JSON name (without `_`), its `_` companion, and the FHIRPath segment reported in issues. */
  key: string;
  ukey: string;
  seg: string;
  primitive: boolean;
}

export interface CompiledStructure {
  url: string;
  type: string;
  kind: string;
  /** True for the R4 core definitions. */
  core: boolean;
  /** A base type or resource (derivation specialization), as opposed to a profile; issues found by a profile name it. */
  base: boolean;
  root: CompiledElement;
  byId: Map<string, CompiledElement>;
  sd: StructureDefinition;
}

export type InvariantCompiler = (
  constraint: ElementDefinitionConstraint,
  path: string,
) => CompiledInvariant | undefined;

/**
 * Compiles StructureDefinition snapshots into structures, once per canonical. Datatype structures are compiled on
 * first use and shared by every element of that type.
 */
export class StructureCompiler {
  private readonly structures = new Map<string, CompiledStructure | null>();
  private structureMisses = 0;
  private readonly primitives = new Map<string, PrimitiveRule | null>();
  private readonly typeStructures = new Map<string, CompiledStructure | null>();
  /** Capitalised type name (as in `valueQuantity`) → FHIR type code. */
  readonly typeSuffixes = new Map<string, string>();
  readonly resourceTypes = new Set<string>();

  constructor(
    readonly registry: Registry,
    private readonly compileInvariant?: InvariantCompiler,
  ) {
    for (const info of registry.structureDefinitionInfo()) {
      if (info.derivation !== 'specialization' || !info.type || !info.url.startsWith(CORE_PREFIX)) continue;
      if (info.kind === 'resource') this.resourceTypes.add(info.type);
      else if (info.kind === 'primitive-type' || info.kind === 'complex-type')
        this.typeSuffixes.set(capitalise(info.type), info.type);
    }
  }

  structure(url: string): CompiledStructure | undefined {
    let p = this.structures.get(url);
    if (p === undefined) {
      const sd = this.registry.structureDefinition(url);
      p = sd?.snapshot?.element?.length ? this.compile(sd) : sd ? this.compileDifferential(sd) : null;
      // A url naming nothing (a `meta.profile` a caller sent) is remembered up to the limit.
      if (sd || this.structureMisses++ < MAX_REMEMBERED_MISSES) this.structures.set(url, p);
      if (p && p.url !== url) this.structures.set(p.url, p);
    }
    return p ?? undefined;
  }

  /** A differential-only profile, when a snapshot can be generated for it (see snapshot.ts). */
  private compileDifferential(sd: StructureDefinition): CompiledStructure | null {
    if (!sd.baseDefinition || sd.baseDefinition === sd.url) return null;
    this.structures.set(sd.url, null); // guards against a cycle through baseDefinition
    const base = this.structure(sd.baseDefinition)?.sd;
    const elements = base && generateSnapshot(sd, base, (u) => this.structure(u)?.sd);
    return elements ? this.compile({ ...sd, snapshot: { element: elements } }) : null;
  }

  /** The base definition of a type or resource by name. */
  typeStructure(code: string): CompiledStructure | undefined {
    let p = this.typeStructures.get(code);
    if (p === undefined) {
      p = this.structure(CORE_PREFIX + code) ?? null;
      this.typeStructures.set(code, p);
    }
    return p ?? undefined;
  }

  primitive(code: string): PrimitiveRule | undefined {
    let r = this.primitives.get(code);
    if (r === undefined) {
      const sd = this.registry.structureDefinition(code);
      r = sd && sd.kind === 'primitive-type' ? compilePrimitive(sd) : null;
      this.primitives.set(code, r);
    }
    return r ?? undefined;
  }

  private compile(sd: StructureDefinition): CompiledStructure {
    const specializesItsOwnType = (d: StructureDefinition) =>
      d.derivation === 'specialization' &&
      !!d.baseDefinition &&
      this.registry.structureDefinition(d.baseDefinition)?.type === d.type;
    const elements = sd.snapshot?.element ?? [];
    const structure = {
      url: sd.url,
      type: sd.type,
      kind: sd.kind,
      core: sd.url.startsWith(CORE_PREFIX),
      base: sd.derivation !== 'constraint' && !specializesItsOwnType(sd),
      byId: new Map(),
      sd,
    } as unknown as CompiledStructure;
    const isResource = sd.kind === 'resource';
    for (let i = 0; i < elements.length; i++) {
      const ed = elements[i];
      const id = ed.id ?? ed.path;
      const el = this.element(ed, structure, i === 0, isResource);
      structure.byId.set(id, el);
      if (i === 0) {
        structure.root = el;
        continue;
      }
      const { parentId, sliceOf } = splitId(id);
      if (sliceOf !== undefined) {
        const entry = structure.byId.get(sliceOf);
        if (entry) entry.slices.push(el);
        continue;
      }
      const parent = structure.byId.get(parentId);
      if (parent) parent.children.push(el);
    }
    for (const el of structure.byId.values()) narrowTypeSlicedChoice(el);
    return structure;
  }

  private element(
    ed: ElementDefinition,
    owner: CompiledStructure,
    isRoot: boolean,
    isResource: boolean,
  ): CompiledElement {
    const path = ed.path ?? '';
    const name = path.slice(path.lastIndexOf('.') + 1);
    const choice = name.endsWith('[x]');
    const rootIdOfResource = isResource && path.indexOf('.') === path.lastIndexOf('.') && name === 'id';
    const types: TypeRef[] = (ed.type ?? []).map((t) => ({
      code: rootIdOfResource ? 'id' : typeCode(t.code ?? '', t.extension),
      profiles: t.profile ?? [],
      targetProfiles: t.targetProfile ?? [],
    }));
    const baseMax =
      ed.base?.max ?? (owner.base ? undefined : this.inheritedMax(owner.type, path)) ?? ed.max ?? '1';
    let fixed: unknown;
    let pattern: unknown;
    let minValue: number | undefined;
    let maxValue: number | undefined;
    let minTemporal: string | undefined;
    let maxTemporal: string | undefined;
    let minQuantity: Record<string, unknown> | undefined;
    let maxQuantity: Record<string, unknown> | undefined;
    for (const key in ed) {
      const v = (ed as unknown as Record<string, unknown>)[key];
      if (key.startsWith('fixed')) fixed = v;
      else if (key.startsWith('pattern')) pattern = v;
      else if (key.startsWith('minValue') && typeof v === 'number') minValue = v;
      else if (key.startsWith('maxValue') && typeof v === 'number') maxValue = v;
      else if (key.startsWith('minValue') && typeof v === 'string') minTemporal = v;
      else if (key.startsWith('maxValue') && typeof v === 'string') maxTemporal = v;
      else if (key === 'minValueQuantity' && v && typeof v === 'object')
        minQuantity = v as Record<string, unknown>;
      else if (key === 'maxValueQuantity' && v && typeof v === 'object')
        maxQuantity = v as Record<string, unknown>;
    }
    const maxValueSet = ed.binding?.extension?.find((e) => e.url === MAX_VALUE_SET)?.valueCanonical;
    const binding =
      ed.binding?.valueSet && ed.binding.strength
        ? {
            strength: ed.binding.strength,
            valueSet: ed.binding.valueSet,
            ...(maxValueSet ? { maxValueSet } : {}),
          }
        : undefined;
    return {
      id: ed.id ?? path,
      path,
      name,
      jsonName: choice ? name.slice(0, -3) : name,
      sliceName: ed.sliceName,
      min: ed.min ?? 0,
      max: ed.max === '*' ? Number.POSITIVE_INFINITY : Number(ed.max ?? '1'),
      array: !isRoot && baseMax !== '1' && baseMax !== '0',
      choice,
      types,
      contentRef: ed.contentReference,
      children: [],
      slicing: ed.slicing
        ? {
            discriminators: (ed.slicing.discriminator ?? []) as Discriminator[],
            rules: ed.slicing.rules ?? 'open',
            ordered: ed.slicing.ordered ?? false,
          }
        : undefined,
      slices: [],
      fixed,
      pattern,
      maxLength: ed.maxLength,
      minValue,
      maxValue,
      minTemporal,
      maxTemporal,
      minQuantity,
      maxQuantity,
      binding,
      invariants: this.invariants(ed, path),
      invariantKeys: new Set((ed.constraint ?? []).map((c) => c.key ?? '')),
      isModifier: ed.isModifier ?? false,
      owner,
    };
  }

  private invariants(ed: ElementDefinition, path: string): CompiledInvariant[] {
    if (!this.compileInvariant || !ed.constraint) return [];
    const out: CompiledInvariant[] = [];
    for (const c of ed.constraint) {
      const inv = this.compileInvariant(c, path);
      if (inv) out.push(inv);
    }
    return out;
  }

  /**
   * The base definition's max for a profile element whose snapshot omits `base` (hand-written
   * snapshots do): the JSON array-ness comes from the base resource or datatype, not the profile.
   */
  private inheritedMax(type: string, path: string): string | undefined {
    let sd = this.registry.structureDefinition(type);
    let rest = path.slice(path.indexOf('.') + 1);
    for (let guard = 0; sd && guard < 8; guard++) {
      const elements = sd.snapshot?.element ?? [];
      const exact = elements.find((e) => e.path === `${sd?.type}.${rest}`);
      if (exact) return exact.base?.max ?? exact.max;
      // Descend into the datatype of the longest prefix that exists.
      const segs = rest.split('.');
      let next: StructureDefinition | undefined;
      for (let n = segs.length - 1; n > 0 && !next; n--) {
        const prefix = elements.find((e) => e.path === `${sd?.type}.${segs.slice(0, n).join('.')}`);
        const code = prefix?.type?.length === 1 ? prefix.type[0].code : undefined;
        if (code) {
          next = this.registry.structureDefinition(code);
          rest = segs.slice(n).join('.');
        }
      }
      sd = next;
    }
    return undefined;
  }

  /** Children used to validate the content of `el`: its own, or those of a `contentReference` target. */
  childrenOf(el: CompiledElement): CompiledElement[] {
    if (el.children.length || !el.contentRef) return el.children;
    const target = el.owner.byId.get(el.contentRef.slice(el.contentRef.indexOf('#') + 1));
    return target ? target.children : el.children;
  }

  /** JSON property name → child element for an element whose children are used as a container. */
  indexOf(el: CompiledElement): Map<string, ChildSlot> {
    if (el.index) return el.index;
    const index = new Map<string, ChildSlot>();
    const add = (child: CompiledElement, key: string, type: string, seg: string, primitive: boolean) => {
      const ukey = `_${key}`;
      index.set(key, { el: child, type, underscore: false, key, ukey, seg, primitive });
      if (primitive) index.set(ukey, { el: child, type, underscore: true, key, ukey, seg, primitive });
    };
    for (const child of this.childrenOf(el)) {
      if (child.choice) {
        for (const t of child.types) {
          const suffix = capitalise(t.code);
          add(
            child,
            child.jsonName + suffix,
            t.code,
            `${child.jsonName}.ofType(${t.code})`,
            isPrimitiveCode(t.code),
          );
        }
      } else {
        const type = child.types.length === 1 ? child.types[0].code : 'Element';
        add(
          child,
          child.name,
          type,
          child.name,
          child.types.some((t) => isPrimitiveCode(t.code)),
        );
      }
    }
    el.index = index;
    return index;
  }

  /** Children to check when absent: minimum cardinality above 0, directly or on a slice. */
  requiredOf(el: CompiledElement): CompiledElement[] {
    if (el.required) return el.required;
    el.required = this.childrenOf(el).filter((c) => c.min > 0 || c.slices.some((s) => s.min > 0));
    return el.required;
  }
}

export function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function typeCode(
  code: string,
  ext: Array<{ url?: string; valueUrl?: string; valueUri?: string }> | undefined,
): string {
  if (!code.startsWith('http://hl7.org/fhirpath/System.')) return code;
  const fhirType = ext?.find((x) => x.url === FHIR_TYPE_EXT);
  if (fhirType) return fhirType.valueUrl ?? fhirType.valueUri ?? 'string';
  return code.slice('http://hl7.org/fhirpath/System.'.length).toLowerCase();
}

/**
 * `Observation.component:sys.code` → parent `Observation.component:sys`; `Observation.component:sys` →
 * slice of `Observation.component`; `X.extension:a/b` → slice of `X.extension:a`.
 */
function splitId(id: string): { parentId: string; sliceOf?: string } {
  const dot = lastSegmentStart(id);
  const parentId = id.slice(0, dot - 1);
  const last = id.slice(dot);
  const colon = last.indexOf(':');
  if (colon < 0) return { parentId };
  const slicePart = last.slice(colon + 1);
  const slash = slicePart.lastIndexOf('/');
  const entryLast =
    slash >= 0 ? `${last.slice(0, colon)}:${slicePart.slice(0, slash)}` : last.slice(0, colon);
  return { parentId, sliceOf: `${id.slice(0, dot)}${entryLast}` };
}

/** Index just after the last '.' that is not inside a slice name. Slice names do not contain '.' in practice. */
function lastSegmentStart(id: string): number {
  return id.lastIndexOf('.') + 1;
}
