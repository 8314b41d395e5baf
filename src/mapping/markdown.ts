/**
 * Free text in a FHIR `markdown` element (Annotation.text): written escaped, so that a markdown renderer
 * (Omakanta, another record system) shows it as it was written — no HTML, emphasis, code, links, entity
 * references or block structure made of it — and read back unescaped, so the round trip holds.
 *
 * Escaped with CommonMark's backslash escapes: the backslash itself and every character with an inline
 * meaning (`` ` * _ [ ] < > & | ~ ``, the last two GFM's tables and strikethrough) anywhere, and at the
 * start of a line the block markers `# + - =` and the `.` or `)` after an ordered list's number (a `>`
 * and a `*` are escaped anywhere already). Reading undoes every backslash escape of an ASCII
 * punctuation character, as CommonMark reads them, so text another sender escaped reads as written too.
 */
const INLINE = /[\\`*_[\]<>&|~]/g;
const LINE_START = /^( {0,3})([#+=-])/gm;
const ORDERED = /^( {0,3}\d{1,9})([.)])/gm;
const ESCAPED = /\\([!-/:-@[-`{-~])/g;

export function toMarkdown(text: string): string {
  return text.replace(INLINE, '\\$&').replace(LINE_START, '$1\\$2').replace(ORDERED, '$1\\$2');
}

export function fromMarkdown(markdown: string): string {
  return markdown.replace(ESCAPED, '$1');
}
