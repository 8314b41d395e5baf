import { createRequire } from 'node:module';
import sax from 'sax';
import type { xml2js as Xml2js } from 'xml-js';
import { withoutByteOrderMark } from '../shared/byte-order-mark.ts';

export const FHIR_NS = 'http://hl7.org/fhir';
export const XHTML_NS = 'http://www.w3.org/1999/xhtml';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

/** One element of a FHIR XML document, its namespace resolved from the declarations in scope. */
export interface XmlElement {
  /** The name as written (`f:active` when prefixed). */
  qname: string;
  /** The local name (`active`). */
  name: string;
  /** The namespace URI, undefined when none is in scope. */
  ns: string | undefined;
  attributes: Record<string, string>;
  elements: XmlElement[];
  /** Holds text that is not white space directly (not inside a child). */
  text: boolean;
}

interface XmlNode {
  type: string;
  name?: string;
  attributes?: Record<string, string | number | undefined>;
  elements?: XmlNode[];
  text?: string | number | boolean;
  cdata?: string;
}

/**
 * The document's root element as a plain tree, read with `xml-js` (loaded on first use: JSON-only
 * users never load an XML reader); undefined when this reader refuses the document (the converter in
 * `xml.ts` decides whether it can be read at all: `readWellFormed`). A DTD is never read: `sax`, under
 * `xml-js`, does not process one. That `sax` expands HTML's entities too (`&nbsp;`); `readWellFormed`
 * refuses every entity but XML's five, so a document holding one is never converted.
 */
export function readXmlTree(xml: string): XmlElement | undefined {
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
    return undefined;
  }
  const root = doc.elements?.find((e) => e.type === 'element');
  return root ? toElement(root, new Map([['xml', XML_NS]])) : undefined;
}

/** The messages of `sax` that say the document ends early or goes on after its root, in our words. */
const SAX_MESSAGES: Record<string, string> = {
  'Unclosed root tag': 'the document ends before its root element is closed: truncated, or a tag left open',
  'Unexpected end': 'the document ends inside a tag',
  'Text data outside of root node.': 'there is content after the root element',
  'Invalid character entity':
    "a reference to an entity other than XML's five (no DTD may declare one), or to a character XML does not allow",
};

/** Where the root element is in a well-formed document: from its start tag's `<` to after its end tag. */
export interface RootSpan {
  start: number;
  end: number;
}

/** A start tag's attributes as written: name, then a quoted value (`sax` has accepted the tag's shape). */
const WRITTEN_ATTRIBUTE = /\s([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/**
 * Why a start tag `sax` accepted is not well-formed (an attribute given twice, a `<` in a value), and
 * the offset in `tag` of the attribute at fault.
 */
function startTagProblem(tag: string): { why: string; at: number } | undefined {
  const seen = new Set<string>();
  for (const m of tag.matchAll(WRITTEN_ATTRIBUTE)) {
    const name = m[1] as string;
    const at = m.index + 1;
    if (seen.has(name)) return { why: `the attribute '${name}' is given twice in one start tag`, at };
    seen.add(name);
    if ((m[2] ?? m[3] ?? '').includes('<'))
      return { why: "a '<' inside an attribute value (write it as &lt;)", at };
  }
  return undefined;
}

/** `line N, column M` of `offset` in `text`, as `sax` counts them (both from 1). */
function positionOf(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return `line ${before.split('\n').length}, column ${offset - lineStart + 1}`;
}

/**
 * Why `xml` is not a well-formed XML document, with the position (line, column) where the reader saw
 * it, or where its root element is when it is one. Read with `sax` in strict mode with only XML's
 * five entities (the reader `xml-js` is built on, which knows HTML's too): `xml-js` reports none of
 * what `sax` finds only at the end (an unclosed element, a truncated tag), and accepts a second root
 * element. `sax` itself takes an attribute given twice (keeping the first), a `<` in an attribute
 * value, an XML declaration after the start and a U+0000: each is named here. Comments and processing
 * instructions may stand before and after the root. Messages name tags, attributes and positions,
 * never text or values.
 */
export function readWellFormed(xml: string): { problem: string } | RootSpan {
  const nul = xml.indexOf('\0');
  if (nul >= 0) return { problem: `the character U+0000 is not allowed in XML (${positionOf(xml, nul)})` };
  // `strictEntities` (only XML's five entities) is an option `sax` has that its types do not list.
  const options: sax.SAXOptions = { strictEntities: true } as sax.SAXOptions;
  const parser = sax.parser(true, options);
  let problem: string | undefined;
  const stop = (message: string, at = `line ${parser.line + 1}, column ${parser.column}`) => {
    problem = `${message} (${at})`;
    throw new Error(problem);
  };
  parser.onerror = (e) => {
    const message = e.message.split('\n')[0] ?? '';
    stop(SAX_MESSAGES[message] ?? message);
  };
  // `sax` counts `position` in UTF-16 units of the one chunk written: offsets into `xml`.
  const tagStart = () => parser.startTagPosition - 1;
  const docStart = xml.startsWith('\uFEFF') ? 1 : 0;
  parser.onprocessinginstruction = ({ name }) => {
    if (/^xml$/i.test(name) && tagStart() !== docStart)
      stop(
        'an XML declaration (<?xml …?>) is allowed only at the very start of the document',
        positionOf(xml, tagStart()),
      );
  };
  let depth = 0;
  let root: RootSpan | undefined;
  parser.onopentag = () => {
    if (depth === 0 && root) stop('there is a second element after the root element');
    const bad = startTagProblem(xml.slice(tagStart(), parser.position));
    if (bad) stop(bad.why, positionOf(xml, tagStart() + bad.at));
    if (depth++ === 0) root = { start: tagStart(), end: -1 };
  };
  parser.onclosetag = () => {
    if (--depth === 0 && root) root.end = parser.position;
  };
  try {
    parser.write(xml).close();
  } catch (e) {
    problem ??= (e as Error).message.split('\n')[0];
  }
  if (problem !== undefined) return { problem };
  return root && root.end >= 0 ? root : { problem: 'not an XML document: no root element' };
}

/**
 * The names (`Questionnaire.item.item…`) of the first element nested deeper than `limit` levels, the
 * root element being the first; undefined when none is. Read with `sax`, which keeps no stack of its
 * own beyond the names of the open elements, and read on past what is not well-formed (reported as
 * such elsewhere), as the other readers may take it.
 */
export function elementPastLimit(xml: string, limit: number): string | undefined {
  const parser = sax.parser(true);
  const open: string[] = [];
  let found: string | undefined;
  parser.onerror = () => {
    parser.resume();
  };
  parser.onopentag = (tag) => {
    open.push(tag.name.slice(tag.name.indexOf(':') + 1));
    if (open.length > limit) {
      found = open.join('.');
      throw new Error('stop');
    }
  };
  parser.onclosetag = () => {
    open.pop();
  };
  try {
    parser.write(xml).close();
  } catch {
    // found
  }
  return found;
}

/** Why `xml` is not a well-formed XML document (`readWellFormed`); undefined when it is one. */
export function wellFormednessProblem(xml: string): string | undefined {
  const read = readWellFormed(xml);
  return 'problem' in read ? read.problem : undefined;
}

function toElement(node: XmlNode, inScope: ReadonlyMap<string, string>): XmlElement {
  const attributes: Record<string, string> = {};
  let scope = inScope;
  for (const [k, v] of Object.entries(node.attributes ?? {})) {
    const value = String(v ?? '');
    attributes[k] = value;
    if (k === 'xmlns' || k.startsWith('xmlns:')) {
      if (scope === inScope) scope = new Map(inScope);
      (scope as Map<string, string>).set(k === 'xmlns' ? '' : k.slice(6), value);
    }
  }
  const qname = node.name ?? '';
  const colon = qname.indexOf(':');
  const prefix = colon < 0 ? '' : qname.slice(0, colon);
  const elements: XmlElement[] = [];
  let text = false;
  for (const child of node.elements ?? []) {
    if (child.type === 'element') elements.push(toElement(child, scope));
    else if (child.type === 'text' && String(child.text ?? '').trim()) text = true;
    else if (child.type === 'cdata' && String(child.cdata ?? '').trim()) text = true;
  }
  return {
    qname,
    name: qname.slice(colon + 1),
    ns: scope.get(prefix) || undefined,
    attributes,
    elements,
    text,
  };
}

/**
 * What in the text is not a start tag but may hold `<`: comments, CDATA, processing instructions, the
 * DOCTYPE with its internal subset; a start tag (name, then attributes) is the last alternative.
 */
const MARKUP =
  /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|<!DOCTYPE(?:[^>[]|\[[^\]]*\])*>|<([A-Za-z_][\w.:-]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*\/?>/g;
const VALUE_ATTRIBUTE = /(\svalue\s*=\s*)(?:"[^"]*"|'[^']*')/;

/** The tree's elements in document order (the order of their start tags). */
function inDocumentOrder(root: XmlElement, out: XmlElement[] = []): XmlElement[] {
  out.push(root);
  for (const child of root.elements) inDocumentOrder(child, out);
  return out;
}

/**
 * `xml` with the `value` attribute of the given elements of its tree (read by `readXmlTree` from the
 * same text) replaced; undefined when the text's start tags do not line up with the tree's elements
 * name by name (then nothing is replaced). Replacements are written as they are: plain tokens only.
 * Undefined too when `xml` is not well-formed: a replaced value must not take with it what makes the
 * document unreadable (a `<` or an unknown entity in it), so the converter sees the text as written.
 */
export function withValueAttributes(
  xml: string,
  root: XmlElement,
  values: ReadonlyMap<XmlElement, string>,
): string | undefined {
  if (wellFormednessProblem(withoutByteOrderMark(xml))) return undefined;
  const elements = inDocumentOrder(root);
  let index = 0;
  let aligned = true;
  const replaced = xml.replace(MARKUP, (whole, name: string | undefined, attributes: string | undefined) => {
    if (name === undefined || !aligned) return whole;
    const element = elements[index++];
    if (element?.qname !== name) {
      aligned = false;
      return whole;
    }
    const value = values.get(element);
    if (value === undefined || !attributes) return whole;
    const written = attributes.replace(VALUE_ATTRIBUTE, (_m, before: string) => `${before}"${value}"`);
    // A function, so that `$` in the other attributes is taken as it is written.
    return whole.replace(attributes, () => written);
  });
  return aligned && index === elements.length ? replaced : undefined;
}
