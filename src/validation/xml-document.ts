// Document-level rules of FHIR XML the converter does not make: no DOCTYPE (the HL7 validator refuses
// DTDs; we never read one either, see xml.ts), and only characters XML allows, written or referenced.
// Messages name positions (line, column) and character codes, never the document's content.

const MAX_PER_RULE = 5;

/** The problems with `text` as a FHIR XML document (decoded, byte order mark removed). */
export function documentProblems(text: string): string[] {
  const problems: string[] = [];
  const blanked = blankCommentsAndCdata(text);
  const rootAt = blanked.search(/<[A-Za-z_]/);
  const doctype = blanked.slice(0, rootAt < 0 ? undefined : rootAt).indexOf('<!DOCTYPE');
  if (doctype >= 0)
    problems.push(
      `A DOCTYPE declaration is not allowed in FHIR XML (${position(text, doctype)}); its DTD and entities are not read`,
    );
  problems.push(...forbiddenCharacters(text, blanked));
  problems.push(...undeclaredEntities(text, blanked));
  return problems;
}

/** XML's own five entities; with no DTD allowed, no other entity can be declared. */
const PREDEFINED = new Set(['amp', 'lt', 'gt', 'quot', 'apos']);
const ENTITY = /&([A-Za-z_:][\w.:-]*);/g;

/** References to entities other than XML's five (`&nbsp;`, `&reg;` …): never declared, so not XML. */
function undeclaredEntities(text: string, blanked: string): string[] {
  const out: string[] = [];
  for (const m of blanked.matchAll(ENTITY)) {
    if (PREDEFINED.has(m[1]!)) continue;
    if (out.length >= MAX_PER_RULE) break;
    out.push(`The entity '${m[1]}' was referenced, but not declared (${position(text, m.index)})`);
  }
  return out;
}

/**
 * XML 1.0's Char: #x9 #xA #xD [#x20-#xD7FF] [#xE000-#xFFFD] [#x10000-#x10FFFF]. XML 1.1 lets a
 * character reference name #x1-#x1F and #x7F-#x9F (`restricted` characters), never #x0.
 */
function allowed(code: number, xml11: boolean): boolean {
  if (code === 0x9 || code === 0xa || code === 0xd) return true;
  if (code < 0x20) return xml11 && code > 0;
  return code <= 0xd7ff || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

function forbiddenCharacters(text: string, blanked: string): string[] {
  const out: string[] = [];
  const xml11 = /^<\?xml\s+version\s*=\s*(["'])1\.1\1/.test(text);
  const version = xml11 ? 'XML 1.1' : 'XML 1.0';
  // Written as they are: forbidden in both versions (XML 1.1 wants its restricted characters referenced).
  const literal =
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters XML forbids are the point
    /[\0-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
  for (const m of text.matchAll(literal)) {
    if (out.length >= MAX_PER_RULE) break;
    out.push(`The character U+${hex(m[0].charCodeAt(0))} is not allowed in XML (${position(text, m.index)})`);
  }
  let n = 0;
  for (const m of blanked.matchAll(REFERENCE)) {
    if (allowed(codePoint(m[1]!), xml11) || n++ >= MAX_PER_RULE) continue;
    out.push(`The character reference '${m[0]}' is not allowed in ${version} (${position(text, m.index)})`);
  }
  return out;
}

/**
 * `text` with each character reference XML does not allow (reported by `documentProblems`) replaced by
 * one to U+FFFD, so the readers, which refuse some of them and take others, see the rest of the document.
 */
export function withoutForbiddenReferences(text: string): string {
  const xml11 = /^<\?xml\s+version\s*=\s*(["'])1\.1\1/.test(text);
  return text.replace(REFERENCE, (ref, code: string) => (allowed(codePoint(code), xml11) ? ref : '&#xFFFD;'));
}

const REFERENCE = /&#(x[0-9A-Fa-f]+|[0-9]+);/g;

function codePoint(ref: string): number {
  return ref[0] === 'x' ? Number.parseInt(ref.slice(1), 16) : Number.parseInt(ref, 10);
}

/** Comments and CDATA sections hold no references: blanked, keeping every offset. */
function blankCommentsAndCdata(text: string): string {
  return text.replace(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>/g, (s) => s.replace(/[^\n]/g, ' '));
}

function position(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `line ${line}, column ${offset - lineStart + 1}`;
}

function hex(code: number): string {
  return code.toString(16).toUpperCase().padStart(4, '0');
}
