import { createRequire } from 'node:module';
import sax from 'sax';
import type { xml2js as Xml2js } from 'xml-js';

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
 * `xml.ts` decides whether it can be read at all). A DTD is never read: `sax`, under `xml-js`, does not
 * process one, and its strict mode refuses every entity but XML's five.
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
};

/**
 * Why `xml` is not a well-formed XML document, with the position (line, column) where the reader saw
 * it; undefined when it is one. Read with `sax` in strict mode (the reader `xml-js` is built on):
 * `xml-js` reports none of what `sax` finds only at the end (an unclosed element, a truncated
 * tag), and accepts a second root element. Messages name tags and positions, never text or values.
 */
export function wellFormednessProblem(xml: string): string | undefined {
  const parser = sax.parser(true, {});
  let problem: string | undefined;
  const stop = (message: string) => {
    problem = `${message} (line ${parser.line + 1}, column ${parser.column})`;
    throw new Error(problem);
  };
  parser.onerror = (e) => {
    const message = e.message.split('\n')[0] ?? '';
    stop(SAX_MESSAGES[message] ?? message);
  };
  let depth = 0;
  let rootClosed = false;
  parser.onopentag = () => {
    if (rootClosed) stop('there is a second element after the root element');
    depth++;
  };
  parser.onclosetag = () => {
    depth--;
    if (depth === 0) rootClosed = true;
  };
  try {
    parser.write(xml).close();
  } catch (e) {
    problem ??= (e as Error).message.split('\n')[0];
  }
  return problem;
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
 */
export function withValueAttributes(
  xml: string,
  root: XmlElement,
  values: ReadonlyMap<XmlElement, string>,
): string | undefined {
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
