// FHIR XML's element structure against the R4 definitions, which the JSON the converter makes no
// longer shows: every child element in the FHIR namespace (the narrative's div in XHTML's), and the
// children of each element in the order of its definition (R4 xml.html: "elements must appear in the
// order given"). Unknown elements are left to `xml-dropped.ts`.
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import type { PrimitiveRule } from './primitives.ts';
import type { XmlFinding } from './xml-dropped.ts';
import { FHIR_NS, XHTML_NS, type XmlElement } from './xml-tree.ts';
import { converterValue } from './xml.ts';

/** The StructureDefinition of a core type or resource by name (`'Patient'`, `'HumanName'`). */
export type TypeDefinitions = (type: string) => StructureDefinition | undefined;

/** The validator's compiled rule of a primitive type (`'integer'`). */
export type PrimitiveRules = (type: string) => PrimitiveRule | undefined;

/** One child element of a definition, in definition order. */
interface ChildDefinition {
  /** Element name; for a choice the name without `[x]`. */
  name: string;
  choice: boolean;
  types: string[];
  many: boolean;
  /** `contentReference` target path (`Questionnaire.item`). */
  ref?: string;
  /** Defined inline (backbone element): its children are under its own path. */
  inline: boolean;
}

/** Where an element's children are defined: a StructureDefinition and the element path in it. */
interface Context {
  sd: StructureDefinition;
  path: string;
}

const childrenBySd = new WeakMap<StructureDefinition, Map<string, ChildDefinition[]>>();

/**
 * What the walk looks up: the definitions it walks along, and the primitives' rules; it collects into
 * `standIns` the `value` the converter reads in place of one it would refuse (xml.ts `converterValue`).
 */
interface Lookups {
  definitions: TypeDefinitions;
  primitives: PrimitiveRules;
  standIns?: Map<XmlElement, string>;
}

export function structureFindings(root: XmlElement, look: Lookups): XmlFinding[] {
  const out: XmlFinding[] = [];
  const sd = look.definitions(root.name);
  if (root.ns === FHIR_NS && sd?.kind === 'resource')
    walk(root, { sd, path: root.name }, root.name, look, out);
  return out;
}

function walk(el: XmlElement, ctx: Context, path: string, look: Lookups, out: XmlFinding[]): void {
  const defs = childDefinitions(ctx.sd, ctx.path);
  const seen = new Map<string, number>();
  let last = -1;
  for (const child of el.elements) {
    const found = matchDefinition(defs, child.name);
    const xhtml = found?.type === 'xhtml';
    if (child.ns !== (xhtml ? XHTML_NS : FHIR_NS)) {
      out.push({
        expression: `${path}.${child.name}`,
        diagnostics: `Wrong namespace - expected '${xhtml ? XHTML_NS : FHIR_NS}' on the element '${child.qname}'`,
      });
      continue;
    }
    if (!found) continue; // unknown: reported by xml-dropped.ts
    const i = seen.get(child.name) ?? 0;
    seen.set(child.name, i + 1);
    // A choice element is located as in JSON and by the HL7 validator: `value.ofType(integer)`.
    const name = found.def.choice ? `${found.def.name}.ofType(${found.type})` : child.name;
    const here = found.def.many ? `${path}.${name}[${i}]` : `${path}.${name}`;
    if (found.index < last) {
      const after = defs[last]!;
      out.push({
        expression: here,
        diagnostics: `As specified by profile ${ctx.sd.url}, Element '${child.name}' is out of order (it must come before '${after.name}${after.choice ? '[x]' : ''}')`,
      });
    } else last = found.index;
    if (!xhtml) descend(child, ctx, found, here, look, out);
  }
}

/** Walks a matched child with the definition of its own children. */
function descend(
  child: XmlElement,
  ctx: Context,
  found: { def: ChildDefinition; type?: string },
  path: string,
  look: Lookups,
  out: XmlFinding[],
): void {
  const { def, type } = found;
  const childPath = `${ctx.path}.${def.choice ? `${def.name}[x]` : def.name}`;
  if (def.ref) {
    const sd = look.definitions(def.ref.split('.')[0]!);
    if (sd) walk(child, { sd, path: def.ref }, path, look, out);
  } else if (def.inline) walk(child, { ...ctx, path: childPath }, path, look, out);
  else if (type === 'Resource' || type === 'DomainResource') {
    // A resource in a container (contained, Bundle.entry.resource, Parameters.parameter.resource).
    for (const inner of child.elements) {
      const sd = inner.ns === FHIR_NS ? look.definitions(inner.name) : undefined;
      if (sd?.kind === 'resource') walk(inner, { sd, path: inner.name }, path, look, out);
      else
        out.push({
          expression: path,
          diagnostics: `The element '${inner.qname}' is not a FHIR resource in the namespace '${FHIR_NS}'`,
        });
    }
  } else if (type && !type.includes('/')) {
    const sd = look.definitions(type);
    if (sd?.kind === 'primitive-type') lexicalFinding(child, type, path, look, out);
    if (sd) walk(child, { sd, path: sd.type ?? type }, path, look, out);
  }
}

/**
 * A number's or boolean's `value` attribute as written, against its type's regex (the converted JSON
 * keeps no text). The finding names the element, not the value. A value the converter would refuse
 * gets a stand-in, so one bad number is an error at its element, not a document that cannot be read.
 */
function lexicalFinding(
  child: XmlElement,
  type: string,
  path: string,
  look: Lookups,
  out: XmlFinding[],
): void {
  const text = child.attributes.value;
  if (text === undefined) return;
  const problem = look.primitives(type)?.lexical(text);
  if (problem) out.push({ expression: path, diagnostics: problem });
  const standIn = converterValue(type, text);
  if (standIn !== undefined) look.standIns?.set(child, standIn);
}

function matchDefinition(
  defs: ChildDefinition[],
  name: string,
): { def: ChildDefinition; index: number; type?: string } | undefined {
  for (let index = 0; index < defs.length; index++) {
    const def = defs[index]!;
    if (!def.choice && def.name === name) return { def, index, type: def.types[0] };
    if (def.choice && name.startsWith(def.name)) {
      const suffix = name.slice(def.name.length);
      const type = def.types.find((t) => t.charAt(0).toUpperCase() + t.slice(1) === suffix);
      if (type) return { def, index, type };
    }
  }
  return undefined;
}

/** The children of `path` in `sd`'s snapshot, in definition order; XML attributes (`id`, `url`, `value`) left out. */
function childDefinitions(sd: StructureDefinition, path: string): ChildDefinition[] {
  let byParent = childrenBySd.get(sd);
  if (!byParent) {
    byParent = indexChildren(sd.snapshot?.element ?? []);
    childrenBySd.set(sd, byParent);
  }
  return byParent.get(path) ?? [];
}

function indexChildren(elements: ElementDefinition[]): Map<string, ChildDefinition[]> {
  const byParent = new Map<string, ChildDefinition[]>();
  const parents = new Set(elements.map((e) => e.path?.slice(0, e.path.lastIndexOf('.'))));
  for (const e of elements) {
    const path = e.path ?? '';
    const dot = path.lastIndexOf('.');
    if (dot < 0 || e.sliceName || e.representation?.includes('xmlAttr')) continue;
    const parent = path.slice(0, dot);
    const last = path.slice(dot + 1);
    const choice = last.endsWith('[x]');
    const list = byParent.get(parent) ?? [];
    byParent.set(parent, list);
    list.push({
      name: choice ? last.slice(0, -3) : last,
      choice,
      types: (e.type ?? []).map((t) => t.code ?? ''),
      many: e.max !== '0' && e.max !== '1',
      ref: e.contentReference?.slice(e.contentReference.indexOf('#') + 1),
      inline: parents.has(path),
    });
  }
  return byParent;
}
