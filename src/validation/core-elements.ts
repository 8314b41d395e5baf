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

/**
 * The type of element `key` of a value of type `parent` (a core type, or an inline element's path):
 * a plain element's (an inline element's path for a backbone), a choice's by its suffix (`valueUri` →
 * `uri`), a primitive's `_key` sibling an Element, a contentReference's the element it repeats;
 * undefined when not known.
 */
export function coreChildType(parent: string, key: string): string | undefined {
  const children = coreChildren(parent);
  if (!children) return undefined;
  const plain = children.get(key);
  if (plain) return plain.inline ?? (plain.types.length === 1 ? plain.types[0] : undefined);
  if (key.startsWith('_')) return 'Element';
  for (const [name, choice] of children) {
    if (!name.endsWith('[x]') || !key.startsWith(name.slice(0, -3))) continue;
    const suffix = key.slice(name.length - 3);
    const match = choice.types.find((t) => t.charAt(0).toUpperCase() + t.slice(1) === suffix);
    if (match) return match;
  }
  return parent.includes('.') ? repeatedElement(parent, key) : undefined;
}

/**
 * The element a contentReference below inline element `path` stands for (coreChildren leaves those
 * out). In R4 they repeat an enclosing element of the same name (`QuestionnaireResponse.item.item`,
 * `Consent.provision.provision`) or the resource's own child of that name
 * (`Observation.component.referenceRange`); any other is not known.
 */
function repeatedElement(path: string, key: string): string | undefined {
  for (let at = path; at.includes('.'); at = at.slice(0, at.lastIndexOf('.')))
    if (at.endsWith(`.${key}`)) return at;
  return coreChildren(path.slice(0, path.indexOf('.')))?.get(key)?.inline;
}
