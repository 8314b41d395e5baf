import { createRequire } from 'node:module';
import { withoutByteOrderMark } from '../shared/byte-order-mark.ts';
import { FHIR_NS, readWellFormed } from './xml-tree.ts';

interface XmlConverter {
  xmlToJson(xml: string): string;
}
let converter: XmlConverter | undefined;

/**
 * FHIR XML → FHIR JSON with the `fhir` package (type-aware: arrays, choice names, primitive `_name`
 * companions, decimals kept exact, XHTML div as a string). Loaded on first use. Throws on XML that is
 * not well-formed (`readWellFormed`: unclosed or truncated, content after the root), a root
 * outside the FHIR namespace, or values the converter cannot type (e.g. boolean "yes").
 * Elements the converter does not know are dropped by it, so they are not reported.
 */
export function fhirXmlToJson(xml: string): unknown {
  // The converter wants the root element as the document's only top-level node: what stands before
  // and after it (the declaration, comments, processing instructions, a DOCTYPE) is left out. A DOCTYPE
  // (with its internal subset) goes unread: no DTD is fetched and no entity it declares is expanded
  // (`readWellFormed` refuses a reference to one). `validateXml` reports the DOCTYPE itself.
  const text = withoutByteOrderMark(xml);
  const read = readWellFormed(text);
  if ('problem' in read) throw new Error(read.problem);
  const body = text.slice(read.start, read.end);
  const root = /^<([A-Za-z_][\w.:-]*)(\s[^>]*?)?\/?>/.exec(body);
  if (!root) throw new Error('not an XML document: no root element');
  const prefix = root[1]!.includes(':') ? `:${root[1]!.split(':')[0]!.replace(/\./g, '\\.')}` : '';
  const ns = new RegExp(`\\sxmlns${prefix}\\s*=\\s*["']([^"']*)["']`).exec(root[2] ?? '')?.[1];
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

/** The `value` texts the converter reads for each number and boolean type (else it refuses the document). */
const CONVERTER_READS: Record<string, RegExp> = {
  integer: /^-?\d+$/,
  unsignedInt: /^-?\d+$/,
  positiveInt: /^-?\d+$/,
  decimal: /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/,
  boolean: /^(true|false)$/,
};

/**
 * A `value` the converter reads in place of `text` for an element of `type`, when it would refuse
 * `text` and stop reading the whole document; undefined when it reads `text` itself. The stand-in
 * keeps the number where `text` is a valid decimal or a whole number however written (`1e2` → `100`,
 * `1.0` → `1`); otherwise it is a neutral valid value (`1` for positiveInt, `0`, `false`). The
 * validator reports `text` itself against its type's regex (xml-structure.ts).
 */
export function converterValue(type: string, text: string): string | undefined {
  const reads = CONVERTER_READS[type];
  if (!reads || reads.test(text)) return undefined;
  if (type === 'boolean') return 'false';
  const exact = plainDecimal(text);
  if (exact !== undefined && (type === 'decimal' || /^-?\d+$/.test(exact))) return exact;
  return type === 'positiveInt' ? '1' : '0';
}

/** A number written with an exponent or a sign as a plain decimal (`1.5e2` → `150`), exactly. */
function plainDecimal(text: string): string | undefined {
  const m = /^\s*([+-]?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/.exec(text);
  if (!m) return undefined;
  const [, sign, whole, fraction = '', exponent = '0'] = m as unknown as [
    string,
    string,
    string,
    string?,
    string?,
  ];
  const shift = Number(exponent);
  if (Math.abs(shift) > 1000) return undefined;
  const digits = whole + fraction;
  const point = whole.length + shift;
  const padded = point <= 0 ? '0'.repeat(1 - point) + digits : digits.padEnd(point, '0');
  const at = Math.max(point, 1);
  const integer = padded.slice(0, at).replace(/^0+(?=\d)/, '');
  const decimals = padded.slice(at).replace(/0+$/, '');
  const plain = decimals ? `${integer}.${decimals}` : integer;
  return sign === '-' && /[1-9]/.test(plain) ? `-${plain}` : plain;
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
