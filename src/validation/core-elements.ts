// The element facts of R4 core types for stages that walk resources without validating them (the
// store's search indexing). They come from the same core index the validator's registry reads, one
// StructureDefinition parsed per type on first use, so a process holds one copy of the R4 definitions.
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import { Registry } from './registry.ts';

/** One child element: its type codes, and for an inline (backbone) element the path of its own children. */
export interface CoreChild {
  types: string[];
  /** `Type.path` whose children are this element's children (BackboneElement / Element defined inline). */
  inline?: string;
}

let registry: Registry | undefined;
const childrenByPath = new Map<string, Map<string, CoreChild> | undefined>();

function coreRegistry(): Registry {
  if (!registry) {
    registry = new Registry();
    registry.loadCore();
  }
  return registry;
}

/**
 * The children of a core type (`'Observation'`, `'CodeableConcept'`) or of an inline element
 * (`'Observation.component'`), keyed by element name (`value[x]` for choices); undefined when the
 * type is not a core type or the element is defined by `contentReference`.
 */
export function coreChildren(typeOrPath: string): Map<string, CoreChild> | undefined {
  if (childrenByPath.has(typeOrPath)) return childrenByPath.get(typeOrPath);
  const root = typeOrPath.split('.')[0];
  const sd = coreRegistry().structureDefinition(root) as StructureDefinition | undefined;
  if (sd && sd.derivation !== 'constraint') indexChildren(sd.snapshot?.element ?? []);
  if (!childrenByPath.has(typeOrPath)) childrenByPath.set(typeOrPath, undefined);
  return childrenByPath.get(typeOrPath);
}

function indexChildren(elements: ElementDefinition[]): void {
  const parents = new Set(elements.map((e) => e.path?.slice(0, e.path.lastIndexOf('.'))));
  for (const e of elements) {
    const path = e.path ?? '';
    const dot = path.lastIndexOf('.');
    if (dot < 0) {
      if (!childrenByPath.has(path)) childrenByPath.set(path, new Map());
      continue;
    }
    const parent = path.slice(0, dot);
    let children = childrenByPath.get(parent);
    if (!children) {
      children = new Map();
      childrenByPath.set(parent, children);
    }
    if (e.contentReference) continue; // left out: the caller falls back to FHIRPath
    const types = (e.type ?? []).map((t) => t.code ?? '');
    children.set(path.slice(dot + 1), { types, inline: parents.has(path) ? path : undefined });
  }
}
