/**
 * A text without its leading UTF-8 byte order mark (U+FEFF), which some editors write: it is no part of
 * a JSON or XML document, and every reader of a document's text drops it here.
 */
export function withoutByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
