import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import { Registry } from '../../../src/validation/registry.ts';

/**
 * Builds test profiles the way a snapshot generator would: the base snapshot, cloned, with elements
 * constrained and slices inserted. Used to exercise each rule against a known profile.
 */
let core: Registry | undefined;
function coreRegistry(): Registry {
  if (!core) {
    core = new Registry();
    core.loadCore();
  }
  return core;
}

export const TEST_CANONICAL = 'http://example.org/fhir/StructureDefinition';

export class ProfileBuilder {
  readonly elements: ElementDefinition[];
  constructor(
    readonly baseType: string,
    readonly id: string,
    base = `http://hl7.org/fhir/StructureDefinition/${baseType}`,
  ) {
    const sd = coreRegistry().structureDefinition(base) as StructureDefinition;
    this.elements = structuredClone(sd.snapshot?.element ?? []);
    this.base = base;
  }
  private readonly base: string;

  get url(): string {
    return `${TEST_CANONICAL}/${this.id}`;
  }

  el(id: string): ElementDefinition {
    const e = this.elements.find((x) => x.id === id);
    if (!e) throw new Error(`no element ${id} in ${this.id}`);
    return e;
  }

  set(id: string, patch: Partial<ElementDefinition> & Record<string, unknown>): this {
    Object.assign(this.el(id), patch);
    return this;
  }

  /** Copies the children of a datatype (e.g. Identifier) under `id`, as snapshot generators unroll them. */
  unroll(id: string, type: string): this {
    const typeSd = coreRegistry().structureDefinition(type) as StructureDefinition;
    const at = this.elements.findIndex((x) => x.id === id);
    const path = this.el(id).path as string;
    const kids = (typeSd.snapshot?.element ?? []).slice(1).map((e) => ({
      ...structuredClone(e),
      id: `${id}${(e.id as string).slice(type.length)}`,
      path: `${path}${(e.path as string).slice(type.length)}`,
    }));
    let end = at + 1;
    while (end < this.elements.length && (this.elements[end].id as string).startsWith(`${id}.`)) end++;
    this.elements.splice(at + 1, end - at - 1, ...kids);
    return this;
  }

  /** Declares slicing on `id` and appends a slice (optionally unrolling its datatype children). */
  slice(
    id: string,
    slicing: ElementDefinition['slicing'],
    name: string,
    patch: Partial<ElementDefinition> & Record<string, unknown> = {},
    unrollType?: string,
  ): this {
    const entry = this.el(id);
    entry.slicing = slicing;
    let end = this.elements.findIndex((x) => x.id === id) + 1;
    while (end < this.elements.length && (this.elements[end].id as string).startsWith(`${id}`)) end++;
    const sliceId = `${id}:${name}`;
    const { slicing: _entrySlicing, ...entryCopy } = structuredClone(entry);
    const slice: ElementDefinition = { ...entryCopy, id: sliceId, sliceName: name, ...patch };
    this.elements.splice(end, 0, slice);
    if (unrollType) this.unroll(sliceId, unrollType);
    return this;
  }

  /** Slices a backbone element: the slice gets copies of the entry's children, then `patches` by relative id. */
  sliceBackbone(
    id: string,
    slicing: ElementDefinition['slicing'],
    name: string,
    patch: Partial<ElementDefinition> & Record<string, unknown>,
    patches: Record<string, Partial<ElementDefinition> & Record<string, unknown>> = {},
  ): this {
    const kids = this.elements.filter(
      (e) => (e.id as string).startsWith(`${id}.`) && !(e.id as string).includes(':'),
    );
    this.slice(id, slicing, name, patch);
    const sliceId = `${id}:${name}`;
    const at = this.elements.findIndex((x) => x.id === sliceId);
    const copies = kids.map((k) => {
      const rel = (k.id as string).slice(id.length + 1);
      return { ...structuredClone(k), id: `${sliceId}.${rel}`, ...(patches[rel] ?? {}) };
    });
    this.elements.splice(at + 1, 0, ...copies);
    return this;
  }

  build(): StructureDefinition {
    return {
      resourceType: 'StructureDefinition',
      id: this.id,
      url: this.url,
      name: this.id.replace(/[^A-Za-z0-9]/g, ''),
      status: 'active',
      kind: coreRegistry().structureDefinition(this.baseType)?.kind ?? 'resource',
      abstract: false,
      type: this.baseType,
      baseDefinition: this.base,
      derivation: 'constraint',
      snapshot: { element: this.elements },
    } as StructureDefinition;
  }
}
