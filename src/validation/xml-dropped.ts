import { createRequire } from 'node:module';
import type { xml2js as Xml2js } from 'xml-js';

/** Something in a FHIR XML document that the conversion to JSON left out, where it stood. */
export interface DroppedContent {
  /** FHIRPath of the element it belongs to, or of the element itself. */
  expression: string;
  diagnostics: string;
}

interface XmlNode {
  type: string;
  name?: string;
  attributes?: Record<string, string | number | undefined>;
  elements?: XmlNode[];
  text?: string | number | boolean;
}

type Json = Record<string, unknown>;

/** Attributes a FHIR element may carry; `xmlns` declarations and other namespaces' attributes aside. */
const FHIR_ATTRIBUTES = new Set(['value', 'id', 'url']);

/**
 * What the converter in `xml.ts` dropped: it keeps what it knows and silently leaves out unknown
 * elements and attributes, text inside FHIR elements, and all but one of a single element given twice.
 * The document is read again as a plain element tree and walked beside the JSON the converter made; an
 * element with no counterpart there was dropped. XHTML `div`s are the narrative's own and not walked.
 */
export function droppedContent(xml: string, json: unknown): DroppedContent[] {
  // Loaded on first use, as the converter is: JSON-only users never load an XML reader.
  const { xml2js } = createRequire(import.meta.url)('xml-js') as { xml2js: typeof Xml2js };
  let doc: XmlNode;
  try {
    doc = xml2js(xml, {
      compact: false,
      ignoreComment: true,
      ignoreInstruction: true,
      ignoreDoctype: true,
      ignoreDeclaration: true,
    }) as XmlNode;
  } catch {
    return []; // what this reader refuses (e.g. XML 1.1 character references) the converter took
  }
  const root = doc.elements?.find((e) => e.type === 'element');
  const out: DroppedContent[] = [];
  if (root && isJson(json)) walk(root, json, String(json.resourceType ?? root.name), out);
  return out;
}

function walk(el: XmlNode, obj: Json, path: string, out: DroppedContent[]): void {
  for (const name of Object.keys(el.attributes ?? {})) {
    if (!FHIR_ATTRIBUTES.has(name) && !name.startsWith('xmlns') && !name.includes(':'))
      out.push({ expression: path, diagnostics: `Undefined attribute '@${name}' on ${el.name}` });
  }
  const seen = new Map<string, number>();
  for (const child of el.elements ?? []) {
    if (child.type === 'text' && String(child.text ?? '').trim()) {
      out.push({
        expression: path,
        diagnostics: `Text content is not allowed in the FHIR element ${el.name}`,
      });
      continue;
    }
    if (child.type !== 'element' || !child.name || child.name === 'div' || child.name.includes(':')) continue;
    const i = seen.get(child.name) ?? 0;
    seen.set(child.name, i + 1);
    matchChild(child, obj, i, path, out);
  }
}

function matchChild(child: XmlNode, obj: Json, i: number, path: string, out: DroppedContent[]): void {
  const name = child.name as string;
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
      const inner = child.elements?.find((e) => e.type === 'element');
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
