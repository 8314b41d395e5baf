import { createRequire } from 'node:module';

const FHIR_NS = 'http://hl7.org/fhir';

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
  // The converter wants the root element as the document's only top-level node.
  const body = xml
    .replace(/^\uFEFF/, '')
    .replace(/^(\s*(<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[^>]*>))*\s*/, '')
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
  const json = converter.xmlToJson(body);
  if (json === undefined) throw new Error('the document must hold exactly one root element');
  return stripComments(JSON.parse(json));
}

/**
 * The converter records XML comments as `fhir_comments` (on the element, or on a `_name` companion it
 * creates only for them), which FHIR JSON does not have: drop them and the companions left empty.
 */
function stripComments(v: unknown): unknown {
  if (Array.isArray(v)) {
    for (const x of v) stripComments(x);
  } else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    delete o.fhir_comments;
    for (const k in o) {
      stripComments(o[k]);
      if (!k.startsWith('_')) continue;
      const c = o[k];
      if (isEmptyObject(c)) delete o[k];
      else if (Array.isArray(c)) {
        const items = c.map((x) => (isEmptyObject(x) ? null : x));
        if (items.every((x) => x === null)) delete o[k];
        else o[k] = items;
      }
    }
  }
  return v;
}

function isEmptyObject(v: unknown): boolean {
  return !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;
}
