import { FHIR_NS, type XmlElement, readXmlTree } from './xml-tree.ts';

/** A problem found in a FHIR XML document, where it stood (element and attribute names only, no values). */
export interface XmlFinding {
  /** FHIRPath of the element it belongs to, or of the element itself. */
  expression: string;
  diagnostics: string;
}

/** Something in a FHIR XML document that the conversion to JSON left out, where it stood. */
export type DroppedContent = XmlFinding;

type Json = Record<string, unknown>;

/** Attributes a FHIR element may carry; `xmlns` declarations and other namespaces' attributes aside. */
const FHIR_ATTRIBUTES = new Set(['value', 'id', 'url']);

/**
 * What the converter in `xml.ts` dropped: it keeps what it knows and silently leaves out unknown
 * elements and attributes, text inside FHIR elements, elements under a prefix for the FHIR namespace,
 * and all but one of a single element given twice. The document is read again as a plain element tree
 * and walked beside the JSON the converter made; an element with no counterpart there was dropped.
 * Elements outside the FHIR namespace are left to `xml-structure.ts`; the narrative's `div` is not walked.
 */
export function droppedContent(xml: string, json: unknown): DroppedContent[] {
  const root = readXmlTree(xml);
  return root ? droppedFromTree(root, json) : []; // what this reader refuses the converter took
}

/** `droppedContent` over a tree already read. */
export function droppedFromTree(root: XmlElement, json: unknown): XmlFinding[] {
  const out: XmlFinding[] = [];
  if (isJson(json)) walk(root, json, String(json.resourceType ?? root.name), out);
  return out;
}

function walk(el: XmlElement, obj: Json, path: string, out: XmlFinding[]): void {
  for (const name of Object.keys(el.attributes)) {
    if (!FHIR_ATTRIBUTES.has(name) && !name.startsWith('xmlns') && !name.includes(':'))
      out.push({ expression: path, diagnostics: `Undefined attribute '@${name}' on ${el.name}` });
  }
  if (el.text)
    out.push({ expression: path, diagnostics: `Text content is not allowed in the FHIR element ${el.name}` });
  const seen = new Map<string, number>();
  for (const child of el.elements) {
    if (child.ns !== FHIR_NS) continue; // another namespace: xml-structure.ts
    if (child.qname !== child.name) {
      out.push({
        expression: `${path}.${child.name}`,
        diagnostics: `The element '${child.qname}' puts the FHIR namespace under a prefix, which this reader does not read: write it without a prefix`,
      });
      continue;
    }
    if (child.name === 'div' && typeof obj.div === 'string') continue; // the narrative, taken whole
    const i = seen.get(child.name) ?? 0;
    seen.set(child.name, i + 1);
    matchChild(child, obj, i, path, out);
  }
}

function matchChild(child: XmlElement, obj: Json, i: number, path: string, out: XmlFinding[]): void {
  const name = child.name;
  const value = obj[name];
  const companion = obj[`_${name}`];
  const here = `${path}.${name}`;
  if (value === undefined && companion === undefined) {
    out.push({ expression: here, diagnostics: `Undefined element '${name}'` });
    return;
  }
  const many = Array.isArray(value) || Array.isArray(companion);
  if (!many && i > 0) {
    out.push({ expression: here, diagnostics: `The element '${name}' can appear only once` });
    return;
  }
  const at = many ? `${here}[${i}]` : here;
  const v = many ? (Array.isArray(value) ? value[i] : undefined) : value;
  if (isJson(v)) {
    if (typeof v.resourceType === 'string') {
      const inner = child.elements[0];
      if (inner) walk(inner, v, at, out);
    } else walk(child, v, at, out);
    return;
  }
  const c = many ? (Array.isArray(companion) ? companion[i] : undefined) : companion;
  // A primitive: its `value` attribute is the JSON value, its id and extensions the `_name` companion.
  walk(child, isJson(c) ? c : {}, at, out);
}

function isJson(v: unknown): v is Json {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}
