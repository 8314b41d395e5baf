import { createRequire } from 'node:module';
import { FHIR_NS } from './xml-tree.ts';

interface XmlConverter {
  xmlToJson(xml: string): string;
}
let converter: XmlConverter | undefined;

/**
 * FHIR XML → FHIR JSON with the `fhir` package (type-aware: arrays, choice names, primitive `_name`
 * companions, decimals kept exact, XHTML div as a string). Loaded on first use. Throws on malformed XML,
 * a root outside the FHIR namespace, or values the converter cannot type (e.g. boolean "yes").
 * Elements the converter does not know are dropped by it, so they are not reported.
 */
export function fhirXmlToJson(xml: string): unknown {
  // The converter wants the root element as the document's only top-level node. A DOCTYPE (with its
  // internal subset) goes unread: no DTD is fetched and no entity it declares is expanded (the reader's
  // strict mode then refuses a reference to one). `validateXml` reports the DOCTYPE itself.
  const body = xml
    .replace(/^\uFEFF/, '')
    .replace(/^(\s*(<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE(?:[^>[]|\[[^\]]*\])*>))*\s*/, '')
    .replace(/(\s*<!--[\s\S]*?-->)*\s*$/, '');
  const root = /^<([A-Za-z][\w.-]*)(\s[^>]*)?>/.exec(body);
  if (!root) throw new Error('not an XML document');
  const ns = /\sxmlns\s*=\s*["']([^"']*)["']/.exec(root[2] ?? '')?.[1];
  if (ns !== FHIR_NS)
    throw new Error(`the root element must be in the FHIR namespace '${FHIR_NS}' (found '${ns ?? 'none'}')`);
  if (!converter) {
    const { Fhir } = createRequire(import.meta.url)('fhir') as { Fhir: new () => XmlConverter };
    converter = new Fhir();
  }
  let json: string | undefined;
  try {
    json = converter.xmlToJson(body);
  } catch (e) {
    throw new Error(withoutValues((e as Error).message));
  }
  if (json === undefined) throw new Error('the document must hold exactly one root element');
  return stripComments(JSON.parse(json));
}

/**
 * The converter's and its XML reader's messages without the document's content: "Value should be a
 * boolean but got: <value>" loses the value, the reader's "Char: <c>" the character; positions stay.
 */
function withoutValues(message: string): string {
  return message
    .replace(/ but got: [\s\S]*$/, '')
    .replace(/\s*\nChar: [\s\S]*$/, '')
    .replace(/\s*\n\s*/g, ', ');
}

/**
 * The converter records XML comments as `fhir_comments` (on the element, or on a `_name` companion it
 * creates only for them), which FHIR JSON does not have: drop them and the companions left empty.
 */
function stripComments(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripComments);
  if (!v || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, raw] of Object.entries(v as Record<string, unknown>)) {
    if (k === 'fhir_comments') continue;
    const c = stripComments(raw);
    if (k.startsWith('_') && isEmptyObject(c)) continue;
    if (k.startsWith('_') && Array.isArray(c)) {
      const kept = c.map((x) => (isEmptyObject(x) ? null : x));
      if (kept.every((x) => x === null)) continue;
      out[k] = kept;
    } else out[k] = c;
  }
  return out;
}

function isEmptyObject(v: unknown): boolean {
  return !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;
}
